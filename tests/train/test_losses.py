"""The focal loss against its formula, and as a task's training loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from profond.errors import ProfondError
from profond.train.losses import FocalLoss, focal_loss, with_focal_loss


def test_focal_loss_is_its_formula() -> None:
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(6, 4, generator=g), torch.tensor([0, 1, 2, 3, 1, 0])
    alpha = torch.tensor([0.25, 1.0, 2.0, 0.5])
    p_t = torch.softmax(logits, dim=1)[torch.arange(6), y]
    expected = -alpha[y] * (1 - p_t) ** 2 * torch.log(p_t)
    assert torch.allclose(focal_loss(logits, y, 2.0, alpha, "none"), expected)
    assert focal_loss(logits, y, 2.0, alpha).item() == pytest.approx(
        (expected.sum() / alpha[y].sum()).item()
    )
    # gamma = 0 is the (weighted) cross-entropy
    assert focal_loss(logits, y, 0.0, alpha).item() == pytest.approx(
        F.cross_entropy(logits, y, weight=alpha).item(), rel=1e-6
    )
    assert FocalLoss(2.0)(logits, y).item() == pytest.approx(focal_loss(logits, y).item())


def test_easy_samples_weigh_less_than_under_cross_entropy() -> None:
    logits = torch.tensor([[6.0, 0.0], [0.2, 0.0]])  # one easy, one hard sample of class 0
    y = torch.zeros(2, dtype=torch.long)
    ratio = focal_loss(logits, y, 2.0, reduction="none") / F.cross_entropy(
        logits, y, reduction="none"
    )
    assert ratio[0] < 1e-4 and ratio[1] > 0.2


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ProfondError):
        focal_loss(torch.zeros(1, 2), torch.zeros(1).long(), gamma=-1.0)
    with pytest.raises(ProfondError):
        with_focal_loss(object())


def test_a_task_trains_with_the_focal_loss() -> None:
    from profond.data.registry import DataOptions, get_dataset
    from profond.models import build_model
    from profond.train.config import TrainConfig
    from profond.train.tasks.classification import ClassificationTask
    from profond.train.trainer import Trainer

    bundle = get_dataset("digits").load(DataOptions(download=False))
    task = with_focal_loss(ClassificationTask(bundle), gamma=2.0)
    torch.manual_seed(0)
    model = build_model("mlp", {"in_features": 64, "hidden_sizes": [32]})
    x, y = bundle.x_train[:8], bundle.y_train[:8]
    model.eval()  # no dropout: both calls see the same function
    assert task.training_step(model, x, y).item() == pytest.approx(
        focal_loss(model(x), y, 2.0).item()
    )
    result = Trainer(TrainConfig(epochs=5, lr=1e-2, device="cpu")).fit(model, task, bundle)
    assert result.test_metrics["test_accuracy"] > 0.8
