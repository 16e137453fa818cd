"""The page router: explanation endpoints through HTTP, and the page in a real Chromium for an
image classifier, a text classifier and a forecaster."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from torch import nn

from profond.data.imaging import decode_image
from profond.data.preprocess import Preprocessing
from profond.explain import explain
from profond.models import build_model
from profond.models.mlp import MLPConfig
from profond.models.saved import LoadedModel, ModelCard, load_model, save_model
from profond.serve.app import create_app
from profond.serve.config import ModelSource, ServeConfig

MAX_BODY_BYTES = 1024 * 1024  # the server's one body limit, small for the test

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# ---- a small real model: an MLP trained on scikit-learn's 8×8 digits ------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Train for a second (full-batch Adam) and save as ``profond train`` would."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    preprocessing = Preprocessing(raw_max=16.0)
    x = preprocessing.apply(torch.from_numpy(digits.images).reshape(-1, 1, 8, 8))
    y = torch.from_numpy(digits.target)
    torch.manual_seed(0)
    config = MLPConfig(in_features=64, num_classes=10, hidden_sizes=(32,), dropout=0.0)
    model = build_model("mlp", config)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(80):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    accuracy = float((model(x).argmax(1) == y).float().mean())
    card = ModelCard(
        family="mlp",
        task="classification",
        data="digits",
        config=asdict(config),
        input_shape=[1, 8, 8],
        classes=[str(i) for i in range(10)],
        preprocessing=preprocessing.to_dict(),
        run_id="0123456789abcdef",
        metrics={"accuracy": accuracy},
    )
    return save_model(tmp_path_factory.mktemp("model"), model, card)


@pytest.fixture(scope="module")
def loaded(model_dir: Path) -> LoadedModel:
    return load_model(model_dir)


def app_for(loaded: LoadedModel, folder: Path | str = "unused") -> FastAPI:
    config = ServeConfig(source=ModelSource(model_dir=str(folder)), max_body_bytes=MAX_BODY_BYTES)
    return create_app(config, loaded)


@pytest.fixture(scope="module")
def client(loaded: LoadedModel) -> Iterator[TestClient]:
    with TestClient(app_for(loaded)) as test_client:  # runs the lifespan (the batcher)
        yield test_client


def digit_png(index: int = 0, scale: int = 20) -> bytes:
    """A scikit-learn digit drawn white on black, enlarged like a canvas drawing."""
    from sklearn.datasets import load_digits

    pixels = (load_digits().images[index] * (255 / 16)).astype(np.uint8)
    image = Image.fromarray(pixels).resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def expected(loaded: LoadedModel, x: torch.Tensor) -> tuple[int, np.ndarray]:
    with torch.no_grad():
        probs = torch.softmax(loaded.model(x), dim=1)[0].numpy()
    return int(probs.argmax()), probs


# ---- the endpoints -------------------------------------------------------------------------


def test_explain_image_answers_the_model_prediction_and_a_heatmap(
    client: TestClient, loaded: LoadedModel
) -> None:
    png = digit_png(0)
    response = client.post("/v1/explain/image", files={"file": ("digit.png", png, "image/png")})
    assert response.status_code == 200, response.text
    body = response.json()
    x = decode_image(png, loaded.input_shape, loaded.preprocessing)
    predicted, probs = expected(loaded, x)
    assert body["class"] == predicted == 0  # digit 0 of the dataset is a 0
    assert body["label"] == "0" and body["target"] == predicted
    np.testing.assert_allclose(body["probabilities"], probs, atol=1e-5)  # in class order
    assert body["method"] == "saliency"  # an MLP has no convolution to weigh
    heatmap = np.array(body["heatmap"])
    assert heatmap.shape == (8, 8)
    np.testing.assert_allclose(heatmap, explain(loaded.model, x).heatmap, atol=1e-4)
    assert '"heatmap":[[' in response.text.replace(" ", "")
    assert all(len(repr(v).partition(".")[2]) <= 4 for row in body["heatmap"] for v in row)


def test_explain_image_takes_a_raw_body_and_a_target(client: TestClient) -> None:
    response = client.post(
        "/v1/explain/image?target=7", content=digit_png(3), headers={"content-type": "image/png"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["target"] == 7 and response.json()["target_label"] == "7"


def test_explain_instance_matches_the_image_route(client: TestClient, loaded: LoadedModel) -> None:
    from sklearn.datasets import load_digits

    raw = load_digits().images[5]  # raw units 0..16, as the card's preprocessing expects
    response = client.post("/v1/explain", json={"instance": raw.tolist()})
    assert response.status_code == 200, response.text
    x = loaded.preprocessing.apply(torch.from_numpy(raw).reshape(1, 1, 8, 8))
    predicted, _ = expected(loaded, x)
    assert response.json()["class"] == predicted
    flat = client.post("/v1/explain", json={"instance": raw.flatten().tolist(), "target": 2})
    assert flat.status_code == 200 and flat.json()["target"] == 2


@pytest.mark.parametrize(
    ("kwargs", "status", "kind"),
    [
        (
            {"content": b"not json", "headers": {"content-type": "application/json"}},
            400,
            "invalid_json",
        ),
        ({"json": {"values": [1, 2]}}, 422, "validation_error"),
        ({"json": [[1, 2]]}, 422, "validation_error"),
        ({"json": {"instance": [1, 2], "extra": 1}}, 422, "validation_error"),
        ({"json": {"instance": [1.0] * 63}}, 422, "invalid_shape"),
        ({"json": {"instance": [[1.0, 2.0], [3.0]]}}, 422, "invalid_shape"),
        ({"json": {"instance": [True] * 64}}, 422, "invalid_type"),
        ({"json": {"instance": "zeros"}}, 422, "invalid_input"),
        ({"json": {"instance": [0.0] * 64, "target": 10}}, 422, "invalid_input"),
        ({"json": {"instance": [0.0] * 64, "target": "1"}}, 422, "invalid_input"),
        ({"content": '{"instance": [NaN' + ", 0" * 63 + "]}"}, 422, "invalid_value"),
    ],
)
def test_explain_instance_rejects_bad_input(
    client: TestClient, kwargs: dict, status: int, kind: str
) -> None:
    response = client.post("/v1/explain", **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == kind and error["message"]


@pytest.mark.parametrize(
    ("kwargs", "status", "kind"),
    [
        ({"files": {"file": ("x.png", b"\x89PNG broken", "image/png")}}, 400, "invalid_image"),
        ({"files": {"other": ("x.png", b"", "image/png")}}, 400, "invalid_image"),
        ({"files": {"note": (None, "a text field, no file")}}, 422, "validation_error"),
        ({"data": {"note": "a url-encoded form"}}, 415, "unsupported_media_type"),
        ({"json": {"image": "x"}}, 415, "unsupported_media_type"),
        ({"content": b"", "headers": {"content-type": "image/png"}}, 400, "invalid_image"),
        (
            {"content": b"\0" * (MAX_BODY_BYTES + 1), "headers": {"content-type": "image/png"}},
            413,
            "body_too_large",
        ),
    ],
)
def test_explain_image_rejects_bad_input(
    client: TestClient, kwargs: dict, status: int, kind: str
) -> None:
    response = client.post("/v1/explain/image", **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == kind


@pytest.mark.parametrize("query", ["?target=x", "?invert=maybe"])
def test_explain_image_rejects_bad_parameters(client: TestClient, query: str) -> None:
    response = client.post(
        f"/v1/explain/image{query}", content=digit_png(), headers={"content-type": "image/png"}
    )
    assert response.status_code == 422 and response.json()["error"]["type"] == "invalid_input"


class TinyCNN(nn.Module):
    """A convolutional classifier exposing ``gradcam_layer``. Shape: ``(B, 1, 8, 8)`` → ``(B, 3)``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.head = nn.Linear(4, 3)
        self.gradcam_layer = self.conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def test_a_convolutional_model_is_explained_with_gradcam() -> None:
    card = ModelCard("cnn", "classification", "digits", {}, [1, 8, 8], classes=["a", "b", "c"])
    with TestClient(app_for(LoadedModel(TinyCNN().eval(), card))) as test_client:
        response = test_client.post("/v1/explain", json={"instance": np.eye(8).tolist()})
    assert response.status_code == 200, response.text
    assert response.json()["method"] == "gradcam"
    assert np.array(response.json()["heatmap"]).shape == (8, 8)
    assert len(response.json()["probabilities"]) == 3
    assert response.json()["label"] in {"a", "b", "c"}


