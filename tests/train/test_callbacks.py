"""The trainer's own callbacks (early stopping, checkpoints), threads and the optimizer table."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.models import build_model
from profond.train.checkpoint import load_checkpoint
from profond.train.config import OPTIMIZERS, TrainConfig
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", DataOptions(limit=300, seed=0))


def _mlp(bundle):
    torch.manual_seed(0)
    return build_model("mlp", {"in_features": 64, "num_classes": 10, "hidden_sizes": (16,)})


def test_killed_checkpoint_writes_leave_no_temporary_files(digits, tmp_path):
    path = tmp_path / "last.pt"
    stale = tmp_path / ".last.pt.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    other = tmp_path / "notes.tmp"
    other.write_text("not ours")
    Trainer(TrainConfig(epochs=1, batch_size=64), checkpoint_path=path).fit(
        _mlp(digits), ClassificationTask(digits), digits
    )
    assert not stale.exists() and other.exists()
    assert load_checkpoint(path)["epoch"] == 1


def test_early_stopping_state_is_checkpointed_and_a_stopped_run_stays_stopped(digits, tmp_path):
    path = tmp_path / "last.pt"
    config = TrainConfig(epochs=30, batch_size=64, lr=0.5, optimizer="sgd", patience=1)
    first = Trainer(config, checkpoint_path=path).fit(
        _mlp(digits), ClassificationTask(digits), digits
    )
    assert first.stopped_early and first.epochs_run < 30
    saved = load_checkpoint(path)["callbacks"]["EarlyStopping"]
    assert saved["best_epoch"] == first.best_epoch and saved["best_weights"] is not None
    again = Trainer(config, checkpoint_path=path).fit(
        _mlp(digits), ClassificationTask(digits), digits, resume=True
    )
    assert again.epochs_run == first.epochs_run and again.stopped_early
    assert again.test_metrics == first.test_metrics


def test_small_models_train_on_one_thread_and_the_user_choice_wins(digits):
    before = torch.get_num_threads()
    trainer = Trainer(TrainConfig(epochs=1, batch_size=64))
    trainer.fit(_mlp(digits), ClassificationTask(digits), digits)
    assert trainer.threads == 1
    assert torch.get_num_threads() == before  # the process's setting is given back
    trainer = Trainer(TrainConfig(epochs=1, batch_size=64, threads=3))
    trainer.fit(_mlp(digits), ClassificationTask(digits), digits)
    assert trainer.threads == 3


def test_large_models_get_more_threads(monkeypatch):
    from profond.train import device

    monkeypatch.setattr(device, "available_cores", lambda: 16)
    small = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.Linear(32, 10)
    )
    large = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.Conv2d(64, 64, 3))
    assert device.auto_threads(small, torch.rand(1, 8, 8), 128) == 1
    assert device.step_flops(large, torch.rand(1, 3, 32, 32), 128) > 1e10
    assert device.auto_threads(large, torch.rand(1, 3, 32, 32), 128) == 16


def test_optimizers_come_from_one_table_and_an_unknown_name_is_an_error():
    from profond.train.optim import OPTIMIZER_TABLE, build_optimizer

    assert tuple(OPTIMIZER_TABLE) == OPTIMIZERS
    params = [torch.nn.Parameter(torch.zeros(2))]
    for name in OPTIMIZERS:
        assert isinstance(
            build_optimizer(params, TrainConfig(optimizer=name)), torch.optim.Optimizer
        )
    adam = build_optimizer(params, TrainConfig(betas=(0.5, 0.9)))
    assert adam.param_groups[0]["betas"] == (0.5, 0.9)
    config = TrainConfig()
    object.__setattr__(config, "optimizer", "lbfgs")  # past the config's own check
    with pytest.raises(ProfondError, match="unknown optimizer 'lbfgs'; choose one of: sgd, "):
        build_optimizer(params, config)


def test_augmentation_is_a_training_option_applied_by_the_trainer(digits):
    images = dataclasses.replace(
        digits,
        x_train=digits.x_train.reshape(-1, 1, 8, 8),
        x_val=digits.x_val.reshape(-1, 1, 8, 8),
        x_test=digits.x_test.reshape(-1, 1, 8, 8),
        input_shape=(1, 8, 8),
    )
    seen = []

    class Spy(ClassificationTask):
        def training_step(self, model, x, y):
            seen.append(x.clone())
            return super().training_step(model, x, y)

    config = TrainConfig(epochs=1, batch_size=512)
    Trainer(config).fit(_mlp(images), Spy(images), images)
    Trainer(dataclasses.replace(config, augment="shift_flip")).fit(
        _mlp(images), Spy(images), images
    )
    plain, augmented = seen
    assert plain.shape == augmented.shape == images.x_train.shape
    assert torch.allclose(plain.sum(0), images.x_train.sum(0))  # the same samples, shuffled
    assert not torch.equal(plain, augmented)  # same order, each image shifted or flipped
    with pytest.raises(ProfondError, match="unknown augmentation 'blur'"):
        Trainer(dataclasses.replace(config, augment="blur"))
