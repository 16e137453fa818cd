"""The generated shapes dataset: seeded, consistent masks, a bundle the U-Net can train on."""

from __future__ import annotations

import numpy as np
import pytest

from profond.data.registry import DataOptions, get_dataset
from profond.data.shapes import CLASSES, draw_shape, generate
from profond.errors import ProfondError


def test_same_seed_same_data_other_seed_other_data() -> None:
    a_images, a_masks = generate(20, seed=5)
    b_images, b_masks = generate(20, seed=5)
    c_images, _ = generate(20, seed=6)
    assert np.array_equal(a_images, b_images) and np.array_equal(a_masks, b_masks)
    assert not np.array_equal(a_images, c_images)


def test_masks_mark_brighter_shape_pixels() -> None:
    images, masks = generate(50, seed=0)
    assert images.shape == masks.shape == (50, 32, 32)
    assert images.min() >= 0 and images.max() <= 255
    assert set(np.unique(masks)) <= set(range(len(CLASSES)))
    assert (masks > 0).any(axis=(1, 2)).all()  # each image holds at least one shape
    # shapes are drawn brighter than their background, despite the noise
    assert images[masks > 0].mean() > images[masks == 0].mean() + 60


def test_shapes_have_their_geometry() -> None:
    rng = np.random.default_rng(0)
    circle, square, triangle = (draw_shape(k, 64, rng).astype(float) for k in (1, 2, 3))

    def fill(mask: np.ndarray) -> float:  # share of the bounding box covered
        rows, cols = mask.nonzero()
        return mask.sum() / ((np.ptp(rows) + 1) * (np.ptp(cols) + 1))

    assert fill(square) == 1.0
    assert 0.7 < fill(circle) < 0.85  # pi / 4 ≈ 0.785
    assert 0.4 < fill(triangle) < 0.65  # about 1/2


def test_bundle_through_the_registry() -> None:
    bundle = get_dataset("shapes").load(DataOptions(seed=1, limit=100, val_fraction=0.2))
    assert bundle.task == "segmentation" and bundle.classes == CLASSES
    assert bundle.x_train.shape == (80, 1, 32, 32) and bundle.y_train.shape == (80, 32, 32)
    assert len(bundle.x_val) == 20 and bundle.x_test.shape[0] == bundle.y_test.shape[0] == 600
    assert 0.0 <= float(bundle.x_train.min()) and float(bundle.x_train.max()) <= 1.0
    standard = get_dataset("shapes").load(DataOptions(seed=1, limit=100, normalization="standard"))
    assert abs(float(standard.x_train.mean())) < 0.05


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ProfondError, match="limit"):
        DataOptions(limit=0)
