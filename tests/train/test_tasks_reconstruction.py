"""The reconstruction task: MSE metrics, denoising loss, figures, predict refusal, Trainer run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from profond.data.bundle import DataBundle
from profond.errors import ProfondError
from profond.inference.inputs import prepare_input
from profond.models import get_family, make_config
from profond.models.autoencoder import Autoencoder, AutoencoderConfig
from profond.models.saved import ModelCard
from profond.train.config import TrainConfig
from profond.train.tasks import task_class
from profond.train.tasks.reconstruction import ReconstructionTask
from profond.train.trainer import Trainer


def blob_bundle(n: int = 96) -> DataBundle:
    """12x12 images of four blobs of random brightness, labelled by the brightest blob."""
    g = torch.Generator().manual_seed(0)
    levels = torch.rand(n + 64, 4, generator=g)
    x = torch.zeros(n + 64, 1, 12, 12)
    for k, (r, c) in enumerate([(0, 0), (0, 6), (6, 0), (6, 6)]):
        x[:, 0, r : r + 6, c : c + 6] = levels[:, k, None, None]
    y = levels.argmax(1)
    return DataBundle(
        name="blobs", task="classification",
        x_train=x[:n], y_train=y[:n], x_val=x[n : n + 32], y_val=y[n : n + 32],
        x_test=x[n + 32 :], y_test=y[n + 32 :], input_shape=(1, 12, 12), classes=list("abcd"),
    )  # fmt: skip


def test_evaluate_is_the_mean_squared_error() -> None:
    bundle = blob_bundle()
    model = Autoencoder(AutoencoderConfig(image_size=(12, 12), latent_size=4)).eval()
    metrics = ReconstructionTask(bundle).evaluate(model, bundle.x_val, bundle.y_val, batch_size=7)
    with torch.no_grad():
        expected = torch.mean((model(bundle.x_val) - bundle.x_val) ** 2).item()
    assert metrics["mse"] == pytest.approx(expected, rel=1e-5)
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5)  # no noise: loss is the MSE


def test_denoising_loss_uses_noisy_inputs_and_clean_targets() -> None:
    bundle = blob_bundle()
    model = Autoencoder(AutoencoderConfig(image_size=(12, 12), noise_std=0.5)).eval()
    task = ReconstructionTask(bundle)
    metrics = task.evaluate(model, bundle.x_val, bundle.y_val, batch_size=32)
    assert metrics["loss"] != pytest.approx(metrics["mse"])
    assert task.evaluate(model, bundle.x_val, bundle.y_val, batch_size=32) == metrics  # fixed noise


def test_trainer_lowers_the_error_and_writes_figures(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PROFOND_HOME", str(tmp_path / "home"))
    bundle = blob_bundle()
    family = get_family("autoencoder")
    assert family.task == "reconstruction" and task_class(family.task) is ReconstructionTask
    config = make_config(
        family, family.data_fields(bundle), {"latent_size": "8", "noise_std": "0.1"}
    )
    torch.manual_seed(0)
    model = family.module_class(config)
    task = ReconstructionTask(bundle)
    before = task.evaluate(model.eval(), bundle.x_test, bundle.y_test, 32)["mse"]
    trainer = Trainer(TrainConfig(epochs=8, batch_size=16, lr=1e-2), figures_dir=tmp_path / "figs")
    result = trainer.fit(model, task, bundle)
    assert result.test_metrics["test_mse"] < before / 3
    names = {p.name for p in result.figures}
    assert {"reconstructions.png", "denoising.png", "latent.png"} <= names
    assert all(p.stat().st_size > 1000 for p in result.figures)


def test_predict_does_not_apply() -> None:
    card = ModelCard(
        family="autoencoder",
        task="reconstruction",
        data="fashion-mnist",
        config={},
        input_shape=[1, 28, 28],
    )
    with pytest.raises(ProfondError, match="predict does not apply"):
        prepare_input(ReconstructionTask, "image.png", card)
