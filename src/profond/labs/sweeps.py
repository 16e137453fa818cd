"""Sweeps and measurements shared by the optimization and generalization labs.

Everything trains through :mod:`profond.labs.small_train` (profond's Trainer); these helpers
only run grids, take subsets and read accuracies off trained models.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from profond.data.bundle import DataBundle
    from profond.labs.small_train import Setting, Trained


def grid_runs(
    setting: Setting, data: DataBundle, seed: int, grid: Sequence[float], **kwargs: Any
) -> list[Trained]:
    """One training of ``setting`` per learning rate of ``grid`` (same seed, data, budget)."""
    from profond.labs import small_train as st

    return [st.train(setting.but(lr=lr), data, seed, **kwargs) for lr in grid]


def val_error(run: Trained) -> float:
    """``1 - last validation accuracy`` (``inf`` if the run diverged)."""
    if run.diverged:
        return math.inf
    value = 1.0 - run.last("val_accuracy")
    return value if math.isfinite(value) else math.inf


def best_index(runs: Sequence[Trained]) -> int:
    """The run with the lowest validation error (the first on ties)."""
    errors = [val_error(r) for r in runs]
    return min(range(len(errors)), key=lambda i: errors[i])


def good_range_decades(grid: Sequence[float], errors: Sequence[float], tolerance: float) -> float:
    """Width in decades of the learning rates whose error is within ``tolerance`` of the best.

    Measured from the smallest to the largest such grid value (0 when only one qualifies).
    """
    best = min(errors)
    good = [lr for lr, e in zip(grid, errors, strict=True) if e <= best + tolerance]
    return math.log10(max(good) / min(good)) if good else 0.0


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of correct arg-max predictions of ``model`` (eval mode, no gradients).

    Shape: ``x``: ``(N, *input_shape)``; ``y``: ``(N,)`` class ids.
    """
    import torch

    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


def subset(data: DataBundle, n: int, seed: int) -> DataBundle:
    """``data`` with only ``n`` training examples, drawn at random with ``seed``.

    The validation and test splits are kept whole, so that arms stay comparable.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(data.x_train), generator=generator)[:n]
    return dataclasses.replace(data, x_train=data.x_train[index], y_train=data.y_train[index])


def with_labels(data: DataBundle, y_train: torch.Tensor) -> DataBundle:
    """``data`` with other training labels (noisy or random); validation and test untouched."""
    return dataclasses.replace(data, y_train=y_train)


def flip_labels(y: torch.Tensor, fraction: float, num_classes: int, seed: int) -> torch.Tensor:
    """A copy of ``y`` where ``fraction`` of the labels are replaced by a different class.

    Shape: ``y``: ``(N,)`` int64 → ``(N,)`` int64.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    n = len(y)
    flipped = torch.randperm(n, generator=generator)[: round(fraction * n)]
    shift = torch.randint(1, num_classes, (len(flipped),), generator=generator)
    noisy = y.clone()
    noisy[flipped] = (y[flipped] + shift) % num_classes
    return noisy


def lean_task(data: DataBundle) -> Any:
    """Classification with only loss and accuracy evaluated after each epoch.

    The full task also computes precision, recall and a one-vs-rest ROC AUC each epoch, which
    costs more than training a small MLP on digits for that epoch; labs that read only loss and
    accuracy pass this task to :func:`profond.labs.small_train.train` (``task=lean_task``).
    """
    import torch
    import torch.nn.functional as F

    from profond.train.tasks.classification import ClassificationTask

    class LeanClassification(ClassificationTask):
        @torch.no_grad()
        def evaluate(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int):
            logits = torch.cat([model(x[i : i + 1024]) for i in range(0, len(x), 1024)])
            return {
                "loss": F.cross_entropy(logits, y).item(),
                "accuracy": (logits.argmax(1) == y).float().mean().item(),
            }

    return LeanClassification(data)


def accuracy_probe(x: torch.Tensor, y: torch.Tensor) -> Any:
    """A trainer callback recording the model's accuracy on ``(x, y)`` after every epoch.

    Read ``probe.values`` (one float per epoch). Use it for the training split (with the labels
    the model was trained on) or any other labelled subset.
    """
    from profond.train.callbacks import Callback

    class AccuracyProbe(Callback):
        def __init__(self) -> None:
            self.values: list[float] = []

        def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
            self.values.append(accuracy(trainer.model, x, y))

    return AccuracyProbe()
