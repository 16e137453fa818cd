"""scikit-learn's 8×8 handwritten digits: embedded in the wheel, the default dataset."""

from __future__ import annotations

import numpy as np

from profond.data.bundle import DataBundle
from profond.data.registry import DataOptions, DatasetSpec
from profond.data.splits import image_bundle

TEST_FRACTION = 0.2  # 1437 train+val / 360 test images


def load_digits(options: DataOptions) -> DataBundle:
    """1797 images of 8×8 pixels, values 0..16, 10 classes; a seeded stratified test split."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    digits = sk_load_digits()
    images = digits.images.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=TEST_FRACTION, random_state=0, stratify=digits.target
    )
    classes = [str(i) for i in range(10)]
    return image_bundle("digits", x_train, y_train, x_test, y_test, classes, 16.0, options)


DATASET = DatasetSpec(
    name="digits",
    task="classification",
    description="8x8 handwritten digits from scikit-learn (1797 images, 10 classes), embedded",
    load=load_digits,
    status=lambda options: "embedded in scikit-learn",
    train_defaults={"epochs": 40},  # 11 batches an epoch: the MLP needs ~40 epochs to pass 0.95
)
