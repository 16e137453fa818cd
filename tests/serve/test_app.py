"""The API end to end over HTTP: predictions agree with the model, every refusal is a clean 4xx."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from profond.models.saved import LoadedModel


def _expected(loaded: LoadedModel, raw: np.ndarray) -> np.ndarray:
    x = loaded.preprocessing.apply(torch.from_numpy(raw)).reshape(-1, *loaded.input_shape)
    with torch.no_grad():
        return torch.softmax(loaded.model(x), dim=1).numpy()


def test_predict_matches_the_model(server: str, loaded: LoadedModel, digits) -> None:
    raw = digits["x_test"][:5]
    response = httpx.post(f"{server}/v1/predict", json={"instances": raw.reshape(5, -1).tolist()})
    assert response.status_code == 200
    body = response.json()
    probs = np.array([p["probabilities"] for p in body["predictions"]])
    np.testing.assert_allclose(probs, _expected(loaded, raw), atol=1e-5)
    assert [p["class"] for p in body["predictions"]] == probs.argmax(1).tolist()
    assert [p["label"] for p in body["predictions"]] == [str(c) for c in probs.argmax(1)]
    assert body["model"]["run_id"] == "test"


def test_nested_instances_equal_flat_ones(server: str, digits) -> None:
    raw = digits["x_test"][:2]
    flat = httpx.post(f"{server}/v1/predict", json={"instances": raw.reshape(2, -1).tolist()})
    nested = httpx.post(f"{server}/v1/predict", json={"instances": raw[:, None].tolist()})
    no_channel = httpx.post(f"{server}/v1/predict", json={"instances": raw.tolist()})
    assert flat.json()["predictions"] == nested.json()["predictions"]
    assert flat.json()["predictions"] == no_channel.json()["predictions"]


def test_image_upload_predicts_the_digit(server: str, loaded: LoadedModel, digits) -> None:
    raw = digits["x_test"][0]
    pixels = (raw * 255 / 16).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((32, 32), Image.Resampling.NEAREST).save(buffer, "PNG")
    response = httpx.post(
        f"{server}/v1/predict/image",
        files={"file": ("digit.png", buffer.getvalue(), "image/png")},
        params={"invert": "no"},
    )
    assert response.status_code == 200
    predicted = response.json()["predictions"][0]["class"]
    assert predicted == int(_expected(loaded, raw[None]).argmax())


def test_model_health_ready_and_openapi(server: str) -> None:
    info = httpx.get(f"{server}/v1/model").json()
    assert info["family"] == "mlp" and info["input_shape"] == [1, 8, 8]
    assert info["classes"] == [str(i) for i in range(10)]
    assert 0.5 < info["metrics"]["test_accuracy"] <= 1.0
    assert httpx.get(f"{server}/health").json() == {"status": "ok"}
    assert httpx.get(f"{server}/ready").json() == {"status": "ready"}
    schema = httpx.get(f"{server}/openapi.json").json()
    assert {"/v1/predict", "/v1/predict/image", "/v1/model", "/metrics"} <= set(schema["paths"])


GOOD = [[0.0] * 64]
BAD_JSON_BODIES = [
    ({"instances": []}, 422, "empty_batch", "1 to 256"),
    ({"instances": [[1.0, 2.0]]}, 422, "invalid_shape", "64 numbers"),
    ({"instances": [[1.0] * 64, [1.0] * 63]}, 422, "invalid_shape", "inconsistent"),
    ({"instances": [["a"] * 64]}, 422, "invalid_type", "numbers only"),
    ({"instances": [["1.5"] * 64]}, 422, "invalid_type", "numbers only"),
    ({"instances": [[True] * 64]}, 422, "invalid_type", "numbers only"),
    ({"instances": [[None] * 64]}, 422, "invalid_type", "numbers only"),
    ({"instances": [[{"a": 1}] * 64]}, 422, "invalid_type", "numbers only"),
    ({"instances": [[[1.0], 2.0] * 32]}, 422, "invalid_shape", "inconsistent"),
    ({"instances": "abc"}, 422, "invalid_type", "list"),
    ({"instances": 5}, 422, "invalid_type", "list"),
    ({"instances": {"a": 1}}, 422, "invalid_type", "list"),
    ({"instances": [[1e39] * 64]}, 422, "invalid_value", "finite"),
    ({"instances": GOOD * 257}, 422, "batch_too_large", "limit of 256"),
    ({"instances": GOOD, "texts": ["a"]}, 422, "invalid_input", "not both"),
    ({"texts": ["hello"]}, 422, "invalid_input", "does not take texts"),
    ({"extra": 1}, 422, "validation_error", "extra"),
    ([1, 2], 422, "validation_error", "object"),
]


@pytest.mark.parametrize(("body", "status", "kind", "says"), BAD_JSON_BODIES)
def test_bad_json_inputs_get_a_clear_4xx(
    server: str, body, status: int, kind: str, says: str
) -> None:
    response = httpx.post(f"{server}/v1/predict", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == kind
    assert says.lower() in error["message"].lower()


@pytest.mark.parametrize(
    ("content", "status", "kind"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'{"instances": [[NaN' + b", 1" * 63 + b"]]}", 422, "invalid_value"),
        (b'{"instances": [[Infinity' + b", 1" * 63 + b"]]}", 422, "invalid_value"),
        (b"", 422, "validation_error"),
    ],
)
def test_malformed_bodies(server: str, content: bytes, status: int, kind: str) -> None:
    headers = {"content-type": "application/json"}
    response = httpx.post(f"{server}/v1/predict", content=content, headers=headers)
    assert (response.status_code, response.json()["error"]["type"]) == (status, kind)


def test_body_over_the_limit_is_refused_by_length_and_by_stream(server: str) -> None:
    big = b"[" * (9 * 1024 * 1024)
    declared = httpx.post(f"{server}/v1/predict", content=big)
    assert declared.status_code == 413
    assert "limit" in declared.json()["error"]["message"]

    def chunks():  # no Content-Length: chunked transfer encoding
        for _ in range(9):
            yield b" " * (1024 * 1024)

    streamed = httpx.post(
        f"{server}/v1/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["type"] == "body_too_large"


def test_undecodable_image_and_missing_file(server: str) -> None:
    response = httpx.post(f"{server}/v1/predict/image", files={"file": ("x.png", b"not an image")})
    assert response.status_code == 400
    assert "PNG or JPEG" in response.json()["error"]["message"]
    missing = httpx.post(f"{server}/v1/predict/image")
    assert missing.status_code == 422
    assert missing.json()["error"]["type"] == "validation_error"


def test_unknown_route_and_method(server: str) -> None:
    assert httpx.get(f"{server}/nowhere").json()["error"]["type"] == "not_found"
    response = httpx.get(f"{server}/v1/predict")
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "method_not_allowed"


def test_reload_needs_the_token_and_reloads_the_configured_model(server: str) -> None:
    assert httpx.post(f"{server}/v1/model/reload").status_code == 401
    wrong = httpx.post(f"{server}/v1/model/reload", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    ok = httpx.post(
        f"{server}/v1/model/reload", headers={"Authorization": "Bearer secret-token"}, timeout=30
    )
    assert ok.status_code == 200 and ok.json()["run_id"] == "test"
    after = httpx.post(f"{server}/v1/predict", json={"instances": GOOD})
    assert after.status_code == 200


def test_reload_is_off_without_a_token(model_dir, loaded) -> None:
    from serving_helpers import make_config, running_server

    with running_server(make_config(model_dir), loaded) as url:
        response = httpx.post(f"{url}/v1/model/reload", headers={"Authorization": "Bearer x"})
        assert response.status_code == 403
        assert response.json()["error"]["type"] == "reload_disabled"


def test_feedback_gives_live_accuracy(server: str) -> None:
    items = [
        {"predicted": 1, "label": 1},
        {"predicted": 2, "label": 2},
        {"predicted": 3, "label": 4},
    ]
    response = httpx.post(f"{server}/v1/feedback", json={"items": items})
    assert response.status_code == 200
    assert response.json()["received"] == 3
    assert 0.0 < response.json()["live_accuracy"] < 1.0
    bad = httpx.post(f"{server}/v1/feedback", json={"items": [{"predicted": 10, "label": 0}]})
    assert bad.status_code == 422 and "below 10" in bad.json()["error"]["message"]


def test_answers_match_the_documented_response_models(server: str, digits) -> None:
    from profond.serve.schemas import ModelInfo, PredictResponse

    body = {"instances": digits["x_test"][:3].reshape(3, -1).tolist()}
    answer = PredictResponse.model_validate(httpx.post(f"{server}/v1/predict", json=body).json())
    assert len(answer.predictions) == 3
    assert abs(sum(answer.predictions[0].probabilities) - 1) < 1e-6
    ModelInfo.model_validate(httpx.get(f"{server}/v1/model").json())


def test_requests_in_flight_survive_a_reload(server: str, digits) -> None:
    import asyncio

    body = {"instances": digits["x_test"][:1].reshape(1, -1).tolist()}
    headers = {"Authorization": "Bearer secret-token"}

    async def scenario() -> list[int]:
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:
            predictions = [client.post("/v1/predict", json=body) for _ in range(150)]
            reload = client.post("/v1/model/reload", headers=headers)
            answers = await asyncio.gather(*predictions[:75], reload, *predictions[75:])
        return [a.status_code for a in answers]

    assert asyncio.run(scenario()) == [200] * 151
