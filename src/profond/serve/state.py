"""The served model and the server's state, reached by routes through FastAPI dependencies.

A reload builds a new :class:`ModelState` and swaps it in; routes ask for the current one at
each request (``ModelDep``), so nothing holds on to the previous model.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, Header, Request

from profond.errors import ProfondError
from profond.inference.errors import InputError
from profond.inference.predictor import Predictor
from profond.inference.runtime import RuntimeOutput
from profond.models.saved import LoadedModel
from profond.monitor.drift import DriftMonitor
from profond.serve.batching import MicroBatcher
from profond.serve.config import ServeConfig
from profond.serve.metrics import ServeMetrics

FEEDBACK_WINDOW = 500  # live accuracy is measured over this many recent labels


@dataclass
class ModelState:
    """What one loaded model needs to serve."""

    predictor: Predictor
    batcher: MicroBatcher
    drift: DriftMonitor
    # Captum hooks the model's layers during an explanation: one at a time per model.
    explain_lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0  # requests holding this model now (a reload waits for them)

    @property
    def loaded(self) -> LoadedModel:
        return self.predictor.loaded

    async def start(self) -> None:
        await self.batcher.start()
        floating = self.predictor.runtime.dtype.is_floating_point  # token ids are int64
        x = np.zeros((1, *self.loaded.input_shape), dtype=np.float32 if floating else np.int64)
        await self.batcher.submit(x)  # warm-up: first call allocates; not a user's latency
        self.drift.reset()  # forget the warm-up input

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop once the requests holding this model are answered (up to ``grace_s``)."""
        deadline = time.monotonic() + grace_s
        while self.users and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await self.batcher.stop()
        self.predictor.close()


def build_model_state(
    config: ServeConfig, loaded: LoadedModel, metrics: ServeMetrics
) -> ModelState:
    predictor = Predictor(loaded, config.runtime, config.onnx_path, config.threads)
    drift = DriftMonitor(loaded.drift_reference, config.drift_window, config.drift_min_samples)

    def on_batch(x: np.ndarray, result: RuntimeOutput, seconds: float) -> None:
        metrics.observe_batch(len(x), seconds)
        drift.update(x, result.features)

    batcher = MicroBatcher(
        predictor.run,
        max_batch=config.max_batch,
        max_wait_ms=config.max_wait_ms,
        enabled=config.micro_batching,
        on_batch=on_batch,
        prepare_thread=predictor.runtime.prepare_thread,
    )
    return ModelState(predictor, batcher, drift)


class ServerState:
    """The server's state: its config, metrics, current model, readiness and feedback."""

    def __init__(self, config: ServeConfig, metrics: ServeMetrics, loaded: LoadedModel) -> None:
        self.config = config
        self.metrics = metrics
        self.model = build_model_state(config, loaded, metrics)
        self.ready = asyncio.Event()
        self.reload_lock = asyncio.Lock()
        self.feedback: deque[bool] = deque(maxlen=FEEDBACK_WINDOW)

    def publish_model(self) -> None:
        card, runtime = self.model.loaded.card, self.model.predictor.runtime.name
        self.metrics.set_model(card.run_id, card.family, card.task, runtime)

    async def reload(self) -> None:
        """Read the configured source again and swap the new model in; the old one keeps
        serving if anything fails."""
        async with self.reload_lock:
            try:
                loaded = await asyncio.to_thread(self.config.source.load)
                new = await asyncio.to_thread(build_model_state, self.config, loaded, self.metrics)
            except ProfondError as exc:
                self.metrics.reloads.labels("failed").inc()
                raise InputError(
                    f"reload failed, still serving the previous model: {exc}", 409, "reload_failed"
                ) from None
            await new.start()
            old, self.model = self.model, new
            self.publish_model()
            await old.stop()
            self.metrics.reloads.labels("ok").inc()

    def observe(self, predictions: list[dict[str, Any]]) -> None:
        """Prediction metrics (classifiers: predicted labels and their confidence)."""
        if self.model.predictor.output_kind == "classes":
            labels = [p["label"] for p in predictions]
            self.metrics.observe_predictions(labels, [max(p["probabilities"]) for p in predictions])


def get_server(request: Request) -> ServerState:
    return request.app.state.server


ServerDep = Annotated[ServerState, Depends(get_server)]


async def current_model(server: ServerDep) -> AsyncIterator[ModelState]:
    """The model at the start of the request, kept running until the request ends (a reload
    meanwhile swaps in a new one and stops this one after)."""
    model = server.model
    model.users += 1
    try:
        yield model
    finally:
        model.users -= 1


ModelDep = Annotated[ModelState, Depends(current_model)]


def require_token(server: ServerDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """The reload token, compared in constant time; 403 when reload is disabled, 401 if wrong."""
    token = server.config.token
    if not token:
        raise InputError(
            "model reload is disabled; start the server with a token", 403, "reload_disabled"
        )
    scheme, _, given = (authorization or "").partition(" ")
    # compare_digest: the comparison time must not reveal how much of the token matched.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise InputError("missing or wrong bearer token", 401, "unauthorized")
