"""The hostile side of ``serve_faults.py``: raw HTTP/1.1 requests of every malformed kind, a
minimal keep-alive client that reads answers byte-exactly, and slow clients.

Everything is raw bytes on a socket so that nothing (an HTTP library's own checks, retries or
connection pool) hides what the server does: a reset, an early close or a 5xx shows as such.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Bad:
    """One kind of malformed request. ``closes``: the server may rightly close the connection
    after answering (a request it cannot parse), so the client opens a new one."""

    name: str
    raw: bytes
    closes: bool = False


def post(
    path: str, body: bytes, content_type: str | None = "application/json", **extra: str
) -> bytes:
    """A raw ``POST`` with ``Content-Length`` (extra headers as keyword arguments)."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int, height: int, full: bool = True) -> bytes:
    """An all-black 8-bit grayscale PNG; with ``full`` its compressed data really holds
    ``width × height`` pixels (a 20000 × 20000 one: 400 MB decoded, ~0.4 MB sent)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    rows = b"\0" * (width + 1)  # filter byte + pixels
    parts = []
    for start in range(0, height if full else 1, 500):
        parts.append(compressor.compress(rows * min(500, height - start)))
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def multipart(data: bytes, field: str = "file", boundary: str = "b0und4ry") -> tuple[bytes, str]:
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="x.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _upload(data: bytes, path: str = "/v1/predict/image", **options: str) -> bytes:
    body, content_type = multipart(data, **options)
    return post(path, body, content_type)


def _chunked(path: str, total: int, piece: int = 64 * 1024) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n"
    chunk = f"{piece:x}\r\n".encode() + b" " * piece + b"\r\n"
    return head.encode() + chunk * (total // piece + 1) + b"0\r\n\r\n"


def bad_requests(max_body: int, max_instances: int, features: int = 64) -> list[Bad]:
    """Every malformed kind (41), for a server with these limits and input size."""
    row = [1.0] * features
    small_png = png(8, 8)

    def js(value: object) -> bytes:
        return post("/v1/predict", json.dumps(value).encode())

    def text(body: bytes, content_type: str | None = "application/json") -> bytes:
        return post("/v1/predict", body, content_type)

    multipart_ok, multipart_type = multipart(small_png)
    kinds = [
        Bad("png 20000x20000 (decompression bomb)", _upload(png(20_000, 20_000))),
        Bad("png header claiming 60000x60000", _upload(png(60_000, 60_000, full=False))),
        Bad(
            "json nested 100000 deep",
            text(b'{"instances": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ),
        Bad("8 MB body over the limit", text(b" " * (max_body + 1))),
        Bad("chunked body over the limit", _chunked("/v1/predict", max_body + 1)),
        Bad("10000 instances", js({"instances": [row] * 10_000})),
        Bad("one instance over the batch limit", js({"instances": [row] * (max_instances + 1)})),
        Bad("booleans", js({"instances": [[True] * features]})),
        Bad("NaN", text(b'{"instances": [[NaN' + b",1" * (features - 1) + b"]]}")),
        Bad("Infinity", text(b'{"instances": [[-Infinity' + b",1" * (features - 1) + b"]]}")),
        Bad("number 1e400", text(b'{"instances": [[1e400' + b",1" * (features - 1) + b"]]}")),
        Bad("strings in a row", js({"instances": [["x"] * features]})),
        Bad("nulls in a row", js({"instances": [[None] * features]})),
        Bad("row too short", js({"instances": [row[:10]]})),
        Bad("ragged rows", js({"instances": [row, row[:10]]})),
        Bad("nested too deep for the shape", js({"instances": [[[[[[1.0]]]]]]})),
        Bad("instances a number", js({"instances": 5})),
        Bad("empty instances", js({"instances": []})),
        Bad("unknown field", js({"rows": [row]})),
        Bad("texts to an image model", js({"texts": ["hello"]})),
        Bad("JSON string", js("instances")),
        Bad("JSON null", text(b"null")),
        Bad("not JSON", text(b"{not json")),
        Bad("invalid UTF-8", text(b"\xff\xfe\x00garbage")),
        Bad("empty body", text(b"")),
        Bad("XML as application/xml", text(b"<instances><i>1</i></instances>", "application/xml")),
        Bad("PNG bytes to /v1/predict", text(small_png, "image/png")),
        Bad("JSON to /v1/predict/image", post("/v1/predict/image", b'{"instances": []}')),
        Bad("raw PNG to /v1/predict/image", post("/v1/predict/image", small_png, "image/png")),
        Bad("truncated multipart", post("/v1/predict/image", multipart_ok[:-30], multipart_type)),
        Bad("multipart without file", _upload(small_png, field="picture")),
        Bad(
            "multipart wrong boundary",
            post("/v1/predict/image", multipart_ok, "multipart/form-data; boundary=zz"),
        ),
        Bad("truncated PNG", _upload(small_png[: len(small_png) // 2])),
        Bad("not an image", _upload(b"this is not an image at all")),
        Bad("empty file", _upload(b"")),
        Bad("bad query parameter", _upload(small_png, path="/v1/predict/image?invert=maybe")),
        Bad("unknown route", post("/v1/nothing", b"{}")),
        Bad("wrong method", b"DELETE /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
        Bad(
            "feedback out of range",
            post("/v1/feedback", b'{"items": [{"predicted": -1, "label": 99}]}'),
        ),
        Bad(
            "reload with a wrong token",
            post("/v1/model/reload", b"", None, Authorization="Bearer guess-guess"),
        ),
        Bad(
            "Content-Length not a number",
            post("/v1/predict", b"", None, Content_Length="12abc"),
            closes=True,
        ),
        Bad("header of 300 KB", post("/v1/predict", b"{}", X_Padding="a" * 300_000), closes=True),
        Bad("not HTTP", b"HELLO THERE\r\n\r\n", closes=True),
    ]
    return kinds


class ConnectionBroken(Exception):
    """The server closed or reset the connection before a whole answer came."""


class Connection:
    """One keep-alive client connection sending raw requests and reading whole answers."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Send ``raw`` and read its answer: (status, body, the server closes the connection)."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        try:
            self.writer.write(raw)
            await self.writer.drain()
            status_line = await self.reader.readline()
            if not status_line:
                raise ConnectionBroken("closed before answering")
            status = int(status_line.split()[1])
            length, closes = None, False
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    closes = True
            if length is None:
                body = await self.reader.read()
                closes = True
            else:
                body = await self.reader.readexactly(length)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            self.close()
            raise ConnectionBroken(str(exc) or type(exc).__name__) from exc
        if closes:
            self.close()
        return status, body, closes


