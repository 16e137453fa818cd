"""The prediction server: a FastAPI app around one trained model.

Routes: ``POST /v1/predict`` (JSON batch), ``POST /v1/predict/image`` (PNG/JPEG upload),
``GET /v1/model``, ``POST /v1/model/reload`` (bearer token), ``GET /v1/monitoring/drift``,
``POST /v1/feedback``, ``GET /health``, ``GET /ready``, ``GET /metrics``, the OpenAPI schema at
``/openapi.json`` and ``/docs``, and the browser page's routes when available.

Requests are validated before they reach the model; every refusal is a 4xx answer with the body
``{"error": {"type": ..., "message": ...}}``. Inference runs in a worker thread through the
:class:`~profond.serve.batching.MicroBatcher`, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.util
import logging
import math
import os
import time
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import torch
from fastapi import FastAPI, File, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from profond.compress.onnx_export import is_text_model
from profond.data.imaging import decode_image
from profond.errors import ProfondError
from profond.models.saved import LoadedModel
from profond.serve.batching import MicroBatcher
from profond.serve.config import ServeConfig
from profond.serve.drift import DriftMonitor
from profond.serve.metrics import ServeMetrics
from profond.serve.runtime import Runtime, RuntimeOutput, build_runtime
from profond.serve.schemas import (
    ApiError,
    DriftReport,
    ErrorBody,
    FeedbackRequest,
    FeedbackResponse,
    ForecastResponse,
    Health,
    ModelInfo,
    OutputResponse,
    PredictRequest,
    PredictResponse,
    error_body,
)

logger = logging.getLogger(__name__)

CONFIG_ENV = "PROFOND_SERVE_CONFIG"  # ServeConfig as JSON, for uvicorn worker processes
FEEDBACK_WINDOW = 500  # live accuracy is measured over this many recent labels
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "malformed input (bad JSON, undecodable image, wrong field)",
        413: "request body larger than the server accepts",
        422: "input of the wrong shape, type or size",
    }.items()
}


class BodyTooLarge(HTTPException):
    """Raised while reading a body that exceeds the limit (answered 413)."""


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes``: by ``Content-Length`` first, then as they stream.

    A client can omit or lie about ``Content-Length`` (chunked encoding), so the bytes actually
    received are counted too.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _send_error(send, 400, "invalid_header", "Content-Length is not an integer")
                return
            if size > self.max_bytes:
                await _send_error(send, 413, "body_too_large", self._message(size))
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(413, self._message(received))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _send_error(send, 413, "body_too_large", str(exc.detail))

    def _message(self, size: int) -> str:
        return f"request body of {size} bytes or more is over the limit of {self.max_bytes} bytes"


class MetricsMiddleware:
    """Counts requests by route template, method and status, and times them."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics, known_paths: set[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, tracking_send)
        finally:
            self.metrics.in_progress.dec()
            route = scope.get("route")
            # Route templates, not raw paths: a scanner probing random URLs must not create
            # one time series per URL.
            template = getattr(route, "path", None) or (
                scope["path"] if scope["path"] in self.known_paths else "unmatched"
            )
            self.metrics.observe_request(
                template, scope["method"], status, time.perf_counter() - start
            )


async def _send_error(send: Send, status: int, kind: str, message: str) -> None:
    response = JSONResponse(error_body(kind, message), status_code=status)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


@dataclass
class ModelState:
    """What one loaded model needs to serve; a reload builds a new one and swaps it in."""

    loaded: LoadedModel
    runtime: Runtime
    batcher: MicroBatcher
    drift: DriftMonitor


def _build_state(config: ServeConfig, loaded: LoadedModel, metrics: ServeMetrics) -> ModelState:
    runtime = build_runtime(loaded, config.runtime, config.onnx_path, config.threads)
    drift = DriftMonitor(loaded.drift_reference, config.drift_window, config.drift_min_samples)

    def on_batch(x: np.ndarray, result: RuntimeOutput, seconds: float) -> None:
        metrics.observe_batch(len(x), seconds)
        drift.update(x, result.features)

    batcher = MicroBatcher(
        runtime.run,
        max_batch=config.max_batch,
        max_wait_ms=config.max_wait_ms,
        enabled=config.micro_batching,
        on_batch=on_batch,
        prepare_thread=runtime.prepare_thread,
    )
    return ModelState(loaded, runtime, batcher, drift)


