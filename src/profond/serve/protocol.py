"""uvicorn's HTTP/1.1 protocol (h11) with a deadline on request headers.

uvicorn times out an idle keep-alive connection, but every byte received resets that timer, and
nothing limits how long a client may take to send its headers: a client trickling one header
byte a second ("slowloris") holds a connection, and its memory, for ever. Here a request's
headers must be complete within ``timeout_headers`` seconds of the connection opening or of the
request's first byte; otherwise the server answers ``408 Request Timeout`` and closes the
connection. The rest of a body refused before it was read (a 413 on its ``Content-Length``) is
read and dropped so that the connection can serve the next request, but within
``timeout_body`` seconds, not at any pace the client likes. The body has its own deadline, in :class:`~profond.serve.middleware.BodyLimitMiddleware`.

The class is given to uvicorn as ``http=TimedH11Protocol``, a supported option of
``uvicorn.Config`` (an ``asyncio.Protocol`` class); :func:`uvicorn_options` builds every option.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from profond.serve.config import ServeConfig

__all__ = ["TimedH11Protocol", "uvicorn_options"]

HEADER_LIMIT = 64 * 1024  # bytes of request line + headers; larger is answered 400


class TimedH11Protocol(H11Protocol):
    """:class:`H11Protocol` that closes a connection whose request headers arrive too slowly.

    uvicorn builds the protocol from its own config only, so the deadline is a class attribute:
    :func:`protocol_class` makes a subclass per server in one process; uvicorn's worker processes
    import this class by name and their app factory sets the attribute from the server's config.
    """

    timeout_headers: float = 10.0
    timeout_body: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_timer: asyncio.TimerHandle | None = None
        self._request_started = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        waiting = self._waiting_for_headers()
        if waiting:
            self._request_started = True
            if self._headers_timer is None:
                self._arm()  # the first byte of a request on a kept-alive connection
        super().data_received(data)
        if not self._waiting_for_headers():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._waiting_for_headers() and self.conn.their_state is h11.SEND_BODY:
            self._arm(self.timeout_body)  # answered before the body was read: drop it in time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_headers(self) -> bool:
        answered = self.cycle is None or self.cycle.response_complete
        return answered and self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _arm(self, seconds: float | None = None) -> None:
        self._disarm()
        delay = self.timeout_headers if seconds is None else seconds
        self._headers_timer = self.loop.call_later(delay, self._on_headers_timeout)

    def _disarm(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _on_headers_timeout(self) -> None:
        self._headers_timer = None
        if self.transport.is_closing() or not self._waiting_for_headers():
            return
        self._unset_keepalive_if_required()
        if self._request_started and self.conn.our_state is h11.IDLE:
            self._send_408()
        self.transport.close()

    def _send_408(self) -> None:
        body = b"request headers not received in time\n"
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            for event in (
                h11.Response(status_code=408, headers=headers, reason=b"Request Timeout"),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:  # the connection is past answering: just close it
            pass


def protocol_class(timeout_headers: float, timeout_body: float) -> type[TimedH11Protocol]:
    """A subclass of :class:`TimedH11Protocol` with these deadlines in seconds."""
    deadlines = {"timeout_headers": timeout_headers, "timeout_body": timeout_body}
    return type("TimedH11Protocol", (TimedH11Protocol,), deadlines)


def uvicorn_options(config: ServeConfig) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.Config`` / ``uvicorn.run`` for ``config``."""
    return {
        "host": config.host,
        "port": config.port,
        "log_level": config.log_level,
        "access_log": config.access_log,
        "timeout_keep_alive": config.timeout_keep_alive,
        "h11_max_incomplete_event_size": HEADER_LIMIT,
        "http": protocol_class(config.timeout_headers, config.timeout_body),
    }
