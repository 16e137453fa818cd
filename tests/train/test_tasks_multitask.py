"""Multi-task classification: partial main labels, an auxiliary head, clear errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.models.mlp import MLP, MLPConfig
from profond.train.config import TrainConfig
from profond.train.tasks import task_class
from profond.train.tasks.multitask import UNLABELLED, MultitaskTask


def _parity_bundle(labelled: int):
    data = load_dataset("digits", DataOptions(limit=80))
    main = data.y_train.clone()
    main[labelled:] = UNLABELLED
    return dataclasses.replace(data, y_train=torch.stack([main, data.y_train % 2], dim=1))


def test_loss_is_main_over_labelled_plus_weighted_auxiliary() -> None:
    data = _parity_bundle(labelled=10)
    assert task_class("multitask") is MultitaskTask
    task = MultitaskTask(data)
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=64, hidden_sizes=(16,), dropout=0.0, aux_classes=2, aux_weight=0.5))  # fmt: skip
    x, y = data.x_train[:20], data.y_train[:20]  # 10 labelled, 10 not
    main = torch.nn.functional.cross_entropy(model(x)[:10], y[:10, 0])
    aux = torch.nn.functional.cross_entropy(model.aux_logits(x), y[:, 1])
    torch.testing.assert_close(task.training_step(model, x, y), main + 0.5 * aux)
    # a batch without any class label: only the auxiliary loss, finite
    only_aux = task.training_step(model, x[10:], y[10:])
    assert torch.isfinite(only_aux) and only_aux > 0
    # a model without a second head trains on the main loss alone
    plain = MLP(MLPConfig(in_features=64, hidden_sizes=(16,), dropout=0.0))
    torch.testing.assert_close(
        task.training_step(plain, x, y), torch.nn.functional.cross_entropy(plain(x)[:10], y[:10, 0])
    )


def test_auxiliary_loss_trains_the_shared_features() -> None:
    data = _parity_bundle(labelled=0)
    task = MultitaskTask(data)
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=64, hidden_sizes=(16,), dropout=0.0, aux_classes=2))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    x, y = data.x_train, data.y_train
    first = task.training_step(model, x, y).item()
    for _ in range(30):
        opt.zero_grad()
        task.training_step(model, x, y).backward()
        opt.step()
    assert task.training_step(model, x, y).item() < first / 2
    assert (model.aux_logits(x).argmax(1) == y[:, 1]).float().mean() > 0.9


def test_bad_targets_and_balanced_weights_fail_clearly() -> None:
    data = load_dataset("digits", DataOptions(limit=40))
    with pytest.raises(ProfondError, match=r"shape \(N, 2\)"):
        MultitaskTask(data)
    task = MultitaskTask(_parity_bundle(labelled=5))
    with pytest.raises(ProfondError, match="balanced"):
        task.setup(TrainConfig(class_weights="balanced"), torch.device("cpu"))
