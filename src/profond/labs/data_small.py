"""Small Fashion-MNIST subsets, cached as ``.npz`` so that labs do not re-parse the IDX files.

Parsing the gzipped IDX files takes seconds; a lab that wants 2 000 images should not pay that
every run. The first call reads the files found by the data registry (local copies, or the
cache after a download) and saves the subset under ``PROFOND_HOME/cache/labs``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle


def _subset_path(n_train: int, n_test: int):
    from profond.paths import profond_home

    folder = profond_home() / "cache" / "labs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"fashion-mnist-{n_train}-{n_test}.npz"


def _raw_subset(n_train: int, n_test: int) -> dict[str, np.ndarray]:
    """The first ``n_train`` training and ``n_test`` test images and labels, raw uint8."""
    path = _subset_path(n_train, n_test)
    if path.is_file():
        with np.load(path) as saved:
            return {k: saved[k] for k in saved.files}
    from profond.atomic import atomic_write
    from profond.data.idx import read_idx
    from profond.data.idx_datasets import locate
    from profond.data.registry import DataOptions

    train_x, train_y, test_x, test_y = (read_idx(p) for p in locate("fashion-mnist", DataOptions()))
    arrays = {
        "train_x": train_x[:n_train], "train_y": train_y[:n_train],
        "test_x": test_x[:n_test], "test_y": test_y[:n_test],
    }  # fmt: skip

    def write(tmp) -> None:
        with open(tmp, "wb") as handle:  # a file object: np.savez would append ".npz" to a path
            # keywords spelled out: ** of a dict could, for mypy, fill savez's allow_pickle
            np.savez(handle, train_x=arrays["train_x"], train_y=arrays["train_y"],
                     test_x=arrays["test_x"], test_y=arrays["test_y"])  # fmt: skip

    atomic_write(path, write)
    return arrays


@lru_cache(maxsize=4)
def fashion(
    n_train: int = 2000,
    n_test: int = 2000,
    normalization: str = "standard",
    val_fraction: float = 0.2,
    seed: int = 0,
) -> DataBundle:
    """A Fashion-MNIST subset as a :class:`DataBundle` (same splits and scaling as ``--data``).

    Shape: ``x``: ``(N, 1, 28, 28)`` float32; ``y``: ``(N,)`` int64.
    """
    from profond.data.idx_datasets import CLASSES
    from profond.data.registry import DataOptions
    from profond.data.splits import image_bundle

    raw = _raw_subset(n_train, n_test)
    options = DataOptions(seed=seed, val_fraction=val_fraction, normalization=normalization)
    return image_bundle(
        "fashion-mnist", raw["train_x"], raw["train_y"], raw["test_x"], raw["test_y"],
        CLASSES["fashion-mnist"], 255.0, options,
    )  # fmt: skip
