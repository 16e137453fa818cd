"""A skewed split with the asked ratio, test untouched; resampling evens the classes out."""

from __future__ import annotations

import pytest
import torch

from profond.data.imbalance import (
    balanced_sample_weights,
    class_counts,
    make_imbalanced,
    resample_balanced,
    target_counts,
)
from profond.data.registry import DataOptions, get_dataset
from profond.errors import ProfondError


@pytest.fixture(scope="module")
def digits():
    return get_dataset("digits").load(DataOptions(download=False))


@pytest.mark.parametrize("profile", ["exponential", "step"])
def test_skewed_split_has_the_ratio_and_keeps_the_test_split(digits, profile) -> None:
    skewed = make_imbalanced(digits, 10.0, profile, seed=0)
    counts = class_counts(skewed.y_train, 10).float()
    assert counts.max() / counts.min() == pytest.approx(10.0, rel=0.1)
    assert torch.equal(skewed.y_test, digits.y_test)
    assert skewed.extra["imbalance"]["train_counts"] == counts.long().tolist()
    # every kept sample is one of the originals, with its own label
    rows = {
        tuple(x.flatten().tolist()): int(y)
        for x, y in zip(digits.x_train, digits.y_train, strict=True)
    }
    assert all(rows[tuple(x.flatten().tolist())] == int(y)
               for x, y in zip(skewed.x_train[:50], skewed.y_train[:50], strict=True))  # fmt: skip
    if profile == "exponential":
        assert (counts[1:] <= counts[:-1]).all()  # a long tail, class 0 the largest


def test_ratio_one_keeps_balance_and_bad_ratios_are_refused() -> None:
    counts = torch.tensor([50, 60, 70])
    assert target_counts(counts, 1.0).tolist() == [50, 50, 50]
    with pytest.raises(ProfondError, match="imbalance-ratio"):
        target_counts(counts, 0.5)
    with pytest.raises(ProfondError, match="profile"):
        target_counts(counts, 2.0, "zigzag")


def test_weighted_resampling_balances_the_classes(digits) -> None:
    skewed = make_imbalanced(digits, 20.0, seed=0)
    weights = balanced_sample_weights(skewed.y_train, 10)
    per_class = torch.zeros(10, dtype=torch.float64).index_add_(0, skewed.y_train, weights)
    assert torch.allclose(per_class, torch.ones(10, dtype=torch.float64))
    resampled = resample_balanced(skewed, seed=0, size=5000)
    counts = class_counts(resampled.y_train, 10).float()
    assert counts.min() > 400 and counts.max() < 600  # 500 each, up to sampling noise
