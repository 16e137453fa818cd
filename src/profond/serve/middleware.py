"""ASGI middleware of the server: the one body limit (size and time), and request metrics."""

from __future__ import annotations

import asyncio
import time

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from profond.serve.metrics import ServeMetrics
from profond.serve.schemas import error_body


class BodyTooLarge(HTTPException):
    """Raised while reading a body that exceeds the limit (answered 413)."""


class BodyTimeout(HTTPException):
    """Raised when a body is not fully received in time (answered 408, connection closed)."""


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` (``ServeConfig.max_body_bytes``), for every route, and
    bodies not received within ``timeout`` seconds (``ServeConfig.timeout_body``).

    By ``Content-Length`` first, then as the body streams: a client can omit or lie about
    ``Content-Length`` (chunked encoding), so the bytes actually received are counted too.
    The deadline covers the whole body, not each chunk: a client trickling a byte a second
    would otherwise hold a connection and a request's memory for ever.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await send_error(send, 400, "invalid_header", "Content-Length is not an integer")
                return
            if size > self.max_bytes:
                await send_error(send, 413, "body_too_large", self._message(size))
                return
        received = 0
        started = False
        complete = False
        deadline = None if self.timeout is None else time.monotonic() + self.timeout

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete or deadline is None:  # after the body: waits for a disconnect
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), deadline - time.monotonic())
                except asyncio.TimeoutError:
                    raise BodyTimeout(
                        408,
                        f"request body not received within {self.timeout:g} s",
                        headers={"connection": "close"},
                    ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
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
            await send_error(send, 413, "body_too_large", str(exc.detail))
        except BodyTimeout as exc:
            if started:
                raise
            # The rest of the body may still come: close rather than read it as the next request.
            await send_error(send, 408, "body_timeout", str(exc.detail), close=True)

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


async def send_error(send: Send, status: int, kind: str, message: str, close: bool = False) -> None:
    headers = {"connection": "close"} if close else None
    response = JSONResponse(error_body(kind, message), status_code=status, headers=headers)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
