"""The trainer on real data (sklearn digits): learning, early stopping, divergence, penalties."""

import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.models import build_model
from profond.train.config import TrainConfig
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer, TrainingDiverged


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", DataOptions())


def _mlp(**kw):
    torch.manual_seed(0)
    return build_model("mlp", {"in_features": 64, "num_classes": 10, **kw})


def test_learns_digits(digits):
    result = Trainer(TrainConfig(epochs=15, batch_size=64, lr=3e-3)).fit(
        _mlp(), ClassificationTask(digits), digits
    )
    losses = result.history["train_loss"]
    assert losses[-1] < losses[0] / 4
    assert result.test_metrics["test_accuracy"] > 0.93
    assert {"val_loss", "val_accuracy", "val_f1_macro"} <= set(result.history)


def test_same_seed_same_numbers(digits):
    config = TrainConfig(epochs=2, batch_size=64, seed=3)
    a = Trainer(config).fit(_mlp(), ClassificationTask(digits), digits)
    b = Trainer(config).fit(_mlp(), ClassificationTask(digits), digits)
    assert a.history["train_loss"] == b.history["train_loss"]


def test_early_stopping_restores_the_best_epoch():
    # 120 training images and a wide network: validation loss turns up once it memorizes them
    small = load_dataset("digits", DataOptions(limit=150, val_fraction=0.2))
    config = TrainConfig(epochs=200, batch_size=32, lr=1e-2, patience=3, seed=1)
    model = _mlp(hidden_sizes=(512,), dropout=0.0)
    result = Trainer(config).fit(model, ClassificationTask(small), small)
    val = result.history["val_loss"]
    assert result.stopped_early
    assert result.best_epoch == min(range(len(val)), key=val.__getitem__)
    assert len(val) == result.best_epoch + 1 + 3
    best_loss = ClassificationTask(small).evaluate(model.eval(), small.x_val, small.y_val, 64)[
        "loss"
    ]
    assert best_loss == pytest.approx(val[result.best_epoch], rel=1e-5)


def test_divergence_stops_with_the_likely_cause(digits, tmp_path):
    config = TrainConfig(epochs=3, batch_size=64, optimizer="sgd", lr=1e6)
    trainer = Trainer(config, checkpoint_path=tmp_path / "last.pt")
    with pytest.raises(TrainingDiverged, match=r"learning rate \(1e\+06\) is probably too high"):
        trainer.fit(_mlp(dropout=0.0), ClassificationTask(digits), digits)


def test_l2_penalty_shrinks_weights(digits):
    plain = _mlp()
    Trainer(TrainConfig(epochs=3, batch_size=64)).fit(plain, ClassificationTask(digits), digits)
    penalized = _mlp()
    Trainer(TrainConfig(epochs=3, batch_size=64, l2=1e-2)).fit(
        penalized, ClassificationTask(digits), digits
    )

    def norm(model):
        return sum(float((p.detach() ** 2).sum()) for p in model.parameters() if p.ndim > 1)

    assert norm(penalized) < 0.8 * norm(plain)


def test_gradient_clipping_bounds_the_update(digits):
    model = _mlp(dropout=0.0)
    before = [p.detach().clone() for p in model.parameters()]
    config = TrainConfig(epochs=1, batch_size=2000, optimizer="sgd", lr=1.0, clip_grad_norm=1e-3)
    Trainer(config).fit(model, ClassificationTask(digits), digits)
    step = torch.sqrt(
        sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True))
    )
    assert float(step) <= 1e-3 + 1e-6  # one batch, one step of lr * clipped gradient


def test_balanced_class_weights(digits):
    task = ClassificationTask(digits)
    task.setup(TrainConfig(class_weights="balanced"), torch.device("cpu"))
    counts = torch.bincount(digits.y_train).double()
    assert task.class_weights is not None
    expected = counts.sum() / (10 * counts)
    torch.testing.assert_close(task.class_weights.double(), expected, rtol=1e-6, atol=1e-6)


def test_checkpoint_resume_matches_an_uninterrupted_run(digits, tmp_path):
    config = TrainConfig(epochs=4, batch_size=64, seed=5)
    full = _mlp()
    Trainer(config).fit(full, ClassificationTask(digits), digits)

    short = _mlp()
    path = tmp_path / "last.pt"
    Trainer(TrainConfig(epochs=4, batch_size=64, seed=5), checkpoint_path=path).fit(
        short, ClassificationTask(digits), digits
    )
    resumed = _mlp()
    # simulate a stop after epoch 2 by training 2 epochs with the same seed into the checkpoint
    Trainer(TrainConfig(epochs=2, batch_size=64, seed=5), checkpoint_path=path).fit(
        resumed, ClassificationTask(digits), digits
    )
    Trainer(config, checkpoint_path=path).fit(
        resumed, ClassificationTask(digits), digits, resume=True
    )
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_keys_a_callback_adds_to_the_logs_reach_the_history(digits):
    from profond.train.continual import GroupAccuracy

    groups = {"low": [0, 1, 2, 3, 4], "high": [5, 6, 7, 8, 9]}
    callback = GroupAccuracy(groups, digits.x_val, digits.y_val)
    result = Trainer(TrainConfig(epochs=3, batch_size=64), callbacks=[callback]).fit(
        _mlp(), ClassificationTask(digits), digits
    )
    low, high = result.history["val_low_accuracy"], result.history["val_high_accuracy"]
    assert len(low) == len(high) == 3
    # the two groups' accuracies bracket the overall one (a weighted mean of them)
    for lo, hi, overall in zip(low, high, result.history["val_accuracy"], strict=True):
        assert min(lo, hi) - 1e-6 <= overall <= max(lo, hi) + 1e-6
