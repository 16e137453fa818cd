"""Seeded splits and the train-fitted preprocessing of image datasets."""

from __future__ import annotations

import numpy as np
import torch

from profond.data.bundle import DataBundle
from profond.data.preprocess import Preprocessing
from profond.data.registry import DataOptions
from profond.errors import ProfondError


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded permutation of ``range(n)`` cut into (train, validation) indices."""
    permutation = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    return np.sort(permutation[n_val:]), np.sort(permutation[:n_val])


def image_bundle(
    name: str,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    classes: list[str],
    raw_max: float,
    options: DataOptions,
) -> DataBundle:
    """Build a classification :class:`DataBundle` from raw image arrays.

    Args:
        train_images, test_images: ``(N, H, W)`` raw values in ``0..raw_max``.
        train_labels, test_labels: ``(N,)`` integer class ids.

    The validation split is carved from the training images with ``options.seed``; the
    ``standard`` normalization uses training-split statistics only.
    """
    _check_pairs(name, "train", train_images, train_labels)
    _check_pairs(name, "test", test_images, test_labels)
    if options.limit is not None:
        train_images, train_labels = train_images[: options.limit], train_labels[: options.limit]
    train_idx, val_idx = split_indices(len(train_images), options.val_fraction, options.seed)
    x_all = torch.from_numpy(np.ascontiguousarray(train_images, dtype=np.float32)).unsqueeze(1)
    y_all = torch.from_numpy(train_labels.astype(np.int64))
    x_train, y_train = x_all[train_idx], y_all[train_idx]
    x_val, y_val = x_all[val_idx], y_all[val_idx]
    x_test = torch.from_numpy(np.ascontiguousarray(test_images, dtype=np.float32)).unsqueeze(1)
    y_test = torch.from_numpy(test_labels.astype(np.int64))

    mean, std = 0.0, 1.0
    if options.normalization == "standard":
        scaled = x_train / raw_max
        mean, std = float(scaled.mean()), float(scaled.std())
    prep = Preprocessing(raw_max=raw_max, normalization=options.normalization, mean=mean, std=std)
    return DataBundle(
        name=name,
        task="classification",
        x_train=prep.apply(x_train),
        y_train=y_train,
        x_val=prep.apply(x_val),
        y_val=y_val,
        x_test=prep.apply(x_test),
        y_test=y_test,
        input_shape=tuple(x_train.shape[1:]),
        classes=classes,
        preprocessing=prep,
    )


def _check_pairs(name: str, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    if len(images) != len(labels):
        raise ProfondError(
            f"{name} {split} split: {len(images)} images but {len(labels)} labels; "
            "the label file does not belong to the image file"
        )
    if images.ndim != 3:
        raise ProfondError(f"{name} {split} images must be (N, H, W), got shape {images.shape}")
