"""The generated ring of Gaussians and adding problem: values, seeds, splits, coverage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from profond.data.adding import CONSTANT_MSE, make_adding
from profond.data.mixture import Ring, mode_coverage, sample_ring
from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError


def test_ring_points_sit_on_their_modes_and_follow_the_seed() -> None:
    ring = Ring(modes=8, radius=2.0, std=0.05)
    points, labels = sample_ring(2000, seed=3, ring=ring)
    distance = np.linalg.norm(points - ring.centres()[labels], axis=1)
    assert distance.mean() == pytest.approx(0.05 * np.sqrt(np.pi / 2), rel=0.1)  # Rayleigh mean
    assert set(labels.tolist()) == set(range(8))
    again, _ = sample_ring(2000, seed=3, ring=ring)
    other, _ = sample_ring(2000, seed=4, ring=ring)
    assert np.array_equal(points, again) and not np.array_equal(points, other)


def test_mode_coverage_counts_modes_and_quality() -> None:
    ring = Ring()
    points, _ = sample_ring(800, seed=0, ring=ring)
    full = mode_coverage(points, ring)
    assert full.covered == 8 and full.high_quality > 0.95
    collapsed = np.repeat(ring.centres()[:2], 400, axis=0)  # all mass on two modes
    assert mode_coverage(collapsed, ring).covered == 2
    off = mode_coverage(np.zeros((100, 2)), ring)  # the centre of the ring: no mode
    assert off.covered == 0 and off.high_quality == 0.0
    with pytest.raises(ProfondError, match=r"\(N, 2\)"):
        mode_coverage(np.zeros((5, 3)), ring)


def test_ring_bundle_is_a_learnable_classification_set() -> None:
    data = load_dataset("ring", DataOptions(val_fraction=0.2))
    assert data.input_shape == (2,) and data.num_classes == 8
    assert len(data.x_train) == 3200 and len(data.x_val) == 800
    # minmax divides by the radius: every point lies near the unit circle
    assert data.x_train.norm(dim=1).mean() == pytest.approx(1.0, abs=0.02)
    # the nearest centre is the label: the set is separable
    angles = torch.atan2(data.x_test[:, 1], data.x_test[:, 0])
    nearest = torch.round(angles / (2 * np.pi / 8)).remainder(8).long()
    assert (nearest == data.y_test).float().mean() > 0.99


def test_adding_targets_are_the_marked_sums() -> None:
    x, y = make_adding(500, length=30, seed=1)
    assert x.shape == (500, 30, 2) and y.shape == (500, 1)
    markers = x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :15].sum(axis=1) == 1).all()  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    # predicting 1 whatever the input gives MSE ≈ 1/6
    assert ((y - 1.0) ** 2).mean() == pytest.approx(CONSTANT_MSE, rel=0.15)
    with pytest.raises(ProfondError, match="length >= 2"):
        make_adding(5, length=1, seed=0)


def test_adding_bundle_uses_the_window_as_length() -> None:
    data = load_dataset("adding", DataOptions(window=50, limit=400))
    assert data.task == "regression" and data.input_shape == (50, 2)
    assert len(data.x_train) + len(data.x_val) == 400
    assert data.x_test.shape == (1000, 50, 2)
