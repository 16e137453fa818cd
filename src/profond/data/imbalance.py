"""Imbalanced data for study: a skewed training split, and resampling that evens it out.

:func:`make_imbalanced` keeps every sample of the largest class and fewer of the others, so
that the largest class count divided by the smallest is ``imbalance_ratio``; the test split is
left as it is (balanced data sets stay balanced there), so that test metrics tell how the
skew hurts the rare classes. :func:`resample_balanced` draws a training split of the same size
with replacement, each class equally likely (weighted resampling).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from profond.data.bundle import DataBundle
from profond.errors import ProfondError

PROFILES = ("exponential", "step")


def class_counts(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Samples per class. Shape: ``(N,)`` int64 → ``(num_classes,)`` int64."""
    return torch.bincount(y, minlength=num_classes)


def target_counts(
    counts: torch.Tensor, imbalance_ratio: float, profile: str = "exponential"
) -> torch.Tensor:
    """How many samples of each class to keep.

    Args:
        counts: ``(K,)`` samples per class now.
        imbalance_ratio: largest kept count / smallest kept count, ``>= 1``.
        profile: ``"exponential"`` (class ``k`` keeps ``n · ratio^(-k/(K-1))``: a long tail)
            or ``"step"`` (the second half of the classes keeps ``n / ratio``).

    Returns:
        ``(K,)`` int64, never above ``counts`` and at least 1 for a class that has samples.
    """
    if not imbalance_ratio >= 1:
        raise ProfondError(f"--imbalance-ratio must be >= 1, got {imbalance_ratio}")
    if profile not in PROFILES:
        raise ProfondError(
            f"unknown imbalance profile {profile!r}; choose one of: {', '.join(PROFILES)}"
        )
    present = counts > 0  # classes absent (a class subset) take no part in the profile
    k = int(present.sum())
    base = float(counts[present].min()) if k else 0.0
    steps = torch.zeros(len(counts), dtype=torch.float64)
    steps[present] = torch.arange(k, dtype=torch.float64)
    if profile == "exponential":
        factor = imbalance_ratio ** (-steps / max(k - 1, 1))
    else:
        factor = torch.where(steps >= k // 2, 1.0 / imbalance_ratio, 1.0).double()
    kept = torch.minimum((base * factor).round().long(), counts)
    return torch.where(counts > 0, kept.clamp(min=1), kept)


def imbalanced_indices(
    y: torch.Tensor,
    num_classes: int,
    imbalance_ratio: float,
    profile: str = "exponential",
    seed: int = 0,
) -> torch.Tensor:
    """Sorted indices of a subset of ``y`` ``(N,)`` with the skew of :func:`target_counts`.

    Each class first shrinks to the smallest class count (so the ratio is exact), then to
    its profile's share; which samples are kept is random (seeded).
    """
    counts = class_counts(y, num_classes)
    keep = target_counts(counts, imbalance_ratio, profile)
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c in range(num_classes):
        members = torch.nonzero(y == c).flatten()
        order = torch.randperm(len(members), generator=generator)
        chosen.append(members[order[: int(keep[c])]])
    return torch.cat(chosen).sort().values


def make_imbalanced(
    bundle: DataBundle,
    imbalance_ratio: float,
    profile: str = "exponential",
    seed: int = 0,
    skew_validation: bool = True,
) -> DataBundle:
    """A copy of ``bundle`` whose training (and validation) split is skewed; test untouched.

    Args:
        bundle: a classification bundle.
        imbalance_ratio: largest / smallest class count after the cut (``>= 1``).
        profile: see :func:`target_counts`.
        seed: which samples are kept.
        skew_validation: skew the validation split the same way (it then looks like training).

    Returns:
        a new bundle; ``extra["imbalance"]`` records the ratio, profile and class counts.
    """
    if not bundle.classes:
        raise ProfondError(f"dataset {bundle.name!r} has no classes to skew")
    k = bundle.num_classes
    train = imbalanced_indices(bundle.y_train, k, imbalance_ratio, profile, seed)
    x_val, y_val = bundle.x_val, bundle.y_val
    if skew_validation and len(y_val):
        val = imbalanced_indices(y_val, k, imbalance_ratio, profile, seed + 1)
        x_val, y_val = x_val[val], y_val[val]
    counts = class_counts(bundle.y_train[train], k).tolist()
    extra = {**bundle.extra, "imbalance": {"ratio": imbalance_ratio, "profile": profile,
                                           "train_counts": counts}}  # fmt: skip
    return replace(bundle, x_train=bundle.x_train[train], y_train=bundle.y_train[train],
                   x_val=x_val, y_val=y_val, extra=extra)  # fmt: skip


def balanced_sample_weights(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Per-sample weights ``1 / count(class)``, so that each class weighs the same in total.

    Shape: ``(N,)`` int64 → ``(N,)`` float64 (the input of ``torch.multinomial`` or of
    ``torch.utils.data.WeightedRandomSampler``).
    """
    counts = class_counts(y, num_classes).double()
    return 1.0 / counts.clamp(min=1)[y]


def resample_balanced(bundle: DataBundle, seed: int = 0, size: int | None = None) -> DataBundle:
    """A copy of ``bundle`` whose training split is drawn with replacement, classes equally likely.

    Args:
        bundle: a classification bundle.
        seed: seeds the draw.
        size: training samples drawn (None: as many as now).
    """
    weights = balanced_sample_weights(bundle.y_train, bundle.num_classes)
    generator = torch.Generator().manual_seed(seed)
    index = torch.multinomial(weights, size or len(weights), replacement=True, generator=generator)
    return replace(bundle, x_train=bundle.x_train[index], y_train=bundle.y_train[index])
