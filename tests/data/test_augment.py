"""Augmentation: shifts move content without changing it, flips mirror, seeds repeat."""

from __future__ import annotations

import pytest
import torch

from profond.data.augment import augment_batch


def test_shift_only_moves_a_single_pixel_within_range() -> None:
    x = torch.zeros(64, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0
    out = augment_batch(x, torch.Generator().manual_seed(0), max_shift=2, flip=False)
    assert out.shape == x.shape
    assert torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(64))  # the pixel stays inside
    rows, cols = out[:, 0].nonzero()[:, 1], out[:, 0].nonzero()[:, 2]
    assert rows.min() >= 2 and rows.max() <= 6 and cols.min() >= 2 and cols.max() <= 6
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) > 10  # shifts differ per sample


def test_flip_mirrors_about_half_of_the_batch() -> None:
    x = torch.zeros(200, 2, 4, 4)
    x[:, :, :, 0] = 1.0  # left column lit
    out = augment_batch(x, torch.Generator().manual_seed(1), max_shift=0, flip=True)
    flipped = out[:, 0, 0, 3] == 1.0
    assert torch.equal(out[flipped], x[flipped].flip(-1))
    assert torch.equal(out[~flipped], x[~flipped])
    assert 70 < int(flipped.sum()) < 130


def test_same_seed_same_batch_and_input_untouched() -> None:
    x = torch.rand(8, 1, 28, 28)
    copy = x.clone()
    a = augment_batch(x, torch.Generator().manual_seed(3))
    b = augment_batch(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.equal(x, copy)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        augment_batch(torch.rand(8, 28, 28))
    with pytest.raises(ValueError, match="max_shift"):
        augment_batch(torch.rand(1, 1, 4, 4), max_shift=-1)
