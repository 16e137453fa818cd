"""Knowledge distillation: a smaller student learns from a trained teacher's softened outputs.

The loss of a batch mixes the teacher's "dark knowledge" with the true labels::

    L = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)

with ``s`` and ``t`` the student's and the teacher's logits and ``T`` the temperature. The
``T^2`` factor keeps the soft term's gradients at the same scale whatever ``T`` (they shrink as
``1/T^2`` otherwise), so ``alpha`` means the same thing at every temperature.

Training goes through profond's :class:`~profond.train.trainer.Trainer` with
:class:`DistillationTask`, a classification task whose loss is the one above.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from profond.data.bundle import DataBundle
from profond.errors import ProfondError
from profond.train.config import TrainConfig
from profond.train.tasks.classification import ClassificationTask


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float = 4.0,
    alpha: float = 0.7,
) -> torch.Tensor:
    """The distillation loss above, averaged over the batch.

    Args:
        student_logits: ``(B, K)``.
        teacher_logits: ``(B, K)`` (no gradient flows into them).
        targets: ``(B,)`` int64 class ids.
        temperature: ``T > 0``; larger values soften both distributions.
        alpha: weight of the soft term in ``[0, 1]``; 0 is plain cross-entropy.

    Returns:
        a scalar tensor.
    """
    check_distillation(temperature, alpha)
    soft_student = F.log_softmax(student_logits / temperature, dim=1)
    soft_teacher = F.softmax(teacher_logits.detach() / temperature, dim=1)
    soft = F.kl_div(soft_student, soft_teacher, reduction="batchmean") * temperature**2
    hard = F.cross_entropy(student_logits, targets)
    return alpha * soft + (1.0 - alpha) * hard


def check_distillation(temperature: float, alpha: float) -> None:
    """A one-line :class:`ProfondError` unless ``temperature > 0`` and ``0 <= alpha <= 1``."""
    if not temperature > 0:
        raise ProfondError(f"--temperature must be positive, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ProfondError(f"--alpha must be in [0, 1], got {alpha}")


class DistillationTask(ClassificationTask):
    """Classification whose training loss is :func:`distillation_loss` against ``teacher``.

    Validation and test metrics are the classifier's own (loss = cross-entropy, accuracy, ...).

    Args:
        data: the bundle to train on (the teacher's data set).
        teacher: the trained teacher, ``(B, *input_shape) → (B, K)`` logits; it stays frozen.
        temperature: ``T``.
        alpha: weight of the soft term.
    """

    name = "classification"

    def __init__(
        self, data: DataBundle, teacher: nn.Module, temperature: float = 4.0, alpha: float = 0.7
    ) -> None:
        super().__init__(data)
        check_distillation(temperature, alpha)
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.temperature = temperature
        self.alpha = alpha
        self.with_baseline = False

    def setup(self, config: TrainConfig, device: torch.device) -> None:
        super().setup(config, device)
        self.teacher.to(device)

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            teacher_logits = self.teacher(x)
        return distillation_loss(model(x), teacher_logits, y, self.temperature, self.alpha)


def distill(
    teacher: nn.Module,
    student: nn.Module,
    data: DataBundle,
    config: TrainConfig,
    temperature: float = 4.0,
    alpha: float = 0.7,
) -> dict[str, float]:
    """Train ``student`` (in place) from ``teacher`` on ``data``; return its test metrics.

    Args:
        teacher: a trained classifier.
        student: an untrained classifier with the same input and output shapes.
        data: the data set (its training split is used with the true labels and the teacher).
        config: epochs, optimizer, ... of the student's training.
        temperature: ``T``.
        alpha: weight of the soft term.

    Returns:
        the student's ``test_*`` metrics.
    """
    from profond.train.trainer import Trainer

    task = DistillationTask(data, teacher, temperature, alpha)
    result = Trainer(config).fit(student, task, data)
    student.cpu().eval()
    teacher.cpu()
    return result.test_metrics
