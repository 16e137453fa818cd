"""/metrics speaks the Prometheus text format and counts what happened."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from profond.serve.metrics import ServeMetrics


def _families(url: str) -> dict:
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def _value(families: dict, family: str, sample: str, **labels: str) -> float:
    return sum(
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_count_requests_predictions_and_batches(server: str, digits) -> None:
    before = _families(server)
    raw = digits["x_test"][:4].reshape(4, -1).tolist()
    assert httpx.post(f"{server}/v1/predict", json={"instances": raw}).status_code == 200
    assert httpx.post(f"{server}/v1/predict", json={"instances": []}).status_code == 422
    after = _families(server)

    def delta(family: str, sample: str, **labels: str) -> float:
        return _value(after, family, sample, **labels) - _value(before, family, sample, **labels)

    requests = "profond_http_requests"
    assert delta(requests, f"{requests}_total", route="/v1/predict", status="200") == 1
    assert delta(requests, f"{requests}_total", route="/v1/predict", status="422") == 1
    latency = "profond_http_request_duration_seconds"
    assert delta(latency, f"{latency}_count", route="/v1/predict") == 2
    assert delta("profond_predictions", "profond_predictions_total") == 4
    assert delta("profond_prediction_confidence", "profond_prediction_confidence_count") == 4
    assert delta("profond_inference_batch_size", "profond_inference_batch_size_sum") == 4
    assert (
        delta("profond_rejected_inputs", "profond_rejected_inputs_total", type="empty_batch") == 1
    )
    info = after["profond_model_info"].samples[0]
    assert info.labels == {
        "run_id": "test",
        "family": "mlp",
        "task": "classification",
        "runtime": "torch",
    }
    assert info.value == 1


def test_unknown_paths_share_one_series(server: str) -> None:
    for path in ("/a", "/b", "/c/d"):
        httpx.get(f"{server}{path}")
    families = _families(server)
    routes = {s.labels["route"] for s in families["profond_http_requests"].samples}
    assert "unmatched" in routes and "/a" not in routes and "/c/d" not in routes


def test_names_follow_prometheus_conventions() -> None:
    text = ServeMetrics().exposition()[0].decode()
    names = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert all(name.startswith("profond_") for name in names)
    for name, kind in names.items():
        if kind == "histogram" and "duration" in name:
            assert name.endswith("_seconds")
    assert names["profond_http_requests"] == "counter"
    assert names["profond_live_accuracy_ratio"] == "gauge"


def test_two_apps_in_one_process_keep_separate_metrics() -> None:
    first, second = ServeMetrics(), ServeMetrics()
    first.observe_request("/x", "GET", 200, 0.01)
    assert b'route="/x"' in first.exposition()[0]
    assert b'route="/x"' not in second.exposition()[0]
