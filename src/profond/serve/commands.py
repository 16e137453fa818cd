"""``profond serve``: run the prediction API with uvicorn.

The server is ready when ``GET /ready`` answers 200. With ``--workers`` above 1 each worker
process builds its own app from ``PROFOND_SERVE_CONFIG`` and the workers share their Prometheus
metrics through ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder unless already set).
A reload request reaches one worker only: restart the server to change the model of all.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import tempfile
from typing import Any

from profond.serve.config import RUNTIMES, ModelSource, ServeConfig


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` command to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "serve",
        help="serve a trained model behind an HTTP API",
        description="Serve a trained model: predictions, model info, health, Prometheus metrics "
        "and drift monitoring. Ready when GET /ready answers 200.",
    )
    parser.add_argument("run_id", nargs="?", help="the MLflow run whose model to serve")
    parser.add_argument("--model-dir", help="a saved-model folder instead of a run")
    parser.add_argument("--model-uri", help="a registry URI instead of a run, e.g. models:/name/3")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLflow's own)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--runtime", choices=RUNTIMES, default="torch", help="inference runtime")
    parser.add_argument("--onnx", dest="onnx_path", help="an exported .onnx file (runtime onnx)")
    parser.add_argument("--max-batch", type=int, default=64, help="most rows per inference call")
    parser.add_argument(
        "--max-wait-ms", type=float, default=2.0, help="longest wait to fill a batch"
    )
    parser.add_argument(
        "--no-batching", action="store_true", help="run each request alone (no micro-batching)"
    )
    parser.add_argument("--max-instances", type=int, default=256, help="most inputs per request")
    parser.add_argument(
        "--max-body-bytes", type=int, default=8 * 1024 * 1024, help="largest request body"
    )
    parser.add_argument(
        "--timeout-headers",
        type=float,
        default=10.0,
        help="seconds a client has to send a request's headers (else 408 and closed)",
    )
    parser.add_argument(
        "--timeout-body",
        type=float,
        default=30.0,
        help="seconds a client has to send a request's body (else 408 and closed)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("PROFOND_SERVE_TOKEN"),
        help="bearer token enabling POST /v1/model/reload (default: $PROFOND_SERVE_TOKEN)",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="inference threads per worker")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="log level; info shows the start banner and one access line per request",
    )
    parser.add_argument(
        "--no-access-log", action="store_true", help="no line per request (peak throughput)"
    )
    parser.set_defaults(func=run_serve)
    return parser


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    source = ModelSource.from_args(args)
    return ServeConfig(
        source=source,
        host=args.host,
        port=args.port,
        runtime=args.runtime,
        onnx_path=args.onnx_path,
        micro_batching=not args.no_batching,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        max_instances=args.max_instances,
        max_body_bytes=args.max_body_bytes,
        timeout_headers=args.timeout_headers,
        timeout_body=args.timeout_body,
        token=args.token or None,
        workers=args.workers,
        threads=args.threads,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )


def banner(config: ServeConfig, family: str, task: str) -> str:
    """The start line: where the server listens and what it serves, how."""
    batching = (
        f"micro-batching up to {config.max_batch} rows, {config.max_wait_ms:g} ms wait"
        if config.micro_batching
        else "no batching"
    )
    return (
        f"profond serve: http://{config.host}:{config.port} (docs at /docs, page at /) - "
        f"model {family} ({task}) from {config.source.describe()}, runtime {config.runtime}, "
        f"{batching}, {config.workers} worker(s) x {config.threads} thread(s)"
    )


def freeze_heap() -> None:
    """Move every object alive now (modules, the model) out of the garbage collector's sight.

    A full collection otherwise walks the whole heap of torch, FastAPI and friends, stalling
    every request in flight for tens of milliseconds, which shows as the p99 latency under load.
    """
    gc.collect()
    gc.freeze()


def run_serve(args: argparse.Namespace) -> int:
    """Handler of ``profond serve``; returns the exit status."""
    import torch
    import uvicorn

    from profond.serve.protocol import TimedH11Protocol, uvicorn_options

    config = config_from_args(args)
    torch.set_num_threads(config.threads)
    if config.workers == 1:
        from profond.serve.app import create_app

        app = create_app(config)  # load errors surface here, before listening
        card = app.state.server.model.loaded.card
        uv_config = uvicorn.Config(app, **uvicorn_options(config))  # configures logging
        logging.getLogger("uvicorn.error").info(banner(config, card.family, card.task))
        freeze_heap()
        uvicorn.Server(uv_config).run()
        return 0
    from profond.serve.app import CONFIG_ENV
    from profond.serve.metrics import MULTIPROC_ENV

    card = config.source.load().card  # fail in the parent, with one clear message
    own_dir = None
    if not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="profond-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir
    os.environ[CONFIG_ENV] = config.to_json()
    # Workers import the protocol class by name; their app factory sets its header deadline.
    options = {**uvicorn_options(config), "http": TimedH11Protocol}
    try:
        # uvicorn.run configures logging only when it starts: Config does it now, for the banner.
        uvicorn.Config("profond.serve.app:create_app_from_env", **options)
        logging.getLogger("uvicorn.error").info(banner(config, card.family, card.task))
        uvicorn.run(
            "profond.serve.app:create_app_from_env",
            factory=True,
            workers=config.workers,
            **options,
        )
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)
    return 0
