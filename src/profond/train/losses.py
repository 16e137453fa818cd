"""Losses beyond plain cross-entropy: the focal loss for imbalanced classification.

The focal loss (Lin et al., 2017) scales the cross-entropy of each sample by ``(1 - p_t)^γ``,
with ``p_t`` the probability the model gives the true class: well-classified samples
(``p_t`` near 1) count little, the hard ones (often from rare classes) dominate::

    FL = - α_t (1 - p_t)^γ log(p_t)

``γ = 0`` and no ``α`` give back the cross-entropy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma: float = 2.0,
    alpha: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """The focal loss.

    Args:
        logits: ``(B, K)``.
        targets: ``(B,)`` int64 class ids.
        gamma: focusing parameter ``>= 0``.
        alpha: ``(K,)`` per-class weights (e.g. inverse frequencies) or None.
        reduction: ``"mean"`` (weighted by ``α_t`` like ``cross_entropy(weight=...)``),
            ``"sum"`` or ``"none"`` (``(B,)``).

    Returns:
        a scalar, or ``(B,)`` for ``reduction="none"``.
    """
    if gamma < 0:
        raise ProfondError(f"the focal loss's gamma must be >= 0, got {gamma}")
    if reduction not in ("mean", "sum", "none"):
        raise ProfondError(f"unknown reduction {reduction!r}; choose mean, sum or none")
    log_p = F.log_softmax(logits, dim=1).gather(1, targets[:, None]).squeeze(1)  # log p_t, (B,)
    loss = -((1 - log_p.exp()) ** gamma) * log_p
    weight = torch.ones_like(loss) if alpha is None else alpha.to(loss)[targets]
    loss = weight * loss
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / weight.sum()


class FocalLoss(nn.Module):
    """:func:`focal_loss` as a module. Shape: ``(B, K)``, ``(B,)`` → scalar."""

    def __init__(self, gamma: float = 2.0, alpha: torch.Tensor | None = None) -> None:
        super().__init__()
        self.gamma = gamma
        self.register_buffer("alpha", alpha if alpha is None else alpha.float())

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha if isinstance(self.alpha, torch.Tensor) else None  # a buffer or None
        return focal_loss(logits, targets, self.gamma, alpha)


def with_focal_loss(task: object, gamma: float = 2.0) -> object:
    """Make a classification task train with the focal loss (its class weights become ``α``).

    Everything else (metrics, figures, predictions) is unchanged. The training pipeline's
    switch is one line: ``task = with_focal_loss(task, gamma)`` when ``--loss focal``.
    """
    from profond.train.tasks.classification import ClassificationTask

    if not isinstance(task, ClassificationTask):
        raise ProfondError("the focal loss applies to classification models")

    classification: ClassificationTask = task

    def training_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        weights = getattr(classification, "class_weights", None)  # set by setup(): read now
        return focal_loss(model(x), y, gamma, weights)

    focal_loss(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), gamma)  # checks gamma now
    task.training_step = training_step  # type: ignore[method-assign]
    return task
