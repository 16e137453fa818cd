"""FGSM and PGD against known results: the analytic step on a linear model, PGD ≥ FGSM."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from profond.data.registry import DataOptions, get_dataset
from profond.errors import ProfondError
from profond.robust.attacks import accuracy_under_attack, fgsm, input_bounds, pgd
from profond.train.config import TrainConfig
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


def linear_model(features: int = 20, classes: int = 2) -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(features, classes)


def test_fgsm_on_a_linear_model_is_the_analytic_sign_step() -> None:
    model = linear_model()
    x = torch.randn(8, 20, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 2, (8,), generator=torch.Generator().manual_seed(2))
    eps = 0.1
    adv = fgsm(model, x, y, eps)
    # d CE / dx = (softmax(Wx + b) - onehot(y)) W, computed by hand
    with torch.no_grad():
        p = torch.softmax(model(x), dim=1)
        grad = (p - F.one_hot(y, 2).float()) @ model.weight
    assert torch.equal(adv, x + eps * grad.sign())
    # ... and it moves the true-class margin by exactly eps * ||w_y - w_other||_1
    with torch.no_grad():
        margin = lambda v: model(v).gather(1, y[:, None]) - model(v).gather(1, 1 - y[:, None])  # noqa: E731
        w_diff = (model.weight[y] - model.weight[1 - y]).abs().sum(dim=1, keepdim=True)
        assert torch.allclose(margin(x) - margin(adv), eps * w_diff, atol=1e-5)


def test_attacks_stay_in_the_ball_and_the_bounds() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    x = torch.rand(10, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (10,))
    for adv in (fgsm(model, x, y, 0.3, bounds=(0, 1)),
                pgd(model, x, y, 0.3, steps=5, bounds=(0, 1))):  # fmt: skip
        assert (adv - x).abs().max() <= 0.3 + 1e-6
        assert adv.min() >= 0 and adv.max() <= 1
    assert torch.equal(fgsm(model, x, y, 0.0), x)
    assert all(p.grad is None for p in model.parameters())  # attacks leave parameters alone


@pytest.fixture(scope="module")
def digits_model() -> tuple[nn.Module, torch.Tensor, torch.Tensor, tuple[float, float]]:
    bundle = get_dataset("digits").load(DataOptions(download=False))
    torch.manual_seed(0)
    from profond.models import build_model

    model = build_model("mlp", {"in_features": 64, "hidden_sizes": [64]})
    Trainer(TrainConfig(epochs=8, lr=1e-2, device="cpu")).fit(
        model, ClassificationTask(bundle), bundle
    )
    return model.eval(), bundle.x_test, bundle.y_test, input_bounds(bundle.x_train)


def test_pgd_does_at_least_the_damage_of_fgsm(digits_model) -> None:
    model, x, y, bounds = digits_model
    eps = [0.0, 0.05, 0.1, 0.2]
    clean = accuracy_under_attack(model, x, y, "fgsm", [0.0], bounds=bounds)[0.0]
    f = accuracy_under_attack(model, x, y, "fgsm", eps, bounds=bounds)
    p = accuracy_under_attack(model, x, y, "pgd", eps, bounds=bounds, steps=10)
    assert clean > 0.85
    assert f[0.0] == p[0.0] == clean
    for e in eps[1:]:
        assert p[e] <= f[e] + 1e-9
    assert f[0.2] < f[0.05] < clean  # more budget, more damage
    assert p[0.2] < 0.2


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x, y: fgsm(m, x, y, -0.1),
        lambda m, x, y: pgd(m, x, y, 0.1, steps=0),
        lambda m, x, y: pgd(m, x, y, 0.1, alpha=0.0),
        lambda m, x, y: accuracy_under_attack(m, x, y, "cw", [0.1]),
    ],
)
def test_bad_settings_are_one_clear_error(call) -> None:
    with pytest.raises(ProfondError):
        call(linear_model(4), torch.zeros(2, 4), torch.zeros(2).long())
