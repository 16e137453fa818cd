"""Adversarial training: a task wrapper that trains on attacked batches as well as clean ones.

:func:`make_adversarial` wraps any classification :class:`~profond.train.task.Task`; the
:class:`~profond.train.trainer.Trainer` runs it like the task it wraps. Each training batch
is attacked (FGSM or PGD) against the current model, and the loss is
``(1 - mix) * L(clean) + mix * L(adversarial)``. Validation, test metrics, figures and
predictions are the wrapped task's own: they measure the model on clean data (``profond
attack`` measures it under attack).

The examples are made with the model in eval mode (batch-norm statistics are not updated by
the attack's extra forward passes, and dropout does not blur the gradient), then the model is
put back in training mode for the loss.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError
from profond.robust.attacks import attack, check_eps, check_method, input_bounds
from profond.train.task import Task


class AdversarialTask(Task):
    """``inner`` trained on a mix of clean and adversarial batches.

    Args:
        inner: a classification task (its ``data`` provides the input range).
        method: ``"fgsm"`` or ``"pgd"``.
        eps: L∞ radius of the attack, in the model's input units.
        mix: weight of the adversarial loss in ``[0, 1]`` (1: adversarial batches only).
        steps: PGD steps.
        alpha: PGD step size (None: ``2.5 * eps / steps``).
    """

    def __init__(
        self,
        inner: Task,
        method: str = "fgsm",
        eps: float = 0.1,
        mix: float = 0.5,
        steps: int = 7,
        alpha: float | None = None,
    ) -> None:
        super().__init__(inner.data)
        check_method(method)
        check_eps(eps)
        if not 0.0 <= mix <= 1.0:
            raise ProfondError(f"the adversarial mix must be in [0, 1], got {mix}")
        if inner.manual_optimization:
            raise ProfondError(f"adversarial training does not apply to the {inner.name} task")
        self.inner = inner
        self.method, self.eps, self.mix = method, eps, mix
        self.steps, self.alpha = steps, alpha
        self.bounds = input_bounds(inner.data.x_train)
        # Task's class attributes (name, main metric, output kind, what applies...) would shadow
        # __getattr__: take every one of them from the inner task
        for attribute in _task_attributes():
            setattr(self, attribute, getattr(inner, attribute))
        self.generator = torch.Generator().manual_seed(0)

    def __getattr__(self, name: str) -> Any:  # anything else a caller reads from the task
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def setup(self, config: Any, device: torch.device) -> None:
        self.inner.setup(config, device)
        self.generator = torch.Generator().manual_seed(config.seed)

    def configure_optimizers(self, model: nn.Module, config: Any) -> list[torch.optim.Optimizer]:
        return self.inner.configure_optimizers(model, config)

    def adversarial_batch(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Attacked copy of ``x`` ``(B, *input_shape)`` against ``model`` as it is now."""
        was_training = model.training
        model.eval()
        options: dict[str, Any] = {"bounds": self.bounds}
        if self.method == "pgd":
            options.update(steps=self.steps, alpha=self.alpha, generator=self.generator)
        adv = attack(self.method, model, x, y, self.eps, **options)
        model.train(was_training)
        return adv

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        adv = self.adversarial_batch(model, x, y)
        clean_loss = self.inner.training_step(model, x, y) if self.mix < 1 else 0.0
        weight = getattr(self.inner, "class_weights", None)
        adv_loss = F.cross_entropy(model(adv), y, weight=weight)
        return (1 - self.mix) * clean_loss + self.mix * adv_loss

    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        return self.inner.evaluate(model, x, y, batch_size)

    def figures(self, model: nn.Module, data: Any, outdir: Any, history: Any) -> list:
        return self.inner.figures(model, data, outdir, history)

    def final_metrics(self, model: nn.Module, data: Any) -> dict[str, float]:
        return self.inner.final_metrics(model, data)

    def epoch_figures(self, model: nn.Module, data: Any, outdir: Any, epoch: int) -> list:
        return self.inner.epoch_figures(model, data, outdir, epoch)

    def format_prediction(self, output: torch.Tensor, card: Any) -> list:  # type: ignore[override]
        return self.inner.format_prediction(output, card)


def make_adversarial(task: Task, method: str | None, **options: Any) -> Task:
    """``task`` itself when ``method`` is None, else :class:`AdversarialTask` around it.

    This is the switch the training pipeline calls for ``--adversarial fgsm|pgd``::

        task = make_adversarial(task, spec.adversarial, eps=spec.adversarial_eps)

    Args:
        task: a classification task.
        method: None, ``"fgsm"`` or ``"pgd"``.
        options: ``eps``, ``mix``, ``steps``, ``alpha`` of :class:`AdversarialTask`.
    """
    if method is None:
        return task
    if task.name != "classification":
        raise ProfondError(f"--adversarial applies to classification models, not {task.name}")
    return AdversarialTask(task, method, **options)


def _task_attributes() -> list[str]:
    """The plain values a :class:`Task` declares as class attributes (str, bool, ...)."""
    return [
        key
        for key, value in vars(Task).items()
        if not key.startswith("_") and isinstance(value, (str, bool, int, float))
    ]
