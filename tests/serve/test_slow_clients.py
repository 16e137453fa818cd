"""Slow clients are timed out: a header or body trickle gets 408 and a closed connection, an idle
connection is closed, and good requests keep being served meanwhile, on the same connection too."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from serving_helpers import make_config, running_server

from profond.errors import ProfondError
from profond.models.saved import LoadedModel
from profond.serve.config import ModelSource, ServeConfig

TIMEOUT = 0.6  # seconds, headers and body alike


@pytest.fixture(scope="module")
def url(model_dir: Path, loaded: LoadedModel) -> Iterator[str]:
    config = make_config(model_dir, timeout_headers=TIMEOUT, timeout_body=TIMEOUT)
    with running_server(config, loaded) as base:
        yield base


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_until_closed(sock: socket.socket, limit: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start = time.monotonic()
    chunks = []
    sock.settimeout(limit)
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - start


def _trickle(sock: socket.socket, data: bytes, stop: threading.Event) -> None:
    for byte in data:
        if stop.is_set():
            return
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return
        time.sleep(0.05)


def _request(body: bytes) -> bytes:
    head = (
        "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _good_body(digits: dict[str, np.ndarray]) -> bytes:
    return json.dumps({"instances": [digits["x_test"][0].reshape(-1).tolist()]}).encode()


def test_a_header_trickle_gets_408_and_is_closed(url: str, digits) -> None:
    sock = _connect(url)
    stop = threading.Event()
    sender = threading.Thread(target=_trickle, args=(sock, _request(_good_body(digits)), stop))
    sender.start()
    try:
        answer, took = _read_until_closed(sock)
    finally:
        stop.set()
        sender.join()
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert TIMEOUT * 0.8 < took < TIMEOUT + 3


def test_an_idle_connection_is_closed_without_answer(url: str) -> None:
    with _connect(url) as sock:
        answer, took = _read_until_closed(sock)
    assert answer == b""
    assert took < TIMEOUT + 3


def test_a_body_trickle_gets_408_json_and_is_closed(url: str, digits) -> None:
    request = _request(_good_body(digits))
    split = request.index(b"\r\n\r\n") + 4 + 10
    sock = _connect(url)
    sock.sendall(request[:split])  # headers and a little of the body, then nothing more
    stop = threading.Event()
    sender = threading.Thread(target=_trickle, args=(sock, request[split:], stop))
    sender.start()
    try:
        answer, took = _read_until_closed(sock)
    finally:
        stop.set()
        sender.join()
        sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["type"] == "body_timeout"
    assert took < TIMEOUT + 3


def test_good_requests_pass_while_slow_clients_hang(url: str, digits) -> None:
    body = _good_body(digits)
    stop = threading.Event()
    socks = [_connect(url) for _ in range(20)]
    senders = [threading.Thread(target=_trickle, args=(s, _request(body), stop)) for s in socks]
    for sender in senders:
        sender.start()
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            for _ in range(3):  # a kept-alive connection, pausing less than the deadline
                for _ in range(5):
                    response = client.post("/v1/predict", content=body)
                    assert response.status_code == 200
                time.sleep(TIMEOUT / 2)
            bad = client.post("/v1/predict", content=b"{not json")
            assert bad.status_code == 400
            after = client.post("/v1/predict", content=body)  # same connection, not reset
            assert after.status_code == 200
    finally:
        stop.set()
        for sender in senders:
            sender.join()
        for sock in socks:
            sock.close()


@pytest.mark.parametrize("value", [0, -1, 1e9, True, "5"])
def test_timeouts_must_be_sane(value: object) -> None:
    with pytest.raises(ProfondError, match="timeout_headers"):
        ServeConfig(source=ModelSource(model_dir="x"), timeout_headers=value)  # type: ignore[arg-type]


def test_the_rest_of_a_refused_body_cannot_trickle_for_ever(url: str) -> None:
    head = (
        "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {64 * 1024 * 1024}\r\n\r\n"
    )
    sock = _connect(url)
    sock.sendall(head.encode())
    stop = threading.Event()
    sender = threading.Thread(target=_trickle, args=(sock, b" " * 10_000, stop))
    sender.start()
    try:
        answer, took = _read_until_closed(sock)
    finally:
        stop.set()
        sender.join()
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert took < TIMEOUT + 3
