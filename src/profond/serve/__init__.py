"""Serving a trained model: the HTTP API, its runtimes, micro-batching, metrics and drift.

``create_app(config, loaded)`` in :mod:`profond.serve.app` builds the FastAPI app;
``profond serve`` (:mod:`profond.serve.commands`) runs it with uvicorn.
"""
