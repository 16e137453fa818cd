"""Train a small net on setting X over seeds, with profond's own parts.

Data come from the data registry (digits, or a cached Fashion-MNIST subset), models from the
model families (or a factory a lab passes for a variant the families lack), training from
:class:`~profond.train.trainer.Trainer` with a task (classification by default) and the
optimizers and schedules of :mod:`profond.train.optim`. So a lab also tests profond.

Fair comparisons: :func:`tune_lr` gives each arm its own learning rate, picked on the
validation split from a small grid, with the same data, batches (the trainer's shuffling depends
on the seed and epoch alone) and budget.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

    from profond.data.bundle import DataBundle
    from profond.train.task import Task

THREADS = 1  # small models: one thread is faster than several fighting over 2 shared cores


@dataclass(frozen=True)
class Setting:
    """One arm of an experiment: a model family with its options, and how to train it.

    The fields not named here keep :class:`~profond.train.config.TrainConfig`'s defaults;
    ``model_options`` are the family's config fields (``hidden_sizes``, ``activation``, ...).
    """

    model: str = "mlp"
    model_options: Mapping[str, Any] = field(default_factory=lambda: {"dropout": 0.0})
    optimizer: str = "sgd"
    lr: float = 0.1
    epochs: int = 10
    batch_size: int = 64
    momentum: float = 0.9
    betas: tuple[float, float] | None = None  # Adam/AdamW (None: torch's 0.9, 0.999)
    weight_decay: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    schedule: str = "constant"
    warmup_epochs: int = 1
    clip_grad_norm: float | None = None
    patience: int | None = None
    explode_grad_norm: float = 1e6

    def but(self, **changes: Any) -> Setting:
        """A copy with some fields changed; ``model_options`` entries are merged."""
        if "model_options" in changes:
            changes["model_options"] = {**self.model_options, **changes["model_options"]}
        return dataclasses.replace(self, **changes)

    def train_config(self, seed: int) -> Any:
        from profond.train.config import TrainConfig

        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del values["model"], values["model_options"]
        return TrainConfig(**values, seed=seed, device="cpu", threads=THREADS)


@dataclass
class Trained:
    """One training run of a setting on one seed.

    Attributes:
        history: per-epoch ``train_loss``, ``val_loss``, ``val_accuracy``, ... (trainer's keys).
        test: ``test_loss``, ``test_accuracy``, ... at the end (``{}`` if it diverged).
        model: the trained module (eval mode).
        diverged: the loss or gradients blew up (the trainer stopped it).
        seconds: wall time of the training.
    """

    history: dict[str, list[float]]
    test: dict[str, float]
    model: nn.Module
    diverged: bool
    seconds: float

    def last(self, key: str) -> float:
        """The last epoch's value of ``key`` (``inf``/``nan`` aware: diverged → ``inf``)."""
        if self.diverged:
            return math.inf
        values = self.history.get(key) or []
        return values[-1] if values else math.nan

    def epochs_to(self, key: str, target: float) -> float:
        """1-based first epoch whose ``key`` reaches ``target`` (``inf`` if never)."""
        for epoch, value in enumerate(self.history.get(key, []), start=1):
            if value >= target:
                return float(epoch)
        return math.inf


@lru_cache(maxsize=8)
def digits(normalization: str = "standard", val_fraction: float = 0.2, seed: int = 0) -> DataBundle:
    """sklearn's digits through the data registry: 1 150 train / 287 val / 360 test, 8×8 images.

    Cached per process; callers must not modify the tensors in place.

    Shape: ``x``: ``(N, 1, 8, 8)`` float32; ``y``: ``(N,)`` int64.
    """
    from profond.data.registry import DataOptions, load_dataset

    options = DataOptions(seed=seed, val_fraction=val_fraction, normalization=normalization)
    return load_dataset("digits", options)


def build_model(setting: Setting, data: DataBundle, seed: int) -> nn.Module:
    """The setting's model family, sized from ``data``, with weights drawn from ``seed``."""
    import torch

    from profond.models.registry import get_family, make_config

    family = get_family(setting.model)
    config = make_config(family, family.data_fields(data), dict(setting.model_options))
    torch.manual_seed(seed)
    return family.module_class(config)


def train(
    setting: Setting,
    data: DataBundle,
    seed: int,
    *,
    model: Callable[[DataBundle, int], nn.Module] | None = None,
    task: Callable[[DataBundle], Task] | None = None,
    callbacks: Sequence[Any] = (),
) -> Trained:
    """Train one seed of ``setting`` on ``data`` with profond's Trainer.

    Args:
        model: ``factory(data, seed) -> nn.Module`` for a model the families lack (its
            weights must be drawn from ``seed``); default: the setting's family.
        task: ``factory(data) -> Task`` (default: the family's task, classification).
        callbacks: trainer callbacks (probes that record something per epoch).

    A divergence (NaN loss, exploded gradients) is a result, not an error: ``diverged=True``.
    """
    import torch

    from profond.train.trainer import Trainer, TrainingDiverged

    torch.set_num_threads(THREADS)
    net = model(data, seed) if model is not None else build_model(setting, data, seed)
    the_task = task(data) if task is not None else _family_task(setting.model, data)
    trainer = Trainer(setting.train_config(seed), callbacks=list(callbacks))
    start = time.perf_counter()
    try:
        fit = trainer.fit(net, the_task, data)
        history, test, diverged = fit.history, fit.test_metrics, False
    except TrainingDiverged:
        history, test, diverged = {}, {}, True
    net.eval()
    return Trained(history, test, net, diverged, time.perf_counter() - start)


def over_seeds(
    setting: Setting, data: DataBundle, seeds: Sequence[int], **kwargs: Any
) -> list[Trained]:
    """:func:`train` once per seed (same data, same budget)."""
    return [train(setting, data, seed, **kwargs) for seed in seeds]


@dataclass(frozen=True)
class Tuned:
    """The learning rate an arm gets, and the grid it was picked from."""

    lr: float
    grid: tuple[float, ...]
    scores: tuple[float, ...]  # validation score per lr (lower is better; inf if diverged)


def tune_lr(
    setting: Setting,
    data: DataBundle,
    grid: Sequence[float],
    *,
    seed: int = 0,
    metric: str = "val_loss",
    **kwargs: Any,
) -> Tuned:
    """Pick ``setting``'s lr from ``grid`` by the last epoch's validation ``metric``.

    Tuning uses one seed (``seed``) and the validation split only, never the test split.
    ``metric`` is minimised; pass ``val_error`` to minimise ``1 - val_accuracy``.
    """
    return _tune(setting, data, grid, seed, metric, **kwargs)[0]


def _tune(
    setting: Setting, data: DataBundle, grid: Sequence[float], seed: int, metric: str, **kwargs: Any
) -> tuple[Tuned, Trained]:
    runs, scores = [], []
    for lr in grid:
        run = train(setting.but(lr=lr), data, seed, **kwargs)
        if metric == "val_error":
            value = 1.0 - run.last("val_accuracy") if not run.diverged else math.inf
        else:
            value = run.last(metric)
        runs.append(run)
        scores.append(value if math.isfinite(value) else math.inf)
    best = min(range(len(grid)), key=lambda i: scores[i])
    return Tuned(float(grid[best]), tuple(float(g) for g in grid), tuple(scores)), runs[best]


def _family_task(model_name: str, data: DataBundle) -> Task:
    from profond.models.registry import get_family
    from profond.train.tasks import task_class

    return task_class(get_family(model_name).task)(data)


def tuned_over_seeds(
    setting: Setting,
    data: DataBundle,
    seeds: Sequence[int],
    grid: Sequence[float],
    *,
    metric: str = "val_loss",
    **kwargs: Any,
) -> tuple[Tuned, list[Trained]]:
    """Tune ``setting``'s lr on ``grid`` (first seed, validation split), then train every seed."""
    tuned, first = _tune(setting, data, grid, seeds[0], metric, **kwargs)
    rest = over_seeds(setting.but(lr=tuned.lr), data, seeds[1:], **kwargs)
    return tuned, [first, *rest]  # the first seed's tuning run at the chosen lr is reused
