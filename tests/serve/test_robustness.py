"""1,000 malformed requests of every kind, interleaved with good ones, against `profond serve`
in its own process: every good request is answered correctly, the process stays up, and its
memory does not grow."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image
from serving_helpers import free_port

MAX_BODY = 64 * 1024


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def served(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {**os.environ, "PROFOND_HOME": str(tmp_path_factory.mktemp("home"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "profond", "serve", "--model-dir", str(model_dir)]
    command += ["--port", str(port), "--max-body-bytes", str(MAX_BODY), "--max-instances", "32"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not start: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)
    try:
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def _png(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((size, size), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _malformed() -> list[tuple[str, dict]]:
    """(path, httpx keyword arguments) for each kind of bad request."""
    json_header = {"content-type": "application/json"}
    row = [1.0] * 64
    png = _png()
    return [
        ("/v1/predict", {"content": b"{not json", "headers": json_header}),
        ("/v1/predict", {"content": b"", "headers": json_header}),
        ("/v1/predict", {"content": b"\xff\xfe\x00garbage", "headers": json_header}),
        ("/v1/predict", {"json": {"instances": [[1.0, 2.0]]}}),
        ("/v1/predict", {"json": {"instances": [row, row[:10]]}}),
        ("/v1/predict", {"json": {"instances": [["x"] * 64]}}),
        ("/v1/predict", {"json": {"instances": [[None] * 64]}}),
        ("/v1/predict", {"json": {"instances": [[True] * 64]}}),
        (
            "/v1/predict",
            {"content": b'{"instances": [[NaN' + b",1" * 63 + b"]]}", "headers": json_header},
        ),
        (
            "/v1/predict",
            {"content": b'{"instances": [[-Infinity' + b",1" * 63 + b"]]}", "headers": json_header},
        ),
        ("/v1/predict", {"json": {"instances": [[1e300] * 64]}}),
        ("/v1/predict", {"json": {"instances": []}}),
        ("/v1/predict", {"json": {"instances": [row] * 33}}),
        ("/v1/predict", {"json": {"instances": row}}),
        ("/v1/predict", {"json": {"instances": [[[[[[1.0]]]]]]}}),
        ("/v1/predict", {"json": {"unknown": 1}}),
        ("/v1/predict", {"json": "a string"}),
        ("/v1/predict", {"json": {"texts": ["hello"]}}),
        ("/v1/predict", {"content": b"[" * (MAX_BODY + 1), "headers": json_header}),
        ("/v1/predict", {"content": iter([b" " * 40_000] * 3), "headers": json_header}),
        ("/v1/predict/image", {"files": {"file": ("a.png", b"not an image")}}),
        ("/v1/predict/image", {"files": {"file": ("a.png", b"")}}),
        ("/v1/predict/image", {"files": {"file": ("a.png", png[: len(png) // 2])}}),
        ("/v1/predict/image", {"files": {"file": ("a.png", png)}, "params": {"invert": "maybe"}}),
        ("/v1/predict/image", {"content": png, "headers": {"content-type": "image/png"}}),
        ("/v1/predict/image", {"files": {"file": ("big.png", b"\x89PNG" + b"0" * MAX_BODY)}}),
        ("/v1/feedback", {"json": {"items": [{"predicted": -1, "label": 0}]}}),
        ("/v1/model/reload", {"headers": {"Authorization": "Bearer guess"}}),
    ]


def test_malformed_requests_never_hurt_good_ones(served, loaded, digits) -> None:
    url, pid = served
    raw = digits["x_test"].reshape(len(digits["x_test"]), -1)
    x = loaded.preprocessing.apply(torch.from_numpy(raw)).reshape(-1, 1, 8, 8)
    with torch.no_grad():
        expected = loaded.model(x).argmax(1).numpy()
    bad = _malformed()
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=url, timeout=30) as client:

        def good(i: int) -> None:
            j = i % len(raw)
            response = client.post("/v1/predict", json={"instances": [raw[j].tolist()]})
            assert response.status_code == 200
            assert response.json()["predictions"][0]["class"] == expected[j]

        def send(i: int) -> None:
            path, kwargs = bad[i % len(bad)]
            if "content" in kwargs and not isinstance(kwargs["content"], bytes):
                kwargs = {**kwargs, "content": iter([b" " * 40_000] * 3)}  # a fresh stream
            response = client.post(path, **kwargs)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
            assert response.json()["error"]["message"]

        for i in range(200):  # warm-up: let allocators and caches settle before measuring
            send(i)
            good(i)
        rss_before = _rss_mb(pid)
        for i in range(1000):
            send(i)
            if i % 4 == 0:
                good(i)
        rss_after = _rss_mb(pid)
        assert client.get("/health").status_code == 200
    print(f"server RSS {rss_before:.1f} MB -> {rss_after:.1f} MB; statuses {statuses}")
    assert rss_after - rss_before < 50, f"RSS grew from {rss_before:.0f} to {rss_after:.0f} MB"
    assert set(statuses) <= {400, 401, 403, 404, 405, 413, 415, 422}
