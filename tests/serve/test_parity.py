"""Every family that predicts answers the same, in the same units, through ``predict_run``
(``profond predict``), ``/v1/predict`` on torch and on onnx, the page's endpoint and the MLflow
pyfunc model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from serving_helpers import WINDOW, digits_split, save_forecaster, save_text_classifier

from profond.data.preprocess import Preprocessing
from profond.inference import predict_run
from profond.inference.pyfunc import save_pyfunc_model
from profond.models import build_model
from profond.models.cnn import CNNConfig
from profond.models.mlp import MLPConfig
from profond.models.saved import ModelCard, save_model
from profond.models.unet import UNetConfig
from profond.serve.app import create_app
from profond.serve.config import ModelSource, ServeConfig
from profond.track.runs import MODEL_ARTIFACT
from profond.track.store import client

DIGITS = Preprocessing(raw_max=16.0, normalization="standard", mean=0.3, std=0.4)


def _image_classifier(
    family: str, config: Any, extra: dict[str, Any] | None = None
) -> Callable[[Path], Path]:
    def save(folder: Path) -> Path:
        torch.manual_seed(0)
        card = ModelCard(
            family=family,
            task="classification",
            data="digits",
            config=asdict(config),
            input_shape=[1, 8, 8],
            classes=[f"digit {i}" for i in range(10)],
            preprocessing=DIGITS.to_dict(),
            extra=extra or {},
        )
        return save_model(folder, build_model(family, config), card)

    return save


def _segmenter(folder: Path) -> Path:
    torch.manual_seed(0)
    config = UNetConfig(image_size=(16, 16), num_classes=3, base_channels=4, depth=2)
    card = ModelCard(
        family="unet",
        task="segmentation",
        data="shapes",
        config=asdict(config),
        input_shape=[1, 16, 16],
        classes=["background", "circle", "square"],
        preprocessing=Preprocessing(raw_max=255.0).to_dict(),
    )
    return save_model(folder, build_model("unet", config), card)


def _digit_rows(n: int) -> np.ndarray:
    return digits_split()["x_test"][:n]  # raw 0..16, (n, 8, 8)


def _windows(n: int) -> np.ndarray:
    start = np.arange(n)[:, None] + np.arange(WINDOW)[None, :]
    return (80 + 60 * np.sin(start / 5)).astype(np.float32)  # raw sunspot-like counts


FAMILIES: dict[str, tuple[Callable[[Path], Path], Callable[[int], Any]]] = {
    "mlp": (_image_classifier("mlp", MLPConfig(64, 10, (16,))), _digit_rows),
    "cnn": (
        _image_classifier("cnn", CNNConfig(1, (8, 8), 10, (4,), hidden_size=16)),
        _digit_rows,
    ),
    # trained and tested with --tta flip: every entry point averages over the mirror image too
    "cnn_tta": (
        _image_classifier("cnn", CNNConfig(1, (8, 8), 10, (4,), hidden_size=16), {"tta": "flip"}),
        _digit_rows,
    ),
    "lstm": (save_forecaster, _windows),
    "transformer": (save_text_classifier, lambda n: ["the cat sat", "dog ran", "the dog"][:n]),
    "unet": (
        _segmenter,
        lambda n: np.random.default_rng(0).integers(0, 256, (n, 1, 16, 16)).astype(np.float32),
    ),
}


def _tracked_run(folder: Path, tmp_path: Path) -> tuple[str, str]:
    """A real MLflow run holding the saved model, as training leaves it. Returns (id, uri)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow_client = client(uri)
    experiment = mlflow_client.create_experiment("parity", artifact_location=str(tmp_path / "a"))
    run_id = mlflow_client.create_run(experiment).info.run_id
    mlflow_client.log_artifacts(run_id, str(folder), MODEL_ARTIFACT)
    mlflow_client.set_terminated(run_id)
    return run_id, uri


