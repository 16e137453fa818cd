"""Replay: a uniform buffer of fixed size, and what it does against forgetting."""

from __future__ import annotations

import pytest
import torch

from profond.data.registry import DataOptions, get_dataset
from profond.data.replay import ReplayBuffer, class_subset, fill_buffer, with_replay
from profond.errors import ProfondError
from profond.models import build_model
from profond.train.config import TrainConfig
from profond.train.continual import GroupAccuracy, group_accuracy
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer

OLD, NEW = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]


def test_reservoir_keeps_capacity_and_samples_uniformly() -> None:
    hits = torch.zeros(100)
    for seed in range(200):
        buffer = ReplayBuffer(10, seed)
        buffer.add(torch.arange(100.0)[:, None], torch.arange(100))
        x, y = buffer.tensors()
        assert len(buffer) == 10 and torch.equal(x[:, 0].long(), y)
        hits[y] += 1
    # each of the 100 items is kept with probability 0.1: 20 times in 200 draws on average
    assert hits[:50].sum() == pytest.approx(hits[50:].sum(), rel=0.25)
    assert hits.max() < 45
    with pytest.raises(ProfondError):
        ReplayBuffer(0)


def test_class_subset_keeps_the_label_space() -> None:
    bundle = get_dataset("digits").load(DataOptions(download=False))
    old = class_subset(bundle, OLD)
    assert set(old.y_train.tolist()) == set(OLD) and set(old.y_test.tolist()) == set(OLD)
    assert old.num_classes == 10
    with pytest.raises(ProfondError):
        class_subset(bundle, [12])


def test_replay_limits_forgetting() -> None:
    bundle = get_dataset("digits").load(DataOptions(download=False))
    old, new = class_subset(bundle, OLD), class_subset(bundle, NEW)
    config = TrainConfig(epochs=6, lr=1e-2, device="cpu")
    groups = {"old": torch.tensor(OLD), "new": torch.tensor(NEW)}

    def sequence(replay: int) -> dict[str, float]:
        torch.manual_seed(0)
        model = build_model("mlp", {"in_features": 64, "hidden_sizes": [64]})
        Trainer(config).fit(model, ClassificationTask(old), old)
        second = with_replay(new, fill_buffer(old, replay)) if replay else new
        tracker = GroupAccuracy({"old": OLD, "new": NEW}, bundle.x_test, bundle.y_test)
        logs: list[dict] = []

        class Keep(GroupAccuracy):
            def on_epoch_end(self, trainer, epoch, l):  # noqa: E741
                logs.append(dict(l))

        Trainer(config, callbacks=[tracker, Keep({}, bundle.x_test, bundle.y_test)]).fit(
            model, ClassificationTask(second), second
        )
        assert len(logs) == 6 and "val_old_accuracy" in logs[-1]
        return group_accuracy(model, bundle.x_test, bundle.y_test, groups)

    forgot, kept = sequence(0), sequence(200)
    assert forgot["old_accuracy"] < 0.3  # learning the new classes erased the old ones
    assert kept["old_accuracy"] > forgot["old_accuracy"] + 0.4
    assert kept["new_accuracy"] > 0.6  # and still learns the new ones
