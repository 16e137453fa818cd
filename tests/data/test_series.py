"""The statsmodels series: chronological splits, train-only scaling, windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.data.series import fit_scaling, load_co2, load_sunspots, make_windows
from profond.errors import ProfondError


def test_make_windows_pairs_each_window_with_the_values_that_follow() -> None:
    values = np.arange(20, dtype=np.float64)
    x, y = make_windows(values, window=4, horizon=2, first_target=6, end=12)
    assert x.shape == (5, 4, 1) and y.shape == (5, 2)  # first targets 6..10
    np.testing.assert_array_equal(x[0, :, 0], [2, 3, 4, 5])
    np.testing.assert_array_equal(y[0], [6, 7])
    np.testing.assert_array_equal(y[-1], [10, 11])  # the last target stays below end
    assert make_windows(values, 4, 2, 11, 12)[0].shape == (0, 4, 1)


def test_series_load_offline_without_gaps() -> None:
    sunspots, co2 = load_sunspots(), load_co2()
    assert len(sunspots.values) == 309 and sunspots.season == 11
    assert sunspots.time[0] == 1700 and sunspots.time[-1] == 2008
    assert co2.season == 12 and len(co2.values) == 526  # monthly, March 1958 to Dec 2001
    assert np.isfinite(co2.values).all() and 310 < co2.values.min() < co2.values.max() < 380
    np.testing.assert_allclose(np.diff(co2.time), 1 / 12, atol=1e-9)


def test_splits_are_chronological_and_windows_rebuild_the_series() -> None:
    bundle = load_dataset("sunspots", DataOptions(window=12, horizon=3))
    extra, prep = bundle.extra, bundle.preprocessing
    raw = np.asarray(extra["series"])
    val_start, test_start = extra["val_start"], extra["test_start"]
    assert 12 < val_start < test_start < len(raw)
    assert bundle.input_shape == (12, 1) and bundle.y_test.shape[1] == 3
    # Every window of a split has all its targets inside that split's span, in time order.
    for split, start, end in (
        ("train", 12, val_start),
        ("val", val_start, test_start),
        ("test", test_start, len(raw)),
    ):
        x, y = getattr(bundle, f"x_{split}"), getattr(bundle, f"y_{split}")
        first = extra["first_target"][split]
        assert first == start and first + len(y) - 1 + 3 <= end
        for i in (0, len(y) - 1):
            t = first + i
            np.testing.assert_allclose(prep.invert(x[i, :, 0].double()), raw[t - 12 : t], rtol=1e-5)
            np.testing.assert_allclose(prep.invert(y[i].double()), raw[t : t + 3], rtol=1e-5)
    assert extra["first_target"]["test"] + len(bundle.y_test) + 2 == len(raw)


def test_scaling_is_fitted_on_the_training_span_only() -> None:
    bundle = load_dataset("co2", DataOptions(window=24, normalization="minmax"))
    train_values = torch.cat([bundle.x_train.flatten(), bundle.y_train.flatten()])
    assert float(train_values.min()) == pytest.approx(0.0, abs=1e-6)
    assert float(train_values.max()) == pytest.approx(1.0, abs=1e-6)
    # CO2 keeps rising after the training span: a scaling refitted on all data would hide it.
    assert float(bundle.y_test.mean()) > 1.2
    raw = np.asarray(bundle.extra["series"])
    assert bundle.preprocessing.mean == pytest.approx(raw[: bundle.extra["val_start"]].min())

    standard = load_dataset("sunspots", DataOptions(normalization="standard"))
    train_raw = np.asarray(standard.extra["series"])[: standard.extra["val_start"]]
    assert standard.preprocessing.mean == pytest.approx(train_raw.mean())
    assert standard.preprocessing.std == pytest.approx(train_raw.std())


def test_limit_and_bad_options_are_reported() -> None:
    assert len(load_dataset("sunspots", DataOptions(limit=50)).x_train) == 50
    with pytest.raises(ProfondError, match="too short for window=240"):
        load_dataset("sunspots", DataOptions(window=240))
    with pytest.raises(ProfondError, match="constant"):
        fit_scaling(np.ones(10), "standard")
