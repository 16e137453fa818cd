"""What a user asked of a run: a flat set of options, each unset unless given.

The same names serve ``profond train``'s options, ``train_run(**options)`` and the keys of a
run's ``config/run.yaml``. This module imports neither torch nor MLflow: a command line can
check a configuration file before anything heavy loads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from profond.errors import ProfondError

ENGINES = ("torch", "scratch")

# option → the types a value may have (None is always allowed: the option is unset).
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    # what to train
    "model": (str,), "data": (str,), "engine": (str,), "model_options": (dict,),
    # how to train (TrainConfig)
    "epochs": (int,), "batch_size": (int,), "optimizer": (str,), "lr": (float,),
    "momentum": (float,), "weight_decay": (float,), "l1": (float,), "l2": (float,),
    "schedule": (str,), "step_size": (int,), "gamma": (float,), "warmup_epochs": (int,),
    "clip_grad_norm": (float,), "explode_grad_norm": (float,), "patience": (int,),
    "restore_best": (bool,), "class_weights": (str,), "seed": (int,), "device": (str,),
    "threads": (int,), "compile": (bool,), "betas": (list, tuple), "augment": (str,),
    "label_smoothing": (float,), "ema": (float,), "tta": (str,), "precision": (str,),
    # which data (DataOptions; its seed is the run's seed)
    "val_fraction": (float,), "normalization": (str,), "data_dir": (str,), "limit": (int,),
    "download": (bool,), "window": (int,), "horizon": (int,), "max_len": (int,),
    # practice: robustness, transfer, continual learning, imbalance
    "adversarial": (str,), "adversarial_eps": (float,), "init_from": (str,), "freeze": (str, int),
    "replay": (int,), "classes": (list, tuple, str), "imbalance_ratio": (float,),
    "resample": (str,), "loss": (str,), "focal_gamma": (float,),
    # where it is tracked
    "tracking_uri": (str,), "experiment": (str,), "run_name": (str,), "register_as": (str,),
    "log_mlflow_model": (bool,),
}  # fmt: skip

TRAIN_OPTIONS = (
    "epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "l1", "l2",
    "schedule", "step_size", "gamma", "warmup_epochs", "clip_grad_norm", "explode_grad_norm",
    "patience", "restore_best", "class_weights", "seed", "device", "threads", "compile",
    "betas", "augment", "label_smoothing", "ema", "tta", "precision",
)  # fmt: skip
PRACTICE_OPTIONS = (
    "adversarial", "adversarial_eps", "init_from", "freeze", "replay", "classes",
    "imbalance_ratio", "resample", "loss", "focal_gamma",
)  # fmt: skip
DATA_OPTIONS = (
    "val_fraction", "normalization", "data_dir", "limit", "download", "window", "horizon",
    "max_len",
)  # fmt: skip


@dataclass(frozen=True)
class RunSpec:
    """The user's options for one run; ``None`` means "not given" (a default will apply).

    Build it with keywords (``RunSpec(model="cnn", epochs=3)``) or from a flat dict with
    :meth:`from_options`; :func:`profond.runs.resolve` fills in the defaults.
    """

    model: str | None = None  # a --model name (default: mlp)
    data: str | None = None  # a --data name (default: the model family's)
    engine: str | None = None  # torch | scratch (the NumPy engine, MLP only)
    model_options: dict[str, Any] = field(default_factory=dict)  # model config overrides
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    l1: float | None = None
    l2: float | None = None
    schedule: str | None = None
    step_size: int | None = None
    gamma: float | None = None
    warmup_epochs: int | None = None
    clip_grad_norm: float | None = None
    explode_grad_norm: float | None = None
    patience: int | None = None
    restore_best: bool | None = None
    class_weights: str | None = None
    seed: int | None = None
    device: str | None = None
    threads: int | None = None  # None: chosen for the model's size and the machine
    compile: bool | None = None
    betas: tuple[float, float] | None = None
    augment: str | None = None
    label_smoothing: float | None = None
    ema: float | None = None  # decay of the moving average of the weights
    tta: str | None = None  # "flip": evaluate on the images and their mirror images
    precision: str | None = None  # fp32 | bf16 | auto
    val_fraction: float | None = None
    normalization: str | None = None
    data_dir: str | None = None
    limit: int | None = None
    download: bool | None = None
    window: int | None = None
    horizon: int | None = None
    max_len: int | None = None
    adversarial: str | None = None  # fgsm | pgd: train on attacked batches as well
    adversarial_eps: float | None = None  # the attack's L-inf radius (default 0.1)
    init_from: str | None = None  # a run reference whose matching weights start the model
    freeze: str | None = None  # with init_from: N first layers, or up-to-LAYER
    replay: int | None = None  # with init_from: N examples of the parent run's classes
    classes: list[int] | None = None  # train on these class ids only (continual learning)
    imbalance_ratio: float | None = None  # skew the training split: largest/smallest class
    resample: str | None = None  # balanced: draw the training split with classes equally likely
    loss: str | None = None  # cross_entropy (default) | focal
    focal_gamma: float | None = None  # the focal loss's gamma (default 2)
    tracking_uri: str | None = None  # None: MLFLOW_TRACKING_URI, else the SQLite store
    experiment: str | None = None  # the MLflow experiment (default: profond)
    run_name: str | None = None
    register_as: str | None = None  # register the model in the MLflow registry under this name
    log_mlflow_model: bool | None = None  # also log an MLflow-format model (default: yes)

    def __post_init__(self) -> None:
        for name in OPTION_TYPES:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _checked(name, value))

    @staticmethod
    def option_names() -> tuple[str, ...]:
        """Every option a spec takes, in the order of :class:`RunSpec`'s fields."""
        return tuple(f.name for f in dataclasses.fields(RunSpec))

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RunSpec:
        """A spec from a flat dict keyed by option names; unknown keys are refused."""
        if not isinstance(options, dict):
            raise ProfondError(f"run options must be a mapping of option: value, got {options!r}")
        unknown = sorted(str(k) for k in set(options) - set(cls.option_names()))
        if unknown:
            raise ProfondError(
                f"unknown run option(s) {', '.join(unknown)}; valid: {', '.join(cls.option_names())}"
            )
        return cls(**{k: v for k, v in options.items() if v is not None})

    def given(self) -> dict[str, Any]:
        """The options the user set (not None; ``model_options`` when not empty)."""
        values = {name: getattr(self, name) for name in self.option_names()}
        return {k: v for k, v in values.items() if v is not None and v != {}}


