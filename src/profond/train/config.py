"""The typed configuration of one training run."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from profond.errors import ProfondError
from profond.validation import check_bool, check_choice, check_float, check_int

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "warmup", "warmup_cosine", "onecycle")
TTA_MODES = ("flip", "none")
PRECISIONS = ("fp32", "bf16", "auto")
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit integer
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


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
    schedule: str = "constant"  # constant | step | cosine | warmup | warmup_cosine | onecycle
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
    label_smoothing: float = 0.0  # classification: weight of the uniform target in the loss
    ema: float | None = None  # decay of a moving average of the weights (None or 0: off)
    tta: str | None = None  # classification: evaluations' test-time augmentation ("flip"; "none")
    # fp32 | bf16 (training forward passes under bfloat16 autocast) | auto (bf16 where the
    # device computes it natively: profond.train.device.native_bf16)
    precision: str = "fp32"

    def __post_init__(self) -> None:
        check_train_config(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_train_config(config: TrainConfig) -> None:
    """Every field of ``config`` checked for type and range; the first bad one is named.

    Raises:
        ProfondError: ``<field> must be <what>, got <value>``.
    """
    check_int("epochs", config.epochs, minimum=1)
    check_int("batch size", config.batch_size, minimum=1)
    check_choice("optimizer", config.optimizer, OPTIMIZERS)
    check_float("learning rate", config.lr, positive=True)
    check_float("momentum", config.momentum, minimum=0, below=1)
    for name in ("weight_decay", "l1", "l2"):
        check_float(name, getattr(config, name), minimum=0)
    check_choice("schedule", config.schedule, SCHEDULES)
    check_int("step_size", config.step_size, minimum=1)
    check_float("gamma", config.gamma, positive=True)
    check_int("warmup_epochs", config.warmup_epochs, minimum=0)
    check_float("clip_grad_norm", config.clip_grad_norm, positive=True, optional=True)
    check_float("explode_grad_norm", config.explode_grad_norm, positive=True)
    check_int("patience", config.patience, minimum=1, optional=True,
              label="a positive number of epochs")  # fmt: skip
    check_bool("restore_best", config.restore_best)
    if config.class_weights not in (None, "balanced"):
        raise ProfondError(
            f"class_weights must be 'balanced' or unset, got {config.class_weights!r}"
        )
    check_int("seed", config.seed, minimum=0, maximum=MAX_SEED)
    if not isinstance(config.device, str) or not _DEVICE.fullmatch(config.device):
        raise ProfondError(f"unknown device {config.device!r}; use auto, cpu, cuda, cuda:N or mps")
    check_int("threads", config.threads, minimum=1, optional=True)
    check_bool("compile", config.compile)
    check_float("label_smoothing", config.label_smoothing, minimum=0, below=1)
    check_float("ema", config.ema, minimum=0, below=1, optional=True)
    if config.tta is not None:
        check_choice("tta", config.tta, TTA_MODES, what="test-time augmentation")
    check_choice("precision", config.precision, PRECISIONS)
