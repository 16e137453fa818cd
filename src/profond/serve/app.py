"""The prediction server: a FastAPI app around one trained model, wired from routers.

Routes: ``POST /v1/predict`` (JSON batch or texts), ``POST /v1/predict/image`` (PNG/JPEG upload),
``GET /v1/model``, ``POST /v1/model/reload`` (bearer token), ``GET /v1/monitoring/drift``,
``POST /v1/feedback``, ``GET /health``, ``GET /ready``, ``GET /metrics`` (Prometheus text), the
OpenAPI schema at ``/openapi.json``, ``/docs`` and ``/redoc`` (assets served locally), and the
browser page with its explanation endpoints.

Inputs are decoded, preprocessed and formatted by :mod:`profond.inference` (the same code as
``profond predict``); every refusal is a 4xx answer ``{"error": {"type": ..., "message": ...}}``.
Inference runs in a worker thread through the :class:`~profond.serve.batching.MicroBatcher`.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI

from profond.errors import ProfondError
from profond.models.saved import LoadedModel
from profond.serve.config import ServeConfig
from profond.serve.docs import add_docs
from profond.serve.errors import install_error_handlers
from profond.serve.metrics import ServeMetrics
from profond.serve.middleware import BodyLimitMiddleware, MetricsMiddleware
from profond.serve.page import build_page_router
from profond.serve.routes import model, monitoring, predict
from profond.serve.state import ServerState

CONFIG_ENV = "PROFOND_SERVE_CONFIG"  # ServeConfig as JSON, for uvicorn worker processes


def create_app(config: ServeConfig, loaded: LoadedModel | None = None) -> FastAPI:
    """The prediction app for ``config``, serving ``loaded`` (or the configured source).

    Args:
        config: the server's configuration.
        loaded: an already loaded model; None reads ``config.source``.
    """
    metrics = ServeMetrics()
    server = ServerState(config, metrics, loaded or config.source.load())

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        await server.model.start()
        server.publish_model()
        server.ready.set()
        try:
            yield
        finally:
            server.ready.clear()
            await server.model.stop()

    app = FastAPI(
        title="profond prediction API",
        version="1",
        description="Predictions, model information, health and monitoring of one trained model.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.server = server
    app.state.metrics = metrics
    app.state.config = config
    install_error_handlers(app, metrics)
    for router in (predict.router, model.router, monitoring.router, build_page_router()):
        app.include_router(router)
    add_docs(app)
    known = {route.path for route in app.routes if hasattr(route, "path")}
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=config.max_body_bytes, timeout=config.timeout_body
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics, known_paths=known)
    return app


def create_app_from_env() -> FastAPI:
    """App factory for uvicorn worker processes: the config comes from ``PROFOND_SERVE_CONFIG``."""
    import torch

    text = os.environ.get(CONFIG_ENV)
    if not text:
        raise ProfondError(f"{CONFIG_ENV} is not set; start the server with `profond serve`")
    from profond.serve.commands import freeze_heap
    from profond.serve.protocol import TimedH11Protocol

    config = ServeConfig.from_json(text)
    TimedH11Protocol.timeout_headers = config.timeout_headers  # this worker's connections
    TimedH11Protocol.timeout_body = config.timeout_body
    torch.set_num_threads(config.threads)
    app = create_app(config)
    freeze_heap()
    return app