def _served(folder: Path, runtime: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    config = ServeConfig(source=ModelSource(model_dir=str(folder)), runtime=runtime)
    with TestClient(create_app(config)) as test_client:
        response = test_client.post("/v1/predict", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["model"]["runtime"] == runtime
        return response.json()["predictions"]


def _body(inputs: Any) -> dict[str, Any]:
    if isinstance(inputs, list):
        return {"texts": inputs}
    return {"instances": inputs.tolist()}


def _close(a: list[dict[str, Any]], b: list[dict[str, Any]], atol: float) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for key in x:
            if isinstance(x[key], (str, int)) and key != "probabilities":
                assert x[key] == y[key], key
            elif key != "pixel_fraction":
                np.testing.assert_allclose(x[key], y[key], atol=atol, err_msg=key)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_entry_point_gives_the_same_answer(family: str, tmp_path: Path) -> None:
    save, make_inputs = FAMILIES[family]
    folder = save(tmp_path / "model")
    inputs = make_inputs(3)
    if isinstance(inputs, list):
        sources = inputs  # a text model is given texts
    else:
        np.save(tmp_path / "inputs.npy", inputs)
        sources = [str(tmp_path / "inputs.npy")]
    run_id, uri = _tracked_run(folder, tmp_path)
    from_cli = [
        {k: v for k, v in p.items() if k != "input"} for p in predict_run(run_id, sources, uri)
    ]

    torch_answer = _served(folder, "torch", _body(inputs))
    if family == "transformer":
        # predict takes one text per source (a batch of 1), the request a batch of 3: padding
        # changes the attention kernels' summation order by an ulp, seen in the 6th decimal.
        _close(torch_answer, from_cli, atol=2e-6)
    else:
        assert torch_answer == from_cli  # identical: same runtime, same formatter
    onnx_answer = _served(folder, "onnx", _body(inputs))
    _close(onnx_answer, from_cli, atol=1e-5)

    if family == "lstm":  # in the series' units, not the scaled ones the model computes in
        assert min(v for p in from_cli for v in p["forecast"]) > 5
    config = ServeConfig(source=ModelSource(model_dir=str(folder)))
    with TestClient(create_app(config)) as test_client:
        explainable = test_client.get("/v1/model").json()["explainable"]
        assert explainable == (family in ("mlp", "cnn", "cnn_tta"))
        if explainable:  # the page's endpoint: the same prediction, plus its explanation
            for row, want in zip(inputs, from_cli, strict=True):
                answer = test_client.post("/v1/explain", json={"instance": row.tolist()}).json()
                if family == "cnn_tta":  # a batch of 1 against 3: the average rounds an ulp apart
                    _close([{k: answer[k] for k in want}], [want], atol=2e-6)
                else:
                    assert {k: answer[k] for k in want} == want


def test_a_model_tested_with_flip_tta_answers_with_the_averaged_probabilities(tmp_path: Path):
    save, make_inputs = FAMILIES["cnn_tta"]
    folder = save(tmp_path / "model")
    rows = make_inputs(3)
    np.save(tmp_path / "inputs.npy", rows)
    run_id, uri = _tracked_run(folder, tmp_path)
    answer = predict_run(run_id, [str(tmp_path / "inputs.npy")], uri)
    from profond.models.saved import load_model

    loaded = load_model(folder)
    x = loaded.preprocessing.apply(torch.from_numpy(rows.astype(np.float32))).reshape(3, 1, 8, 8)
    with torch.no_grad():
        probs = (loaded.model(x).softmax(1) + loaded.model(x.flip(-1)).softmax(1)) / 2
        plain = loaded.model(x).softmax(1)
    got = np.array([p["probabilities"] for p in answer])
    np.testing.assert_allclose(got, probs.numpy(), atol=1e-5)
    assert np.abs(got - plain.numpy()).max() > 1e-3  # the flip changed the answer


@pytest.mark.parametrize("family", ["mlp", "cnn", "cnn_tta", "lstm"])
def test_the_mlflow_pyfunc_model_agrees_with_the_server(family: str, tmp_path: Path) -> None:
    save, make_inputs = FAMILIES[family]
    folder = save(tmp_path / "model")
    inputs = make_inputs(100) if family != "lstm" else _windows(100)
    assert len(inputs) == 100
    served = _served(folder, "torch", _body(inputs))
    pyfunc = mlflow.pyfunc.load_model(str(save_pyfunc_model(folder, tmp_path / "mlflow_model")))
    answer = pyfunc.predict(inputs).to_dict(orient="records")  # raw inputs, as the server's
    assert answer == served
