import math

import pytest
import torch

from profond.errors import ProfondError
from profond.train.config import TrainConfig
from profond.train.optim import build_optimizer, lr_factor


def test_each_optimizer_is_the_torch_one():
    params = [torch.nn.Parameter(torch.zeros(3))]
    kinds = {
        "sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "nesterov": torch.optim.SGD,
        "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop,
    }  # fmt: skip
    for name, cls in kinds.items():
        opt = build_optimizer(params, TrainConfig(optimizer=name, lr=0.1))
        assert type(opt) is cls
    assert build_optimizer(params, TrainConfig(optimizer="nesterov")).param_groups[0]["nesterov"]


def test_schedules_are_functions_of_the_epoch():
    step = TrainConfig(schedule="step", step_size=2, gamma=0.5, epochs=6)
    assert [lr_factor(step, e) for e in range(6)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    cosine = TrainConfig(schedule="cosine", epochs=4)
    assert lr_factor(cosine, 0) == 1.0 and lr_factor(cosine, 4) == pytest.approx(0.0)
    assert lr_factor(cosine, 2) == pytest.approx(0.5)
    warm = TrainConfig(schedule="warmup_cosine", epochs=5, warmup_epochs=1)
    assert lr_factor(warm, 0.5) == pytest.approx(0.5)
    assert lr_factor(warm, 1) == pytest.approx(1.0)
    assert lr_factor(warm, 3) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -0.1}, "learning rate must be positive, got -0.1"),
        ({"optimizer": "adamax"}, "unknown optimizer 'adamax'; choose one of: sgd, momentum"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"schedule": "linear"}, "unknown schedule"),
    ],
)
def test_bad_configuration_is_named(kwargs, message):
    with pytest.raises(ProfondError, match=message):
        TrainConfig(**kwargs)
