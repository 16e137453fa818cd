"""``ring``: points drawn from a ring of Gaussian modes, the standard test of mode collapse.

``modes`` isotropic Gaussians (standard deviation ``std``) sit evenly on a circle of radius
``radius``. As a ``--data`` choice the points are labelled with their mode (a classification
set an MLP can learn); a generative model fitted to the points can be scored by how many modes
its samples cover (:func:`mode_coverage`), the measure of Srivastava et al. (2017, VEEGAN) and
Metz et al. (2017, unrolled GANs). Everything derives from the seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from profond.data.bundle import DataBundle
from profond.data.preprocess import Preprocessing
from profond.data.registry import DataOptions, DatasetSpec
from profond.data.splits import split_indices
from profond.errors import ProfondError

TRAIN_SIZE = 4000  # points before the validation split
TEST_SIZE = 1000


@dataclass(frozen=True)
class Ring:
    """Where the modes are and how wide each is."""

    modes: int = 8
    radius: float = 2.0
    std: float = 0.05

    def __post_init__(self) -> None:
        if self.modes < 1 or not self.radius > 0 or not self.std > 0:
            raise ProfondError(
                f"a ring needs modes >= 1, radius > 0 and std > 0; got modes={self.modes}, "
                f"radius={self.radius}, std={self.std}"
            )

    def centres(self) -> np.ndarray:
        """Shape: ``(modes, 2)``, the first on the positive x axis, counter-clockwise."""
        angles = 2 * math.pi * np.arange(self.modes) / self.modes
        return self.radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def sample_ring(count: int, seed: int, ring: Ring | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points, each from a mode chosen uniformly.

    Shape:
        Returns points ``(count, 2)`` float32 and mode ids ``(count,)`` int64.
    """
    ring = ring or Ring()
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, ring.modes, size=count)
    points = ring.centres()[labels] + rng.normal(0.0, ring.std, size=(count, 2))
    return points.astype(np.float32), labels.astype(np.int64)


@dataclass(frozen=True)
class Coverage:
    """How well a set of samples covers the modes of a ring.

    Attributes:
        covered: modes that received at least ``min_count`` samples within ``3 std``.
        counts: samples assigned to each mode (within ``3 std`` of its centre).
        high_quality: share of samples within ``3 std`` of some centre.
    """

    covered: int
    counts: list[int]
    high_quality: float


def mode_coverage(samples: np.ndarray, ring: Ring, min_fraction: float = 0.25) -> Coverage:
    """Count the modes a generator's samples cover.

    A sample belongs to its nearest mode when it lies within 3 standard deviations of it; a
    mode is covered when it holds at least ``min_fraction`` of its fair share
    (``len(samples) / modes``) of samples.

    Args:
        samples: ``(N, 2)`` generated points.
        ring: the ring the data came from.
        min_fraction: share of a uniform allotment a mode needs to count as covered.
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ProfondError(f"expected samples of shape (N, 2) with N >= 1; got {samples.shape}")
    distances = np.linalg.norm(samples[:, None, :] - ring.centres()[None], axis=2)  # (N, K)
    nearest = distances.argmin(axis=1)
    close = distances.min(axis=1) <= 3 * ring.std
    counts = np.bincount(nearest[close], minlength=ring.modes)
    needed = min_fraction * len(samples) / ring.modes
    return Coverage(
        covered=int((counts >= needed).sum()),
        counts=[int(c) for c in counts],
        high_quality=float(close.mean()),
    )


def load(options: DataOptions, ring: Ring | None = None) -> DataBundle:
    """The ``ring`` bundle: points ``(N, 2)`` labelled with their mode.

    ``minmax`` divides by the radius (modes on the unit circle); ``standard`` subtracts the
    training mean and divides by the training standard deviation (one number for both axes).
    """
    ring = ring or Ring()
    train_points, train_labels = sample_ring(TRAIN_SIZE, options.seed, ring)
    # The test split has its own stream, so it never repeats a training point.
    test_points, test_labels = sample_ring(TEST_SIZE, options.seed + 1_000_003, ring)
    if options.limit is not None:
        train_points, train_labels = train_points[: options.limit], train_labels[: options.limit]
    train_idx, val_idx = split_indices(len(train_points), options.val_fraction, options.seed)
    x_all = torch.from_numpy(train_points)
    y_all = torch.from_numpy(train_labels)
    mean, std = 0.0, 1.0
    if options.normalization == "standard":
        scaled = x_all[train_idx] / ring.radius
        mean, std = float(scaled.mean()), float(scaled.std())
    prep = Preprocessing(
        raw_max=ring.radius, normalization=options.normalization, mean=mean, std=std
    )
    return DataBundle(
        name="ring",
        task="classification",
        x_train=prep.apply(x_all[train_idx]),
        y_train=y_all[train_idx],
        x_val=prep.apply(x_all[val_idx]),
        y_val=y_all[val_idx],
        x_test=prep.apply(torch.from_numpy(test_points)),
        y_test=torch.from_numpy(test_labels),
        input_shape=(2,),
        classes=[f"mode {i}" for i in range(ring.modes)],
        preprocessing=prep,
        extra={"modes": ring.modes, "radius": ring.radius, "std": ring.std},
    )


DATASETS = {
    "ring": DatasetSpec(
        name="ring",
        task="classification",
        description=(
            f"generated 2-D points from a ring of {Ring().modes} Gaussian modes, labelled by "
            f"mode ({TRAIN_SIZE} train, {TEST_SIZE} test)"
        ),
        load=load,
        status=lambda options: f"generated on demand from seed {options.seed}; nothing to download",
    )
}
