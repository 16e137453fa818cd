"""Adversarial training through the Trainer: the wrapped task, and what it buys under attack."""

from __future__ import annotations

import pytest
import torch

from profond.data.registry import DataOptions, get_dataset
from profond.errors import ProfondError
from profond.models import build_model
from profond.robust.adversarial import AdversarialTask, make_adversarial
from profond.robust.attacks import accuracy_under_attack, input_bounds
from profond.train.config import TrainConfig
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


def train(adversarial: str | None) -> tuple[torch.nn.Module, object]:
    bundle = get_dataset("digits").load(DataOptions(download=False))
    torch.manual_seed(0)
    model = build_model("mlp", {"in_features": 64, "hidden_sizes": [64]})
    task = make_adversarial(ClassificationTask(bundle), adversarial, eps=0.1, mix=0.5)
    Trainer(TrainConfig(epochs=8, lr=1e-2, device="cpu")).fit(model, task, bundle)
    return model.eval(), bundle


def test_adversarial_training_makes_fgsm_less_damaging() -> None:
    plain, bundle = train(None)
    robust, _ = train("fgsm")
    bounds = input_bounds(bundle.x_train)
    x, y = bundle.x_test, bundle.y_test
    before = accuracy_under_attack(plain, x, y, "fgsm", [0.0, 0.1], bounds=bounds)
    after = accuracy_under_attack(robust, x, y, "fgsm", [0.0, 0.1], bounds=bounds)
    assert after[0.1] > before[0.1] + 0.1
    assert after[0.0] > 0.8  # still a good classifier on clean inputs


def test_the_wrapper_keeps_the_task_interface() -> None:
    bundle = get_dataset("digits").load(DataOptions(download=False))
    inner = ClassificationTask(bundle)
    task = make_adversarial(inner, "pgd", eps=0.05, steps=2)
    assert isinstance(task, AdversarialTask)
    assert task.monitor == inner.monitor and task.name == "classification"
    assert task.predict_proba is not None  # read through from the wrapped task
    assert make_adversarial(inner, None) is inner
    with pytest.raises(ProfondError):
        make_adversarial(inner, "fgsm", mix=2.0)
    with pytest.raises(ProfondError):
        make_adversarial(inner, "deepfool")


def test_the_wrapper_says_what_its_task_says():
    """Main metric, output kind and what applies come from the wrapped task, not Task's defaults."""
    from profond.data.registry import DataOptions, get_dataset
    from profond.robust.adversarial import make_adversarial
    from profond.train.tasks import task_class

    data = get_dataset("digits").load(DataOptions(limit=64))
    inner = task_class("classification")(data)
    wrapped = make_adversarial(inner, "fgsm", eps=0.1)
    for attribute in ("main_metric", "output_kind", "supports_drift", "supports_gradcam",
                      "predict_input", "monitor"):  # fmt: skip
        assert getattr(wrapped, attribute) == getattr(inner, attribute), attribute
    assert wrapped.main_metric == "test_accuracy"
