"""The segmentation task: IoU arithmetic, metrics, mask summaries, and a U-Net trained end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.inference.inputs import prepare_input
from profond.models import get_family, make_config
from profond.models.saved import ModelCard
from profond.train.config import TrainConfig
from profond.train.tasks.segmentation import SegmentationTask, confusion_matrix, iou_per_class
from profond.train.trainer import Trainer


def test_iou_by_hand() -> None:
    y = torch.tensor([[[0, 0, 1, 1]]])
    y_hat = torch.tensor([[[0, 1, 1, 1]]])
    matrix = confusion_matrix(y_hat, y, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    iou = iou_per_class(matrix)
    assert iou[0].item() == pytest.approx(1 / 2) and iou[1].item() == pytest.approx(2 / 3)
    assert math.isnan(iou[2].item())  # absent class: left out of the mean


class Oracle(torch.nn.Module):
    """Returns fixed logits: one-hot of a given mask (a perfect or a chosen predictor)."""

    def __init__(self, masks: torch.Tensor, num_classes: int) -> None:
        super().__init__()
        self.masks, self.num_classes = masks, num_classes
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        onehot = torch.nn.functional.one_hot(self.masks[: len(x)], self.num_classes)
        return onehot.permute(0, 3, 1, 2).float() * 10  # (B, K, H, W)


def test_evaluate_perfect_and_wrong_predictions() -> None:
    bundle = load_dataset("shapes", DataOptions(limit=40))
    task = SegmentationTask(bundle)
    perfect = task.evaluate(Oracle(bundle.y_val, 4), bundle.x_val, bundle.y_val, batch_size=100)
    assert perfect["miou"] == 1.0 and perfect["pixel_accuracy"] == 1.0 and perfect["loss"] < 1e-3
    background = task.evaluate(
        Oracle(torch.zeros_like(bundle.y_val), 4), bundle.x_val, bundle.y_val, 100
    )
    share = float((bundle.y_val == 0).float().mean())
    assert background["pixel_accuracy"] == pytest.approx(share)
    assert background["miou"] == pytest.approx(share / 4)  # 3 shape classes have IoU 0


def test_unet_learns_shapes_through_the_trainer(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PROFOND_HOME", str(tmp_path / "home"))
    bundle = load_dataset("shapes", DataOptions(limit=96))
    bundle.x_test, bundle.y_test = bundle.x_test[:100], bundle.y_test[:100]
    family = get_family("unet")
    config = make_config(family, family.data_fields(bundle), {"base_channels": "8"})
    torch.manual_seed(0)
    model = family.module_class(config)
    task = SegmentationTask(bundle)
    before = task.evaluate(model.eval(), bundle.x_test, bundle.y_test, 50)
    result = Trainer(TrainConfig(epochs=5, batch_size=8, lr=1e-2), figures_dir=tmp_path).fit(
        model, task, bundle
    )
    assert result.test_metrics["test_loss"] < before["loss"] / 2
    assert result.test_metrics["test_miou"] > before["miou"]
    assert any(p.name == "masks.png" for p in result.figures)


def test_predict_from_an_image_file(tmp_path: Path) -> None:
    card = ModelCard(
        family="unet", task="segmentation", data="shapes", config={}, input_shape=[1, 32, 32],
        classes=["background", "circle", "square", "triangle"],
        preprocessing={"raw_max": 255.0, "normalization": "minmax", "mean": 0.0, "std": 1.0},
    )  # fmt: skip
    pixels = np.zeros((64, 64), dtype=np.uint8)
    pixels[10:30, 10:30] = 255
    Image.fromarray(pixels).save(tmp_path / "square.png")
    x = prepare_input(SegmentationTask, str(tmp_path / "square.png"), card)
    assert x.shape == (1, 1, 32, 32) and float(x.max()) == pytest.approx(1.0)
    logits = torch.zeros(1, 4, 32, 32)
    logits[0, 2] = (x[0, 0] > 0.5).float() * 5  # call bright pixels "square"
    (result,) = SegmentationTask.format_prediction(logits, card)
    assert result["present"] == ["square"]
    assert result["pixel_fraction"]["square"] == pytest.approx(100 / 1024, abs=0.02)
    assert np.array(result["mask"]).shape == (32, 32)
    with pytest.raises(ProfondError, match="not found"):
        prepare_input(SegmentationTask, str(tmp_path / "missing.png"), card)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ProfondError, match="PNG or JPEG"):
        prepare_input(SegmentationTask, str(tmp_path / "bad.png"), card)
