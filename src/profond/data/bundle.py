"""A dataset held in memory as tensors, split into train/validation/test."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from profond.data.preprocess import Preprocessing
from profond.errors import ProfondError

CLASS_TASKS = ("classification", "text-classification")  # y holds class ids 0..classes-1


@dataclass
class DataBundle:
    """Everything a trainer and a model builder need to know about one dataset.

    Tensors are already preprocessed (scaled/normalized) and live on the CPU; the trainer moves
    batches to the device. Keeping whole splits as tensors avoids per-sample DataLoader overhead.

    Attributes:
        name: the dataset's ``--data`` name.
        task: ``"classification"``, ``"forecasting"``, ``"text-classification"``,
            ``"segmentation"`` or ``"generation"`` (images for AE/VAE/GAN use the
            classification bundle; the model's task decides what ``y`` means).
        x_train, y_train, x_val, y_val, x_test, y_test: the splits. Shape: ``(N, *input_shape)``
            for ``x``; ``(N,)`` int64 class ids for classification, ``(N, horizon)`` float for
            forecasting, ``(N, H, W)`` int64 masks for segmentation.
        input_shape: per-sample shape of ``x``, e.g. ``(1, 28, 28)``.
        classes: class names (empty for regression).
        preprocessing: the transform from raw values to ``x`` (applied again by predict/serve).
        extra: task-specific facts, e.g. ``{"vocab": [...]}`` for text, the series scale for
            forecasting, ``{"horizon": 12}``.
    """

    name: str
    task: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    input_shape: tuple[int, ...]
    classes: list[str] = field(default_factory=list)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Refused here, every dataset alike: NaN inputs would otherwise surface as a diverged
        # loss blamed on the learning rate, and a bad class id as an index error mid-epoch.
        for split in ("train", "val", "test"):
            x = getattr(self, f"x_{split}")
            if x.is_floating_point() and not bool(torch.isfinite(x).all()):
                count = int((~torch.isfinite(x)).sum())
                raise ProfondError(
                    f"dataset {self.name!r}: the {split} inputs hold {count} NaN or infinite "
                    "value(s); its files are corrupt: fix or replace them"
                )
            y = getattr(self, f"y_{split}")
            # one class id per example; other target layouts (several labels) are the task's
            if self.task in CLASS_TASKS and self.classes and len(y) and y.dim() == 1:
                low, high = int(y.min()), int(y.max())
                if low < 0 or high >= len(self.classes):
                    raise ProfondError(
                        f"dataset {self.name!r}: {split} labels run from {low} to {high} but "
                        f"there are {len(self.classes)} classes (0..{len(self.classes) - 1})"
                    )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> dict[str, Any]:
        """Sizes and shapes, for logs and ``profond data info``."""
        return {
            "name": self.name,
            "task": self.task,
            "train": len(self.x_train),
            "val": len(self.x_val),
            "test": len(self.x_test),
            "input_shape": list(self.input_shape),
            "classes": len(self.classes),
        }