def _checked(name: str, value: Any) -> Any:
    """``value`` of option ``name``, checked against its type (YAML's ``1e-3`` is a string)."""
    types = OPTION_TYPES[name]
    if float in types and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
        if name == "betas":
            return _betas(value)
        if name == "classes":
            return _classes(value)
        if name == "freeze":
            return str(value)
        if isinstance(value, dict):  # model_options
            return {str(k): v for k, v in value.items()}
        return value
    expected = " or ".join("a list" if t in (list, tuple) else t.__name__ for t in types)
    raise ProfondError(f"option {name} expects {expected}, got {value!r}")


def _betas(value: Any) -> tuple[float, float]:
    try:
        betas = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        betas = ()
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ProfondError(f"option betas expects two numbers in [0, 1), got {value!r}")
    return betas  # type: ignore[return-value]


def _classes(value: Any) -> list[int]:
    """Class ids from ``[0, 1, 2]`` or ``"0,1,2"``: distinct integers >= 0, at least one."""
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        ids = [int(str(v).strip()) for v in items if str(v).strip()]
    except ValueError:
        ids = []
    if not ids or min(ids) < 0 or len(set(ids)) != len(ids):
        raise ProfondError(
            f"option classes expects distinct class ids >= 0 such as 0,1,2, got {value!r}"
        )
    return ids
