"""The typed configuration of one training run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from profond.errors import ProfondError

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "warmup", "warmup_cosine")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: one object per run, saved with the run and logged to MLflow."""

    epochs: int = 10  # passes over the training split
    batch_size: int = 128  # the lab's mini-batch size
    optimizer: str = "adam"  # sgd | momentum | nesterov | adam | adamw | rmsprop
    lr: float = 1e-3  # Adam's usual default
    momentum: float = 0.9  # for momentum/nesterov and RMSprop
    weight_decay: float = 0.0  # decoupled for adamw, coupled (L2 in the gradient) otherwise
    l1: float = 0.0  # L1 penalty added to the loss: l1 * sum(|w|)
    l2: float = 0.0  # L2 penalty added to the loss: l2 * sum(w^2) (course §44.2.4)
    schedule: str = "constant"  # constant | step | cosine | warmup | warmup_cosine
    step_size: int = 10  # step schedule: epochs between decays
    gamma: float = 0.1  # step schedule: decay factor
    warmup_epochs: int = 1  # warmup schedules: epochs of linear warm-up
    clip_grad_norm: float | None = None  # clip the global gradient norm to this value
    explode_grad_norm: float = 1e6  # a gradient norm above this stops training as diverged
    patience: int | None = None  # early stopping: epochs without improvement (None: off)
    restore_best: bool = True  # with early stopping, keep the weights of the best epoch
    class_weights: str | None = None  # None | "balanced" (inverse class frequency)
    seed: int = 0  # seeds weights, shuffling and dropout
    device: str = "auto"  # auto (cuda, then mps, then cpu) | cpu | cuda | cuda:N | mps
    threads: int | None = None  # CPU threads for torch (None: chosen for the model's size)
    compile: bool = False  # torch.compile the model
    betas: tuple[float, float] | None = None  # Adam/AdamW betas (None: torch's (0.9, 0.999))
    augment: str | None = None  # image-batch augmentation (profond.data.augment), e.g. shift_flip

    def __post_init__(self) -> None:
        if self.epochs <= 0:
            raise ProfondError(f"epochs must be a positive integer, got {self.epochs}")
        if self.batch_size <= 0:
            raise ProfondError(f"batch size must be a positive integer, got {self.batch_size}")
        if not self.lr > 0:
            raise ProfondError(f"learning rate must be positive, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ProfondError(
                f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}"
            )
        if self.schedule not in SCHEDULES:
            raise ProfondError(
                f"unknown schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULES)}"
            )
        for name in ("weight_decay", "l1", "l2", "momentum"):
            if getattr(self, name) < 0:
                raise ProfondError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.clip_grad_norm is not None and self.clip_grad_norm <= 0:
            raise ProfondError(f"clip_grad_norm must be positive, got {self.clip_grad_norm}")
        if self.patience is not None and self.patience <= 0:
            raise ProfondError(f"patience must be a positive number of epochs, got {self.patience}")
        if self.class_weights not in (None, "balanced"):
            raise ProfondError(
                f"class_weights must be 'balanced' or unset, got {self.class_weights!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
