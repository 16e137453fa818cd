"""Optimizers (course §44.2.3) and learning-rate schedules as pure functions of the epoch."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from profond.train.config import TrainConfig


def build_optimizer(
    params: Iterable[torch.nn.Parameter], config: TrainConfig
) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer``."""
    params = list(params)
    wd = config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, weight_decay=wd)
    if config.optimizer in ("momentum", "nesterov"):
        return torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.optimizer == "nesterov",
            weight_decay=wd,
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=wd)
    return torch.optim.RMSprop(params, lr=config.lr, momentum=0.0, weight_decay=wd)


def lr_factor(config: TrainConfig, epoch: float) -> float:
    """Multiplier of the base learning rate at (fractional) ``epoch`` (0-based).

    - ``step``: ``gamma ** floor(epoch / step_size)``
    - ``cosine``: half a cosine from 1 to 0 over all epochs
    - ``warmup``: linear from ``1/(warmup steps)`` to 1 over ``warmup_epochs``, then 1
    - ``warmup_cosine``: warm-up, then cosine over the remaining epochs
    """
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "step":
        return config.gamma ** math.floor(epoch / config.step_size)
    warm = config.warmup_epochs if config.schedule.startswith("warmup") else 0
    if epoch < warm:
        return max(epoch / warm, 1e-3)
    if config.schedule == "warmup":
        return 1.0
    span = max(config.epochs - warm, 1e-9)
    return 0.5 * (1.0 + math.cos(math.pi * min((epoch - warm) / span, 1.0)))


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float, factor: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = base_lr * factor