def test_a_model_that_does_not_classify_is_refused() -> None:
    card = ModelCard("autoencoder", "reconstruction", "digits", {}, [1, 8, 8])
    with TestClient(app_for(LoadedModel(nn.Identity(), card))) as test_client:
        response = test_client.post("/v1/explain", json={"instance": [0.0] * 64})
    assert response.status_code == 400
    assert "not a classifier" in response.json()["error"]["message"]


def test_the_page_and_its_static_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<canvas id="draw"' in page.text
    for name, kind in [("app.js", "javascript"), ("style.css", "text/css")]:
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and kind in asset.headers["content-type"]
        assert f"static/{name}" in page.text
    assert client.get("/static/../page.py").status_code == 404


# ---- the page in a real browser ------------------------------------------------------------


@contextmanager
def uvicorn_server(app: FastAPI) -> Iterator[str]:
    """A real uvicorn server on a free local port, in a thread."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def server_url(model_dir: Path) -> Iterator[str]:
    with uvicorn_server(
        create_app(ServeConfig(source=ModelSource(model_dir=str(model_dir))))
    ) as url:
        yield url


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs the Debian package chromium: apt-get install -y chromium"
)
def test_drawing_a_digit_in_chromium_shows_prediction_and_heatmap(
    server_url: str, loaded: LoadedModel, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 720})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server_url + "/")
            page.wait_for_function(
                "!document.getElementById('model-info').textContent.startsWith('loading')"
            )
            info = page.text_content("#model-info") or ""
            assert "mlp" in info and loaded.run_id in info and "accuracy" in info

            # A one: a single vertical stroke down the middle of the canvas.
            box = page.locator("#draw").bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + 0.52 * box["width"], box["y"] + 0.15 * box["height"])
            page.mouse.down()
            for step in range(1, 11):
                page.mouse.move(
                    box["x"] + (0.52 - 0.01 * step) * box["width"],
                    box["y"] + (0.15 + 0.07 * step) * box["height"],
                )
            page.mouse.up()
            page.click("#predict")
            page.wait_for_function("['done', 'error'].includes(document.body.dataset.state)")
            assert page.evaluate("document.body.dataset.state") == "done", page.text_content(
                "#status"
            )

            # What the page shows is what the model says about the canvas it sent.
            data_url = page.evaluate("document.getElementById('draw').toDataURL('image/png')")
            png = base64.b64decode(data_url.split(",", 1)[1])
            drawn = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
            assert drawn.max() == 255 and (drawn > 0).mean() < 0.2  # white strokes on black
            x = decode_image(png, loaded.input_shape, loaded.preprocessing)
            predicted, probs = expected(loaded, x)
            assert page.text_content("#prediction-label") == loaded.classes[predicted]
            shown = page.eval_on_selector_all(
                "#probabilities .bar-row",
                "rows => rows.map(r => [r.dataset.label, Number(r.dataset.probability)])",
            )
            assert [label for label, _ in shown] == loaded.classes
            np.testing.assert_allclose([p for _, p in shown], probs, atol=1e-4)
            assert "saliency" in (page.text_content("#method") or "")

            # The heatmap canvas holds the input with coloured evidence laid over it.
            heat_url = page.evaluate("document.getElementById('heatmap').toDataURL('image/png')")
            heat = np.asarray(Image.open(io.BytesIO(base64.b64decode(heat_url.split(",", 1)[1]))))
            colour_spread = heat[..., :3].astype(int).max(axis=2) - heat[..., :3].min(axis=2)
            assert (colour_spread > 40).mean() > 0.2  # a coloured overlay, not the grey input
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
            assert (tmp_path / "page.png").stat().st_size > 10_000
            assert not errors, errors
        finally:
            browser.close()


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs the Debian package chromium: apt-get install -y chromium"
)
def test_an_upload_that_is_not_an_image_shows_an_error(server_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    bad = tmp_path / "notes.png"
    bad.write_text(json.dumps({"not": "an image"}))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(server_url + "/")
            page.set_input_files("#upload", str(bad))
            page.wait_for_function("document.getElementById('status').textContent !== ''")
            assert "not an image" in (page.text_content("#status") or "")
            assert "error" in (page.get_attribute("#status", "class") or "")
        finally:
            browser.close()


def open_page(playwright, url: str):  # type: ignore[no-untyped-def]
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    page = browser.new_page()
    page.goto(url + "/")
    page.wait_for_function(
        "!document.getElementById('model-info').textContent.startsWith('loading')"
    )
    return browser, page


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs the Debian package chromium: apt-get install -y chromium"
)
def test_a_text_model_gets_a_text_box(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from serving_helpers import save_text_classifier

    from profond.inference.predictor import Predictor

    folder = save_text_classifier(tmp_path / "text")
    predictor = Predictor(load_model(folder))
    want = predictor.predict(predictor.prepare_texts(["the cat sat"], 1))[0]
    app = create_app(ServeConfig(source=ModelSource(model_dir=str(folder))))
    with uvicorn_server(app) as url, sync_playwright() as playwright:
        browser, page = open_page(playwright, url)
        try:
            assert page.is_visible("#text") and not page.is_visible("#draw")
            assert not page.is_visible("#heatmap")  # no explanation for a text model
            page.fill("#text", "the cat sat")
            page.click("#predict-text")
            page.wait_for_function("['done', 'error'].includes(document.body.dataset.state)")
            assert page.evaluate("document.body.dataset.state") == "done"
            assert page.text_content("#prediction-label") == want["label"]
            shown = page.eval_on_selector_all(
                "#probabilities .bar-row", "rows => rows.map(r => Number(r.dataset.probability))"
            )
            np.testing.assert_allclose(shown, want["probabilities"], atol=1e-6)
        finally:
            browser.close()


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs the Debian package chromium: apt-get install -y chromium"
)
def test_a_forecaster_gets_a_series_box_and_answers_in_series_units(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from serving_helpers import WINDOW, save_forecaster

    from profond.inference.predictor import Predictor

    folder = save_forecaster(tmp_path / "forecaster")
    values = [float(v) for v in 80 + 60 * np.sin(np.arange(WINDOW) / 3)]
    predictor = Predictor(load_model(folder))
    want = predictor.predict(predictor.prepare_rows([values], 1))[0]["forecast"]
    app = create_app(ServeConfig(source=ModelSource(model_dir=str(folder))))
    with uvicorn_server(app) as url, sync_playwright() as playwright:
        browser, page = open_page(playwright, url)
        try:
            assert page.is_visible("#series") and not page.is_visible("#draw")
            assert page.text_content("#window-size") == str(WINDOW)
            page.fill("#series", ", ".join(f"{v:.17g}" for v in values))
            page.click("#predict-series")
            page.wait_for_function("['done', 'error'].includes(document.body.dataset.state)")
            assert page.evaluate("document.body.dataset.state") == "done"
            shown = page.eval_on_selector_all(
                "#forecast li", "items => items.map(i => Number(i.dataset.value))"
            )
            np.testing.assert_allclose(shown, want, rtol=1e-6)
            assert min(shown) > 5  # series units (tens of sunspots), not scaled values near 0
        finally:
            browser.close()
