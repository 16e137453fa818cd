"""The sweep helpers the optimization and generalization labs share, on real data."""

import math

import pytest
import torch

from profond.labs import small_train as st
from profond.labs import sweeps


def test_flip_labels_changes_exactly_the_stated_share_to_other_classes():
    y = torch.arange(1000) % 10
    noisy = sweeps.flip_labels(y, 0.4, 10, seed=3)
    changed = noisy != y
    assert int(changed.sum()) == 400
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert torch.equal(noisy, sweeps.flip_labels(y, 0.4, 10, seed=3))
    assert not torch.equal(noisy, sweeps.flip_labels(y, 0.4, 10, seed=4))
    assert torch.equal(sweeps.flip_labels(y, 0.0, 10, seed=3), y)


def test_good_range_counts_decades_between_the_extreme_good_rates():
    grid = (1e-3, 1e-2, 1e-1, 1.0)
    assert sweeps.good_range_decades(grid, [0.5, 0.05, 0.055, 0.2], 0.01) == pytest.approx(1.0)
    assert sweeps.good_range_decades(grid, [0.5, 0.05, 0.2, 0.06], 0.01) == pytest.approx(2.0)
    assert sweeps.good_range_decades(grid, [0.5, 0.05, 0.2, math.inf], 0.01) == 0.0


def test_subset_keeps_validation_and_test_and_draws_training_rows():
    data = st.digits()
    small = sweeps.subset(data, 50, seed=1)
    assert len(small.x_train) == 50 and len(small.y_train) == 50
    assert small.x_val is data.x_val and small.x_test is data.x_test
    rows = {tuple(r.flatten().tolist()) for r in data.x_train}
    assert all(tuple(r.flatten().tolist()) in rows for r in small.x_train)
    assert not torch.equal(small.x_train, sweeps.subset(data, 50, seed=2).x_train)


def test_lean_task_matches_the_full_task_on_loss_and_accuracy():
    from profond.train.tasks.classification import ClassificationTask

    data = st.digits()
    setting = st.Setting(model_options={"hidden_sizes": (16,), "dropout": 0.0})
    model = st.build_model(setting, data, seed=0).eval()
    full = ClassificationTask(data).evaluate(model, data.x_val, data.y_val, 64)
    lean = sweeps.lean_task(data).evaluate(model, data.x_val, data.y_val, 64)
    assert set(lean) == {"loss", "accuracy"}
    assert lean["loss"] == pytest.approx(full["loss"], rel=1e-5)
    assert lean["accuracy"] == pytest.approx(full["accuracy"])


def test_accuracy_probe_records_each_epoch_and_training_improves_it():
    data = sweeps.subset(st.digits(), 200, seed=0)
    probe = sweeps.accuracy_probe(data.x_train, data.y_train)
    setting = st.Setting(optimizer="adam", lr=1e-2, epochs=4,
                         model_options={"hidden_sizes": (32,), "dropout": 0.0})  # fmt: skip
    run = st.train(setting, data, 0, task=sweeps.lean_task, callbacks=[probe])
    assert len(probe.values) == 4
    assert probe.values[-1] > probe.values[0]
    assert probe.values[-1] == pytest.approx(sweeps.accuracy(run.model, data.x_train, data.y_train))
    assert sweeps.val_error(run) == pytest.approx(1 - run.history["val_accuracy"][-1])


def test_a_diverged_run_has_infinite_validation_error_and_is_never_best():
    data = sweeps.subset(st.digits(), 200, seed=0)
    setting = st.Setting(optimizer="sgd", epochs=2, model_options={"hidden_sizes": (32,), "dropout": 0.0})  # fmt: skip
    runs = sweeps.grid_runs(setting, data, 0, (1e6, 0.1), task=sweeps.lean_task)
    assert runs[0].diverged and sweeps.val_error(runs[0]) == math.inf
    assert sweeps.best_index(runs) == 1