def instances_to_array(
    instances: list[Any] | None, input_shape: tuple[int, ...], max_instances: int
) -> np.ndarray:
    """Validated raw instances as one array.

    Shape:
        Returns ``(N, *input_shape)`` float32 (raw units, not yet preprocessed).
    """
    size = math.prod(input_shape)
    expected = f"{size} numbers (flat) or nested lists of shape {list(input_shape)}"
    if not isinstance(instances, list):
        raise ApiError(
            f"'instances' must be a list of inputs, each {expected}", 422, "invalid_type"
        )
    if not instances:
        raise ApiError(
            f"empty batch: send 'instances' with 1 to {max_instances} inputs", 422, "empty_batch"
        )
    if len(instances) > max_instances:
        raise ApiError(
            f"batch of {len(instances)} instances is over the limit of {max_instances}; "
            "split it into several requests",
            422,
            "batch_too_large",
        )
    try:
        x = np.asarray(instances)
    except (ValueError, TypeError):
        raise ApiError(
            f"instances have inconsistent shapes; each must be {expected}", 422, "invalid_shape"
        ) from None
    # Integers and floats only: strings ("1.5"), booleans, null and objects are client bugs.
    if x.dtype.kind not in "iuf":
        raise ApiError(
            f"instances must hold numbers only; each must be {expected}", 422, "invalid_type"
        )
    with np.errstate(over="ignore"):  # values beyond float32 become inf, refused below
        x = x.astype(np.float32)
    if x.shape[1:] != tuple(input_shape):
        # Flat, or nested without the input's size-1 axes (an 8x8 image for a (1, 8, 8) input).
        squeezed = tuple(d for d in input_shape if d != 1)
        flat = x.ndim == 2 and x.shape[1] == size
        if flat or (tuple(d for d in x.shape[1:] if d != 1) == squeezed and x[0].size == size):
            x = x.reshape(len(x), *input_shape)
        else:
            raise ApiError(
                f"each instance must be {expected}; received shape {list(x.shape[1:])}",
                422,
                "invalid_shape",
            )
    if not np.isfinite(x).all():
        raise ApiError(
            "instances must hold finite numbers (float32 range); received NaN or infinity",
            422,
            "invalid_value",
        )
    return x


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)  # exp of large logits overflows
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def create_app(config: ServeConfig, loaded: LoadedModel | None = None) -> FastAPI:
    """The prediction app for ``config``, serving ``loaded`` (or the configured source).

    Args:
        config: the server's configuration.
        loaded: an already loaded model; None reads ``config.source``.
    """
    metrics = ServeMetrics()
    holder: dict[str, Any] = {
        "state": _build_state(config, loaded or config.source.load(), metrics)
    }
    ready = asyncio.Event()
    reload_lock = asyncio.Lock()
    feedback: deque[bool] = deque(maxlen=FEEDBACK_WINDOW)
    page_routes: list[Any] = []

    def state() -> ModelState:
        return holder["state"]

    def publish_model(current: ModelState) -> None:
        card = current.loaded.card
        metrics.set_model(card.run_id, card.family, card.task, current.runtime.name)

    async def start(current: ModelState) -> None:
        await current.batcher.start()
        x = np.zeros((1, *current.loaded.input_shape), dtype=np.float32)
        await current.batcher.submit(x)  # warm-up: first call allocates; not a user's latency
        current.drift.reset()  # forget the warm-up input

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        await start(state())
        publish_model(state())
        ready.set()
        try:
            yield
        finally:
            ready.clear()
            await state().batcher.stop()
            state().runtime.close()

    app = FastAPI(
        title="profond prediction API",
        version="1",
        description="Predictions, model information, health and monitoring of one trained model.",
        lifespan=lifespan,
    )

    def include_page(current: ModelState) -> None:
        """Add the browser page's routes (replacing the previous model's on reload)."""
        if importlib.util.find_spec("profond.serve.page") is None:
            return
        from profond.serve.page import build_page_router

        for route in page_routes:
            app.router.routes.remove(route)
        before = len(app.router.routes)
        app.include_router(build_page_router(current.loaded, current.runtime))
        page_routes[:] = app.router.routes[before:]
        app.openapi_schema = None

    # ---- errors: one body shape for every refusal -------------------------------------------
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        metrics.rejected.labels(exc.kind).inc()
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.kind, str(exc)), exc.status, headers=headers)

    @app.exception_handler(ProfondError)
    async def on_profond_error(request: Request, exc: ProfondError) -> JSONResponse:
        metrics.rejected.labels("bad_input").inc()
        return JSONResponse(error_body("bad_input", str(exc)), 400)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            metrics.rejected.labels("invalid_json").inc()
            return JSONResponse(
                error_body("invalid_json", "the body is not valid JSON; send a JSON object"), 400
            )
        parts = []
        for error in errors[:3]:
            # Drop "body" and the union members pydantic tried ("list[float]"): noise to a user.
            loc = [str(p) for p in error.get("loc", ()) if p != "body" and "[" not in str(p)]
            where = ".".join(loc) or "body"
            parts.append(f"{where}: {error.get('msg', 'invalid')}")
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        metrics.rejected.labels("validation_error").inc()
        return JSONResponse(error_body("validation_error", "; ".join(parts) + more), 422)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(error_body(kind, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s", request.url.path)
        return JSONResponse(error_body("internal_error", "the server failed on this request"), 500)

    # ---- prediction ---------------------------------------------------------------------------
    async def predict_array(
        x_raw: np.ndarray | torch.Tensor, preprocessed: bool = False
    ) -> JSONResponse:
        current = state()
        if preprocessed:
            x = np.asarray(x_raw, dtype=np.float32)
        else:
            x = current.loaded.preprocessing.apply(torch.as_tensor(x_raw)).numpy()
        result = await current.batcher.submit(x)
        # A JSONResponse skips FastAPI's re-validation of the body against the response model:
        # the model documents the schema; tests validate real answers against it.
        return JSONResponse(format_output(current, result.output))

    def format_output(current: ModelState, output: np.ndarray) -> dict[str, Any]:
        card = current.loaded.card
        model = {"run_id": card.run_id, "family": card.family, "runtime": current.runtime.name}
        classes = current.loaded.classes
        if card.task in ("classification", "text-classification") and output.ndim == 2 and classes:
            probs = _softmax(output.astype(np.float64))
            indices = probs.argmax(axis=1)
            labels = [classes[i] if i < len(classes) else str(i) for i in indices]
            confidences = probs[np.arange(len(probs)), indices]
            metrics.observe_predictions(labels, confidences.tolist())
            predictions = [
                {"class": int(i), "label": label, "probabilities": p.tolist()}
                for i, label, p in zip(indices, labels, probs, strict=True)
            ]
            return {"predictions": predictions, "model": model}
        if card.task == "forecasting":
            return {"forecast": output.reshape(len(output), -1).tolist(), "model": model}
        # Reconstructions and the like: the raw output, flattened per input.
        return {"outputs": output.reshape(len(output), -1).tolist(), "model": model}

    def encode_texts(texts: list[str], current: ModelState) -> np.ndarray:
        if not is_text_model(current.loaded):
            raise ApiError(
                "this model does not take texts; send 'instances' of shape "
                f"{list(current.loaded.input_shape)}",
                422,
                "invalid_input",
            )
        from profond.data.text import encode_text

        try:
            rows = [encode_text(text, current.loaded.card) for text in texts]  # each (1, T)
        except ProfondError as exc:
            raise ApiError(str(exc), 422, "invalid_text") from None
        return torch.cat(rows).numpy()  # (N, T) token ids

    @app.post(
        "/v1/predict",
        response_model=PredictResponse | ForecastResponse | OutputResponse,
        responses=ERROR_RESPONSES,
        summary="Predict a batch of raw inputs",
    )
    async def predict(body: PredictRequest) -> Any:
        current = state()
        if body.texts is not None and body.instances is not None:
            raise ApiError("send either 'instances' or 'texts', not both", 422, "invalid_input")
        if body.texts is not None:
            if not 0 < len(body.texts) <= config.max_instances:
                raise ApiError(
                    f"send 1 to {config.max_instances} texts, received {len(body.texts)}",
                    422,
                    "batch_too_large" if body.texts else "empty_batch",
                )
            return await predict_array(encode_texts(body.texts, current), preprocessed=True)
        x = instances_to_array(body.instances, current.loaded.input_shape, config.max_instances)
        return await predict_array(x)

    @app.post(
        "/v1/predict/image",
        response_model=PredictResponse | ForecastResponse | OutputResponse,
        responses=ERROR_RESPONSES,
        summary="Predict one uploaded PNG or JPEG image",
    )
    async def predict_image(
        file: Annotated[UploadFile, File(description="a PNG or JPEG image")],
        invert: Annotated[
            Literal["auto", "yes", "no"],
            Query(description="invert light-background images (auto: decided from the border)"),
        ] = "auto",
    ) -> Any:
        current = state()
        data = await file.read()
        try:
            x = decode_image(data, current.loaded.input_shape, current.loaded.preprocessing, invert)
        except ProfondError as exc:
            raise ApiError(str(exc), 400, "invalid_image") from None
        return await predict_array(x.numpy(), preprocessed=True)

    # ---- model ----------------------------------------------------------------------------------
    @app.get("/v1/model", response_model=ModelInfo, summary="The model being served")
    async def model_info() -> dict[str, Any]:
        current = state()
        card = current.loaded.card
        return {
            "run_id": card.run_id,
            "family": card.family,
            "task": card.task,
            "data": card.data,
            "input_shape": list(card.input_shape),
            "classes": list(card.classes),
            "metrics": {k: float(v) for k, v in card.metrics.items()},
            "runtime": current.runtime.name,
            "max_instances": config.max_instances,
        }

    @app.post(
        "/v1/model/reload",
        response_model=ModelInfo,
        responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
        summary="Reload the model from the configured source (bearer token)",
    )
    async def reload_model(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        if not config.token:
            raise ApiError(
                "model reload is disabled; start the server with a token", 403, "reload_disabled"
            )
        scheme, _, given = (authorization or "").partition(" ")
        # compare_digest: the comparison time must not reveal how much of the token matched.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.encode(), config.token.encode()
        ):
            raise ApiError("missing or wrong bearer token", 401, "unauthorized")
        async with reload_lock:
            try:
                loaded = await asyncio.to_thread(config.source.load)
                new = await asyncio.to_thread(_build_state, config, loaded, metrics)
            except ProfondError as exc:
                metrics.reloads.labels("failed").inc()
                raise ApiError(
                    f"reload failed, still serving the previous model: {exc}", 409, "reload_failed"
                ) from None
            await start(new)
            old, holder["state"] = state(), new
            include_page(new)
            publish_model(new)
            await old.batcher.stop()
            old.runtime.close()
            metrics.reloads.labels("ok").inc()
        return await model_info()

    # ---- monitoring -----------------------------------------------------------------------------
    def drift_report() -> dict[str, Any]:
        report = state().drift.report()
        if report["features"]:
            metrics.set_drift(report)
        return report

    @app.get("/v1/monitoring/drift", response_model=DriftReport, summary="Input drift vs training")
    async def drift() -> dict[str, Any]:
        return await asyncio.to_thread(drift_report)

    @app.post(
        "/v1/feedback",
        response_model=FeedbackResponse,
        responses=ERROR_RESPONSES,
        summary="True labels of earlier predictions (live accuracy)",
    )
    async def post_feedback(body: FeedbackRequest) -> dict[str, Any]:
        num_classes = len(state().loaded.classes)
        for item in body.items:
            if num_classes and max(item.predicted, item.label) >= num_classes:
                raise ApiError(
                    f"class indices must be below {num_classes}; received "
                    f"predicted={item.predicted}, label={item.label}",
                    422,
                    "invalid_value",
                )
        for item in body.items:
            correct = item.predicted == item.label
            feedback.append(correct)
            metrics.feedback.labels(str(correct).lower()).inc()
        accuracy = sum(feedback) / len(feedback)
        metrics.live_accuracy.set(accuracy)
        return {"received": len(body.items), "live_accuracy": accuracy}

    @app.get("/health", response_model=Health, summary="Liveness: the process answers")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/ready",
        response_model=Health,
        responses={503: {"model": ErrorBody}},
        summary="Readiness: the model is loaded and warmed up",
    )
    async def ready_route() -> Any:
        if not ready.is_set():
            return JSONResponse(error_body("not_ready", "the model is still loading"), 503)
        return {"status": "ready"}

    @app.get("/metrics", summary="Prometheus metrics (text format)")
    async def metrics_route() -> Response:
        await asyncio.to_thread(drift_report)  # drift gauges are current at every scrape
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    include_page(state())
    known = {route.path for route in app.routes if hasattr(route, "path")}
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics, known_paths=known)
    app.state.holder = holder
    app.state.metrics = metrics
    app.state.config = config
    return app


def create_app_from_env() -> FastAPI:
    """App factory for uvicorn worker processes: the config comes from ``PROFOND_SERVE_CONFIG``."""
    text = os.environ.get(CONFIG_ENV)
    if not text:
        raise ProfondError(f"{CONFIG_ENV} is not set; start the server with `profond serve`")
    from profond.serve.commands import freeze_heap

    config = ServeConfig.from_json(text)
    torch.set_num_threads(config.threads)
    app = create_app(config)
    freeze_heap()
    return app
