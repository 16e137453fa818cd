"""How a prediction server is configured, and where its model comes from.

:class:`ServeConfig` is the one object that describes a server (built by ``profond serve`` or by
a test); :class:`ModelSource` names the model it serves. A reload always reads the configured
source again, never a path a client sends.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from profond.errors import ProfondError
from profond.inference.source import ModelSource

__all__ = ["RUNTIMES", "ModelSource", "ServeConfig"]

RUNTIMES = ("torch", "onnx")


@dataclass(frozen=True)
class ServeConfig:
    """Everything a prediction server needs besides its model.

    Args:
        source: where the model is read from (at start and on reload).
        host, port: where uvicorn listens.
        runtime: ``"torch"`` or ``"onnx"`` (onnxruntime on an exported graph).
        onnx_path: a ready ``.onnx`` file for ``runtime="onnx"``; None exports one at start.
        micro_batching: gather concurrent requests into one inference call.
        max_batch: most rows one inference call takes when micro-batching.
        max_wait_ms: longest a request waits for others to join its batch.
        max_instances: most instances one request may send.
        max_body_bytes: largest request body accepted.
        token: bearer token that enables ``POST /v1/model/reload``; None disables it.
        workers: uvicorn worker processes.
        threads: intra-op threads of the runtime in each worker.
        drift_window: recent inputs the drift monitor compares with the reference.
        drift_min_samples: inputs needed before drift is scored.
        log_level: uvicorn's log level (``info`` shows the banner and the access log).
        access_log: log one line per request (uvicorn's access log).
        timeout_keep_alive: seconds an idle keep-alive connection is kept open.
        timeout_headers: seconds a client has to send a request's headers (else 408, closed).
        timeout_body: seconds a client has to send a request's whole body (else 408, closed).
    """

    source: ModelSource
    host: str = "127.0.0.1"  # loopback: exposing a model is a deliberate choice
    port: int = 8000  # uvicorn's usual port
    runtime: str = "torch"  # the model as trained; onnx is the faster path on CPUs
    onnx_path: str | None = None  # exported at start when not given
    micro_batching: bool = True  # amortizes per-call overhead under concurrency
    max_batch: int = 64  # large enough to amortize, small enough to keep p99 low
    max_wait_ms: float = 2.0  # the latency a lone request may pay to be batched
    max_instances: int = 256  # per request; a larger job belongs to batch scoring
    max_body_bytes: int = 8 * 1024 * 1024  # 256 Fashion-MNIST images as JSON fit in ~1.5 MiB
    token: str | None = None  # no token, no reload endpoint
    workers: int = 1  # several need PROMETHEUS_MULTIPROC_DIR (set by `profond serve`)
    threads: int = 1  # small models gain nothing from more; workers would oversubscribe
    drift_window: int = 500  # ~50 samples per PSI bin
    drift_min_samples: int = 100  # below this KS and PSI are too noisy to trust
    log_level: str = "info"  # the banner, uvicorn's start line and the access log show
    access_log: bool = True  # one line per request (uvicorn's); off for peak throughput
    timeout_keep_alive: int = 5  # seconds an idle connection is kept (uvicorn's default)
    timeout_headers: float = 10.0  # a slow header sender holds a connection no longer
    timeout_body: float = 30.0  # 8 MiB at ~2 Mbit/s; a body trickle is cut off after this

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ProfondError(
                f"unknown runtime {self.runtime!r}; expected one of {', '.join(RUNTIMES)}"
            )
        positive = {
            "port": self.port,
            "max_batch": self.max_batch,
            "max_instances": self.max_instances,
            "max_body_bytes": self.max_body_bytes,
            "workers": self.workers,
            "threads": self.threads,
            "drift_window": self.drift_window,
            "drift_min_samples": self.drift_min_samples,
            "timeout_keep_alive": self.timeout_keep_alive,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ProfondError(f"{name} must be a positive integer, got {name}={value!r}")
        for name in ("timeout_headers", "timeout_body"):
            value = getattr(self, name)
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not 0 < value < 3600
            ):
                raise ProfondError(f"{name} must be in (0, 3600) seconds, got {name}={value!r}")
        if not 0 < self.port < 65536:
            raise ProfondError(f"port must be between 1 and 65535, got port={self.port}")
        if not 0 <= self.max_wait_ms <= 1000:
            raise ProfondError(
                f"max_wait_ms must be in [0, 1000], got max_wait_ms={self.max_wait_ms}"
            )
        if self.drift_min_samples > self.drift_window:
            raise ProfondError(
                f"drift_min_samples ({self.drift_min_samples}) cannot exceed drift_window "
                f"({self.drift_window})"
            )
        if self.token is not None and len(self.token) < 8:
            raise ProfondError("the reload token must have at least 8 characters")

    def to_json(self) -> str:
        """Serialized for worker processes (``PROFOND_SERVE_CONFIG``)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        values = json.loads(text)
        values["source"] = ModelSource(**values["source"])
        return cls(**values)
