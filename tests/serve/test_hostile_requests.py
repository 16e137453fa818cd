"""Requests built to hurt: a decompression bomb, JSON nested 100 000 deep, booleans posing as
numbers. Each gets one 4xx answer, and the server keeps answering good requests."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving_helpers import make_config

from profond.serve.app import create_app


@pytest.fixture(scope="module")
def client(model_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_config(model_dir))) as test_client:
        yield test_client


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width × height`` pixels (its data is a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    pixels = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _good(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"instances": [[0.0] * 64]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ["/v1/predict/image", "/v1/explain/image"])
def test_a_decompression_bomb_is_refused_before_decoding(client: TestClient, route: str) -> None:
    bomb = _png_header(20_000, 20_000)
    response = client.post(route, files={"file": ("bomb.png", bomb, "image/png")})
    assert response.status_code in (400, 413), response.text
    assert "pixels" in response.json()["error"]["message"]
    _good(client)


def test_json_nested_too_deep_is_refused(client: TestClient) -> None:
    deep = '{"instances": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(
        "/v1/predict", content=deep, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_json"
    _good(client)


@pytest.mark.parametrize(
    "instances",
    [[[True] * 64], [[0.5] * 63 + [False]], [[[1.0] * 8] * 7 + [[1.0] * 7 + [True]]]],
)
def test_booleans_are_not_numbers(client: TestClient, instances: list) -> None:
    response = client.post("/v1/predict", json={"instances": instances})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == "invalid_type"


def test_the_schema_documents_the_request_and_prometheus_text(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert "instances" in body["schema"]["properties"] and "texts" in body["schema"]["properties"]
    metrics = schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain; version=0.0.4; charset=utf-8"]
    answer = client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    assert "profond_http_requests" in answer.text
