"""Prometheus metrics of the prediction server: health, model behaviour and drift.

The three kinds of production indicators: operational health (requests by route and status,
latency, in-flight requests, batch sizes, inference time), model performance (predicted
classes, confidence, live accuracy from label feedback) and data/model drift (per-feature PSI
and KS statistic, aggregate score, alarm).

Each server builds its own :class:`ServeMetrics` (its own registry: no process-wide state, so
several apps can live in one process). With several uvicorn workers, ``PROMETHEUS_MULTIPROC_DIR``
must name an empty folder shared by the workers: every worker then writes its values there and
``/metrics`` merges them with prometheus-client's multiprocess collector. Gauges say how they
merge (``multiprocess_mode``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# From 0.5 ms (a small model on one row) to 5 s (a request stuck behind a huge batch).
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


class ServeMetrics:
    """The server's metrics, registered in a registry of their own.

    Args:
        multiprocess_dir: the shared folder of several workers; defaults to
            ``$PROMETHEUS_MULTIPROC_DIR`` (None: single process).
    """

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir or os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "profond_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "profond_http_request_duration_seconds",
            "Time from receiving a request to sending its answer, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_progress = Gauge(
            "profond_http_requests_in_progress",
            "Requests being handled now.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.batch_size = Histogram(
            "profond_inference_batch_size",
            "Rows per inference call (above 1: micro-batching joined requests).",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.inference_seconds = Histogram(
            "profond_inference_duration_seconds",
            "Time of one inference call on a batch.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.predictions = Counter(
            "profond_predictions",
            "Predictions made, by predicted class label.",
            ["label"],
            registry=registry,
        )
        self.confidence = Histogram(
            "profond_prediction_confidence",
            "Probability of the predicted class (falling values announce trouble).",
            buckets=CONFIDENCE_BUCKETS,
            registry=registry,
        )
        self.rejected = Counter(
            "profond_rejected_inputs",
            "Requests refused as invalid, by error type.",
            ["type"],
            registry=registry,
        )
        self.drift_psi = Gauge(
            "profond_drift_psi",
            "Population Stability Index of an input feature, recent window vs training.",
            ["feature"],
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.drift_ks = Gauge(
            "profond_drift_ks_statistic",
            "Kolmogorov-Smirnov statistic of an input feature, recent window vs training.",
            ["feature"],
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.drift_score = Gauge(
            "profond_drift_score",
            "Largest PSI over the input features.",
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.drift_alarm = Gauge(
            "profond_drift_alarm",
            "1 when enough input features drift (see docs/serving.md), else 0.",
            multiprocess_mode="max",
            registry=registry,
        )
        self.drift_window = Gauge(
            "profond_drift_window_inputs",
            "Inputs in the drift monitor's sliding window.",
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.feedback = Counter(
            "profond_feedback",
            "Label feedback received, by whether the prediction was right.",
            ["correct"],
            registry=registry,
        )
        self.live_accuracy = Gauge(
            "profond_live_accuracy_ratio",
            "Accuracy over the most recent label feedback.",
            multiprocess_mode="mostrecent",
            registry=registry,
        )
        self.model_info = Gauge(
            "profond_model_info",
            "The model being served (value 1; the labels say which).",
            ["run_id", "family", "task", "runtime"],
            multiprocess_mode="max",
            registry=registry,
        )
        self.reloads = Counter(
            "profond_model_reloads",
            "Model reloads, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self._model_labels: tuple[str, ...] | None = None

    def set_model(self, run_id: str, family: str, task: str, runtime: str) -> None:
        labels = (run_id, family, task, runtime)
        if self._model_labels is not None and self._model_labels != labels:
            self.model_info.labels(*self._model_labels).set(0)
        self.model_info.labels(*labels).set(1)
        self._model_labels = labels

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_batch(self, rows: int, seconds: float) -> None:
        self.batch_size.observe(rows)
        self.inference_seconds.observe(seconds)

    def observe_predictions(self, labels: Iterable[str], confidences: Iterable[float]) -> None:
        for label in labels:
            self.predictions.labels(label).inc()
        for confidence in confidences:
            self.confidence.observe(confidence)

    def set_drift(self, report: dict) -> None:
        for name, feature in report["features"].items():
            self.drift_psi.labels(name).set(feature["psi"])
            self.drift_ks.labels(name).set(feature["ks_statistic"])
        self.drift_score.set(report["score"])
        self.drift_alarm.set(1 if report["alarm"] else 0)
        self.drift_window.set(report["window"])

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type, merged across workers when needed."""
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
