"""``shapes``: a segmentation dataset profond generates, so that a U-Net has pixels to label.

Each image is a noisy gray background with one to three shapes (circle, square, triangle) of
random size, position and brightness; its mask gives each pixel's class (0 = background, then
one id per shape kind; a shape drawn later covers the ones below it). Everything derives from
``DataOptions.seed``: the same seed gives the same images, masks and split.
"""

from __future__ import annotations

import numpy as np
import torch

from profond.data.bundle import DataBundle
from profond.data.preprocess import Preprocessing
from profond.data.registry import DataOptions, DatasetSpec
from profond.data.splits import split_indices

CLASSES = ["background", "circle", "square", "triangle"]
IMAGE_SIZE = 32  # divisible by 8, so a U-Net of depth 3 halves it cleanly
TRAIN_SIZE = 2400  # images before the validation split
TEST_SIZE = 600
RAW_MAX = 255.0  # images are generated in 8-bit units, as a PNG file would hold them
MAX_SHAPES = 3


def draw_shape(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of one shape of class ``kind`` at a random place and scale.

    Shape:
        Returns ``(size, size)`` bool.
    """
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    half = rng.uniform(0.11, 0.22) * size  # half-width (or radius), 3.5..7 pixels at 32x32
    cy, cx = rng.uniform(half, size - half, size=2)
    if kind == 1:  # circle
        return (rows - cy) ** 2 + (cols - cx) ** 2 <= half**2
    if kind == 2:  # square
        return (np.abs(rows - cy) <= half) & (np.abs(cols - cx) <= half)
    # triangle pointing up: apex at the top centre, base at the bottom, slopes of 1/2
    top, bottom = cy - half, cy + half
    inside_height = (rows >= top) & (rows <= bottom)
    return inside_height & (np.abs(cols - cx) <= (rows - top) / 2.0 + 0.5)


def generate(count: int, seed: int, size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``count`` images and their masks.

    Args:
        count: number of samples.
        seed: the only source of randomness.
        size: side of the square images.

    Shape:
        Returns images ``(count, size, size)`` float32 in ``0..255`` and masks
        ``(count, size, size)`` int64 with values in ``0..len(CLASSES) - 1``.
    """
    rng = np.random.default_rng(seed)
    images = np.empty((count, size, size), dtype=np.float32)
    masks = np.zeros((count, size, size), dtype=np.int64)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(count):
        # A background with a random level and a gentle gradient, so that brightness alone does
        # not separate shapes from background everywhere.
        level = rng.uniform(0.05, 0.45)
        slope = rng.uniform(-0.15, 0.15, size=2)
        image = level + slope[0] * (rows - 0.5) + slope[1] * (cols - 0.5)
        for _ in range(rng.integers(1, MAX_SHAPES + 1)):
            kind = int(rng.integers(1, len(CLASSES)))
            shape = draw_shape(kind, size, rng)
            image[shape] = rng.uniform(level + 0.25, 1.0)
            masks[i][shape] = kind
        image = image + rng.normal(0.0, 0.08, size=(size, size))
        images[i] = np.clip(image, 0.0, 1.0) * RAW_MAX
    return images, masks


def load(options: DataOptions) -> DataBundle:
    """The ``shapes`` bundle: generated train/test splits, validation carved from train.

    Shape:
        ``x``: ``(N, 1, 32, 32)`` float32 preprocessed; ``y``: ``(N, 32, 32)`` int64 masks.
    """
    train_images, train_masks = generate(TRAIN_SIZE, options.seed)
    # The test split has its own stream (seed + a constant), so it never overlaps the train split.
    test_images, test_masks = generate(TEST_SIZE, options.seed + 1_000_003)
    if options.limit is not None:
        train_images, train_masks = train_images[: options.limit], train_masks[: options.limit]
    train_idx, val_idx = split_indices(len(train_images), options.val_fraction, options.seed)
    x_all = torch.from_numpy(train_images).unsqueeze(1)  # (N, 1, H, W)
    y_all = torch.from_numpy(train_masks)
    x_test = torch.from_numpy(test_images).unsqueeze(1)
    mean, std = 0.0, 1.0
    if options.normalization == "standard":
        scaled = x_all[train_idx] / RAW_MAX
        mean, std = float(scaled.mean()), float(scaled.std())
    prep = Preprocessing(raw_max=RAW_MAX, normalization=options.normalization, mean=mean, std=std)
    return DataBundle(
        name="shapes",
        task="segmentation",
        x_train=prep.apply(x_all[train_idx]),
        y_train=y_all[train_idx],
        x_val=prep.apply(x_all[val_idx]),
        y_val=y_all[val_idx],
        x_test=prep.apply(x_test),
        y_test=torch.from_numpy(test_masks),
        input_shape=(1, IMAGE_SIZE, IMAGE_SIZE),
        classes=list(CLASSES),
        preprocessing=prep,
    )


def status(options: DataOptions) -> str:
    return f"generated on demand from seed {options.seed}; nothing to download"


DATASETS = {
    "shapes": DatasetSpec(
        name="shapes",
        task="segmentation",
        description=(
            f"generated {IMAGE_SIZE}x{IMAGE_SIZE} images of circles, squares and triangles with "
            f"pixel masks ({TRAIN_SIZE} train, {TEST_SIZE} test, 4 classes)"
        ),
        load=load,
        status=status,
    )
}
