"""Models other than image classifiers: a forecaster answers forecasts, a text classifier takes
texts, and both run on the ONNX runtime too."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import torch
from serving_helpers import (
    SERIES_SCALING,
    WINDOW,
    make_config,
    running_server,
    save_forecaster,
    save_text_classifier,
)

from profond.models.saved import load_model


@pytest.fixture(scope="module")
def forecaster_dir(tmp_path_factory: pytest.TempPathFactory):
    return save_forecaster(tmp_path_factory.mktemp("f") / "m")


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory: pytest.TempPathFactory):
    return save_text_classifier(tmp_path_factory.mktemp("t") / "m")


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_a_forecaster_answers_forecasts(forecaster_dir, runtime: str) -> None:
    loaded = load_model(forecaster_dir)
    # Raw series values (sunspot-like counts), scaled by the server as in training.
    windows = (80 + 60 * np.sin(np.arange(2 * WINDOW) / 3)).reshape(2, WINDOW).astype(np.float32)
    x = SERIES_SCALING.apply(torch.from_numpy(windows)).reshape(2, WINDOW, 1)
    with torch.no_grad():
        scaled = loaded.model(x).double()
    expected = SERIES_SCALING.invert(scaled).numpy()  # back in the series' units
    assert np.abs(expected - scaled.numpy()).min() > 1  # units matter: not the scaled output
    with running_server(make_config(forecaster_dir, runtime=runtime)) as url:
        response = httpx.post(f"{url}/v1/predict", json={"instances": windows.tolist()})
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        forecasts = [p["forecast"] for p in predictions]  # series units (no scaling here)
        np.testing.assert_allclose(forecasts, expected, atol=1e-5)
        assert all(p["horizon"] == 3 and p["unit"] == "sunspots" for p in predictions)
        short = httpx.post(f"{url}/v1/predict", json={"instances": [[1.0, 2.0]]})
        assert short.status_code == 422 and "12 numbers" in short.json()["error"]["message"]


def test_a_text_classifier_takes_texts(text_dir) -> None:
    with running_server(make_config(text_dir)) as url:
        response = httpx.post(f"{url}/v1/predict", json={"texts": ["the cat sat", "dog ran"]})
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert len(predictions) == 2 and predictions[0]["label"] in ("a", "b")
        empty = httpx.post(f"{url}/v1/predict", json={"texts": [""]})
        assert empty.status_code == 422 and empty.json()["error"]["type"] == "invalid_text"
