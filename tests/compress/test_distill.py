"""Distillation: the loss is its formula, and a student learns from a teacher through the Trainer."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from profond.compress.distill import DistillationTask, distill, distillation_loss
from profond.data.registry import DataOptions, get_dataset
from profond.errors import ProfondError
from profond.models import build_model
from profond.train.config import TrainConfig
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


def test_loss_matches_its_formula() -> None:
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    y = torch.tensor([0, 1, 2, 3, 0])
    temperature, alpha = 3.0, 0.6
    p_t = torch.softmax(t / temperature, dim=1)
    log_p_s = torch.log_softmax(s / temperature, dim=1)
    kl = (p_t * (torch.log(p_t) - log_p_s)).sum(dim=1).mean()
    expected = alpha * temperature**2 * kl + (1 - alpha) * F.cross_entropy(s, y)
    assert distillation_loss(s, t, y, temperature, alpha).item() == pytest.approx(expected.item())
    assert distillation_loss(t, t, y, temperature, 1.0).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_loss(s, t, y, temperature, 0.0).item() == pytest.approx(
        F.cross_entropy(s, y).item()
    )


@pytest.mark.parametrize(("temperature", "alpha"), [(0.0, 0.5), (2.0, 1.5), (-1.0, 0.5)])
def test_bad_settings_are_one_clear_error(temperature: float, alpha: float) -> None:
    with pytest.raises(ProfondError):
        distillation_loss(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1).long(),
                          temperature, alpha)  # fmt: skip


def test_a_small_student_learns_from_a_teacher() -> None:
    bundle = get_dataset("digits").load(DataOptions(download=False))
    config = TrainConfig(epochs=10, lr=1e-2, device="cpu")
    torch.manual_seed(0)
    teacher = build_model("mlp", {"in_features": 64, "hidden_sizes": [64]})
    Trainer(config).fit(teacher, ClassificationTask(bundle), bundle)
    student = build_model("mlp", {"in_features": 64, "hidden_sizes": [8]})
    teacher_before = [p.clone() for p in teacher.parameters()]
    metrics = distill(teacher, student, bundle, config, temperature=4.0, alpha=0.7)
    assert metrics["test_accuracy"] > 0.6  # ten classes: chance is 0.1
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, teacher.parameters(), strict=True))
    assert isinstance(DistillationTask(bundle, teacher), ClassificationTask)
