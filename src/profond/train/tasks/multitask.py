"""Multi-task classification: a main class, known for some examples, and an auxiliary label.

Training targets are ``(N, 2)`` int64: the main class, or :data:`UNLABELLED` where it is not
known, and the auxiliary label, known for every example. The loss is the main cross-entropy over
the labelled examples plus ``aux_weight`` times the auxiliary one, read by the model's second
head (:class:`~profond.models.mlp.MLP` with ``aux_classes``). Validation and test targets are
the main class only, ``(N,)``, so evaluation is the classification task's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError
from profond.train.tasks.classification import ClassificationTask

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.train.config import TrainConfig

UNLABELLED = -1  # main-task target of an example whose class is not known


class MultitaskTask(ClassificationTask):
    """Main plus auxiliary cross-entropy; a model without a second head trains on the main one."""

    name = "multitask"

    def __init__(self, data: DataBundle) -> None:
        y = data.y_train
        if y.dim() != 2 or y.shape[1] != 2 or y.is_floating_point():
            raise ProfondError(
                "multi-task training targets must be integers of shape (N, 2) (main class or "
                f"{UNLABELLED}, auxiliary label); got {y.dtype} of shape {tuple(y.shape)}"
            )
        super().__init__(data)

    def setup(self, config: TrainConfig, device: torch.device) -> None:
        if config.class_weights == "balanced":
            raise ProfondError("class_weights='balanced' is not available for multi-task training")
        super().setup(config, device)

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Shape: ``x (B, *)``, ``y (B, 2)`` → a scalar loss."""
        main, aux = y[:, 0], y[:, 1]
        logits, known = model(x), main != UNLABELLED
        # a batch may hold no labelled example: its main loss is then zero, not NaN
        loss = F.cross_entropy(logits[known], main[known]) if known.any() else logits.sum() * 0
        config: Any = getattr(model, "config", None)
        if getattr(config, "aux_classes", 0):
            aux_logits = model.aux_logits(x)  # type: ignore[operator]  # the multitask MLP's
            loss = loss + config.aux_weight * F.cross_entropy(aux_logits, aux)
        return loss