@dataclass
class SlowStats:
    """What the slow clients saw: how their attempts ended and the longest one lasted."""

    answered_408: int = 0
    closed: int = 0
    completed: int = 0  # sent everything before being cut off: the trickle was too fast
    longest_s: float = 0.0


async def slow_client(port: int, request: bytes, slow_body: bool, pace: float,
                      stop: asyncio.Event, stats: SlowStats) -> None:  # fmt: skip
    """Trickle ``request`` one byte every ``pace`` seconds, again and again until ``stop``;
    with ``slow_body`` its headers (and 5 body bytes) go at once and only the body trickles."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(pace)
            continue
        start = time.monotonic()
        answer = asyncio.ensure_future(reader.read(65536))
        position = 0
        if slow_body:
            position = request.index(b"\r\n\r\n") + 4 + 5  # headers and 5 body bytes at once
            writer.write(request[:position])
        try:
            while not answer.done() and not stop.is_set() and position < len(request):
                writer.write(request[position : position + 1])
                position += 1
                await asyncio.wait([answer], timeout=pace)
            if stop.is_set() and not answer.done():
                answer.cancel()
                break
            if position >= len(request):
                stats.completed += 1
                await asyncio.wait([answer], timeout=5)
            data = answer.result() if answer.done() and not answer.cancelled() else b""
        except (ConnectionError, OSError):
            data = b""
        finally:
            writer.close()
        stats.longest_s = max(stats.longest_s, time.monotonic() - start)
        if data.startswith(b"HTTP/1.1 408"):
            stats.answered_408 += 1
        else:
            stats.closed += 1
