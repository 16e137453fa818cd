"""One error type (:class:`~profond.inference.errors.InputError`) and one body for every refusal:
``{"error": {"type": ..., "message": ...}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from profond.errors import ProfondError
from profond.inference.errors import InputError
from profond.serve.metrics import ServeMetrics
from profond.serve.schemas import error_body

logger = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI, metrics: ServeMetrics) -> None:
    """Answer every error with the one body shape, and count refusals by type."""

    @app.exception_handler(InputError)
    async def on_input_error(request: Request, exc: InputError) -> JSONResponse:
        metrics.rejected.labels(exc.kind).inc()
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.kind, str(exc)), exc.status, headers=headers)

    @app.exception_handler(ProfondError)
    async def on_profond_error(request: Request, exc: ProfondError) -> JSONResponse:
        metrics.rejected.labels("bad_input").inc()
        return JSONResponse(error_body("bad_input", str(exc)), 400)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_answer(exc, metrics)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = {
            404: "not_found",
            405: "method_not_allowed",
            408: "body_timeout",
            413: "body_too_large",
        }.get(exc.status_code, "http_error")
        return JSONResponse(error_body(kind, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def on_client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client left mid-body: nobody reads this answer, and nothing failed on our side.
        metrics.rejected.labels("client_disconnected").inc()
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s", request.url.path)
        return JSONResponse(error_body("internal_error", "the server failed on this request"), 500)


def _validation_answer(exc: RequestValidationError, metrics: ServeMetrics) -> JSONResponse:
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
        parts.append(f"{'.'.join(loc) or 'body'}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    metrics.rejected.labels("validation_error").inc()
    return JSONResponse(error_body("validation_error", "; ".join(parts) + more), 422)
