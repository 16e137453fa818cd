"""Optimizers (course §44.2.3), resolved by name in one table, and learning-rate schedules as
pure functions of the epoch."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from profond.errors import ProfondError
from profond.train.config import TrainConfig

Params = list[torch.nn.Parameter]


def _adam_kwargs(config: TrainConfig) -> dict[str, object]:
    kwargs: dict[str, object] = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.betas is not None:
        kwargs["betas"] = tuple(config.betas)
    return kwargs


# name → how to build it from a TrainConfig. ``weight_decay`` is coupled (L2 in the gradient)
# except for AdamW, where it is decoupled (Loshchilov & Hutter, 2019).
OPTIMIZER_TABLE: dict[str, Callable[[Params, TrainConfig], torch.optim.Optimizer]] = {
    "sgd": lambda p, c: torch.optim.SGD(p, lr=c.lr, weight_decay=c.weight_decay),
    "momentum": lambda p, c: torch.optim.SGD(
        p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay
    ),
    "nesterov": lambda p, c: torch.optim.SGD(
        p, lr=c.lr, momentum=c.momentum, nesterov=True, weight_decay=c.weight_decay
    ),
    "adam": lambda p, c: torch.optim.Adam(p, **_adam_kwargs(c)),  # type: ignore[arg-type]
    "adamw": lambda p, c: torch.optim.AdamW(p, **_adam_kwargs(c)),  # type: ignore[arg-type]
    "rmsprop": lambda p, c: torch.optim.RMSprop(p, lr=c.lr, weight_decay=c.weight_decay),
}


def build_optimizer(
    params: Iterable[torch.nn.Parameter], config: TrainConfig
) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer``; an unknown name is a :class:`ProfondError`."""
    builder = OPTIMIZER_TABLE.get(config.optimizer)
    if builder is None:
        raise ProfondError(
            f"unknown optimizer {config.optimizer!r}; choose one of: {', '.join(OPTIMIZER_TABLE)}"
        )
    return builder(list(params), config)


def lr_factor(config: TrainConfig, epoch: float) -> float:
    """Multiplier of the base learning rate at (fractional) ``epoch`` (0-based).

    - ``step``: ``gamma ** floor(epoch / step_size)``
    - ``cosine``: half a cosine from 1 to 0 over all epochs
    - ``warmup``: linear from ``1/(warmup steps)`` to 1 over ``warmup_epochs``, then 1
    - ``warmup_cosine``: warm-up, then cosine over the remaining epochs
    - ``onecycle``: half a cosine up from ``1/ONECYCLE_DIV`` to 1 over the first
      ``ONECYCLE_RISE`` of the run, then half a cosine down to ``1/ONECYCLE_FINAL_DIV``
      (Smith & Topin, 2018, "Super-Convergence"; torch's ``OneCycleLR`` defaults)
    """
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "onecycle":
        return onecycle_factor(epoch / config.epochs)
    if config.schedule == "step":
        return config.gamma ** math.floor(epoch / config.step_size)
    warm = config.warmup_epochs if config.schedule.startswith("warmup") else 0
    if epoch < warm:
        return max(epoch / warm, 1e-3)
    if config.schedule == "warmup":
        return 1.0
    span = max(config.epochs - warm, 1e-9)
    return 0.5 * (1.0 + math.cos(math.pi * min((epoch - warm) / span, 1.0)))


# One-cycle shape: fraction of the run spent rising, start and end divisors of the peak rate.
ONECYCLE_RISE = 0.3
ONECYCLE_DIV = 25.0
ONECYCLE_FINAL_DIV = 1e4


def onecycle_factor(progress: float) -> float:
    """The one-cycle multiplier at ``progress`` (0: start, 1: end of training)."""
    progress = min(max(progress, 0.0), 1.0)
    low, end = 1.0 / ONECYCLE_DIV, 1.0 / (ONECYCLE_DIV * ONECYCLE_FINAL_DIV)
    if progress < ONECYCLE_RISE:
        phase = progress / ONECYCLE_RISE
        return low + (1.0 - low) * 0.5 * (1.0 - math.cos(math.pi * phase))
    phase = (progress - ONECYCLE_RISE) / (1.0 - ONECYCLE_RISE)
    return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * phase))


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float, factor: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = base_lr * factor
