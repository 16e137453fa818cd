"""Checks that raw arrays read from files are a usable dataset, made when they are loaded.

A corrupt or mismatched file must stop a run at once with a message about the data, not
after an epoch with a traceback, nor as a "diverged: lower the learning rate" hint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from profond.errors import ProfondError


def check_images(path: Path | str, images: np.ndarray) -> None:
    """Refuse image arrays that are not ``(N, H, W)`` with N, H, W ≥ 1, or hold NaN/inf.

    Shape:
        images: ``(N, H, W)`` raw values.
    """
    if images.ndim != 3 or 0 in images.shape:
        raise ProfondError(
            f"{path}: images must be a non-empty (N, H, W) array, got shape {images.shape}"
        )
    check_finite(path, images)


def check_finite(path: Path | str, values: np.ndarray) -> None:
    """Refuse an array holding NaN or infinite values, saying how many and where the first is."""
    if values.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(values)
    count = int(bad.sum())
    if count:
        first = tuple(int(i) for i in np.unravel_index(int(bad.argmax()), values.shape))
        raise ProfondError(
            f"{path}: the data holds {count} NaN or infinite value(s) (first at index {first}); "
            "the file is corrupt: fix or replace it"
        )


def check_labels(path: Path | str, labels: np.ndarray, num_classes: int) -> None:
    """Refuse labels that are not integer class ids in ``0..num_classes-1``.

    Shape:
        labels: ``(N,)``.
    """
    if labels.ndim != 1:
        raise ProfondError(f"{path}: labels must be a (N,) array, got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ProfondError(f"{path}: labels must be integers, got {labels.dtype} values")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ProfondError(
            f"{path}: {bad.size} label(s) out of range (e.g. {int(bad[0])}); this dataset has "
            f"{num_classes} classes, so labels must be 0..{num_classes - 1}"
        )
