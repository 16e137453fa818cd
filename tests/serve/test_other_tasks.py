"""Models other than image classifiers: a forecaster answers forecasts, a text classifier takes
texts, and both run on the ONNX runtime too."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import torch
from serving_helpers import make_config, running_server

from profond.data.preprocess import Preprocessing
from profond.models import build_model
from profond.models.saved import ModelCard, load_model, save_model

WINDOW = 12


@pytest.fixture(scope="module")
def forecaster_dir(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    config = {"input_size": 1, "horizon": 3, "hidden_size": 8, "num_layers": 1}
    card = ModelCard(
        family="lstm",
        task="forecasting",
        data="series",
        config=config,
        input_shape=[WINDOW, 1],
        preprocessing=Preprocessing(normalization="none").to_dict(),
        run_id="forecast",
    )
    return save_model(tmp_path_factory.mktemp("f") / "m", build_model("lstm", config), card)


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    vocab = ["<pad>", "<unk>", "the", "cat", "sat", "dog", "ran"]
    config = {"vocab_size": len(vocab), "num_classes": 2, "max_len": 8, "d_model": 16}
    config |= {"num_heads": 2, "num_layers": 1, "dim_feedforward": 16}
    card = ModelCard(
        family="transformer",
        task="classification",
        data="fortunes",
        config=config,
        input_shape=[8],
        classes=["a", "b"],
        preprocessing=Preprocessing(normalization="none").to_dict(),
        run_id="text",
        extra={"vocab": vocab, "max_len": 8, "tokenizer": "words"},
    )
    return save_model(tmp_path_factory.mktemp("t") / "m", build_model("transformer", config), card)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_a_forecaster_answers_forecasts(forecaster_dir, runtime: str) -> None:
    loaded = load_model(forecaster_dir)
    windows = np.sin(np.arange(2 * WINDOW) / 3).reshape(2, WINDOW).astype(np.float32)
    with torch.no_grad():
        expected = loaded.model(torch.from_numpy(windows).reshape(2, WINDOW, 1)).numpy()
    with running_server(make_config(forecaster_dir, runtime=runtime)) as url:
        response = httpx.post(f"{url}/v1/predict", json={"instances": windows.tolist()})
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        forecasts = [p["forecast"] for p in predictions]  # series units (no scaling here)
        np.testing.assert_allclose(forecasts, expected, atol=1e-5)
        assert all(p["horizon"] == 3 for p in predictions)
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
