"""The training loop: ``fit`` → ``fit_epoch`` → ``train_step``, driven by a :class:`Task`."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from profond.data.augment import get_augmentation
from profond.data.bundle import DataBundle
from profond.errors import ProfondError
from profond.train.callbacks import Callback, EarlyStopping, WeightAverage
from profond.train.checkpoint import Checkpoint
from profond.train.config import TrainConfig
from profond.train.device import auto_threads, pick_device, resolve_precision
from profond.train.distributed import DistContext, local_device
from profond.train.optim import lr_factor
from profond.train.task import Task

GRAD_CHECK_EVERY = 20  # batches between two gradient-norm checks when not clipping


class TrainingDiverged(ProfondError):
    """The loss or the gradients became NaN/inf or exploded."""


@dataclass
class FitResult:
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = -1
    epochs_run: int = 0
    stopped_early: bool = False
    test_metrics: dict[str, float] = field(default_factory=dict)
    final_metrics: dict[str, float] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)


class Trainer:
    """Trains a model on a task's data, as a :class:`TrainConfig` says.

    Early stopping (``config.patience``) and checkpoints (``checkpoint_path``) are callbacks
    the trainer adds itself; they run on every rank (checkpoints are written by rank 0 only).

    Args:
        config: the run's configuration.
        callbacks: observers (progress display, MLflow tracking, ...).
        checkpoint_path: where to write a checkpoint after each epoch (None: no checkpoints).
        figures_dir: where tasks write their PNG figures (None: no figures).
        dist: the distributed context (rank, world size); single process by default.
    """

    def __init__(
        self,
        config: TrainConfig,
        callbacks: list[Callback] | tuple[Callback, ...] = (),
        checkpoint_path: Path | None = None,
        figures_dir: Path | None = None,
        dist: DistContext | None = None,
    ) -> None:
        self.config = config
        self.dist = dist or DistContext()
        self.callbacks = list(callbacks) if self.dist.is_main else []
        self.checkpoint_path = checkpoint_path
        self.figures_dir = figures_dir
        self.device = local_device(pick_device(config.device))
        self.early_stopping = EarlyStopping(config.patience, config.restore_best)
        self.weight_average = WeightAverage(config.ema) if config.ema else None
        self.checkpoint = Checkpoint(checkpoint_path) if checkpoint_path is not None else None
        self.model: nn.Module | None = None
        self.task: Task | None = None
        self.optimizers: list[torch.optim.Optimizer] = []
        self.epoch = 0  # the next epoch to run
        self.history: dict[str, list[float]] = {}
        self.should_stop = False  # a callback sets it to end training after this epoch
        self.threads: int | None = None  # CPU threads used (None on a GPU)
        self._augment = get_augmentation(config.augment) if config.augment else None
        self._typical_loss = math.inf  # running average of the batch loss
        self.precision = resolve_precision(config.precision, self.device)  # fp32 | bf16
        self._bf16 = self.precision == "bf16"  # matmuls and convolutions in bfloat16

    @property
    def own_callbacks(self) -> list[Callback]:
        """The weight average, early stopping, the checkpoint: they steer the run, on every rank."""
        average = [self.weight_average] if self.weight_average else []
        return average + [self.early_stopping] + ([self.checkpoint] if self.checkpoint else [])

    @property
    def evaluation_model(self) -> nn.Module:
        """The model validation uses: the moving average of the weights with ``config.ema``."""
        assert self.model is not None
        average = self.weight_average.average if self.weight_average else None
        return average if average is not None else self.model

    @property
    def stateful_callbacks(self) -> list[Callback]:
        """Callbacks whose state a checkpoint saves (they return a non-empty ``state_dict``)."""
        return [cb for cb in self.own_callbacks + self.callbacks if cb.state_dict()]

    # ---------------------------------------------------------------- fit
    def fit(
        self, model: nn.Module, task: Task, data: DataBundle, resume: bool = False
    ) -> FitResult:
        """Train ``model`` on ``data`` and evaluate it on the test split.

        With ``resume=True`` the run continues from ``checkpoint_path``; with the same seed it
        ends with the same weights as a run that was never interrupted.
        """
        previous_threads = torch.get_num_threads()
        if self.device.type == "cpu":
            self.threads = self.config.threads or auto_threads(
                model, data.x_train[:1], self.config.batch_size
            )
            torch.set_num_threads(self.threads)
        try:
            return self._fit(model, task, data, resume)
        finally:
            torch.set_num_threads(previous_threads)

    def _fit(self, model: nn.Module, task: Task, data: DataBundle, resume: bool) -> FitResult:
        config = self.config
        model.to(self.device)
        self.model, self.task = model, task
        task.setup(config, self.device)
        self.optimizers = optimizers = task.configure_optimizers(model, config)
        base_lrs = [[g["lr"] for g in opt.param_groups] for opt in optimizers]
        train_model = self._wrap(model)

        if resume:
            if self.checkpoint is None:
                raise ProfondError("cannot resume: this run has no checkpoint path")
            self.checkpoint.restore(self)
        else:
            torch.manual_seed(config.seed)
        for cb in self.own_callbacks + self.callbacks:
            cb.on_fit_start(self, self.epoch)

        x_train, y_train = self._on_device(data.x_train), self._on_device(data.y_train)
        while self.epoch < config.epochs and not self.should_stop:
            epoch = self.epoch
            logs = self._run_epoch(train_model, task, base_lrs, data, x_train, y_train, epoch)
            for key, value in logs.items():
                self.history.setdefault(key, []).append(value)
            stored = set(logs)
            self.epoch = epoch + 1
            for cb in self.own_callbacks:
                cb.on_epoch_end(self, epoch, logs)
            if self.figures_dir is not None and self.dist.is_main:
                rng = torch.get_rng_state()  # figures must not change the training's random stream
                task.epoch_figures(model, data, self.figures_dir, epoch)
                torch.set_rng_state(rng)
            for cb in self.callbacks:
                cb.on_epoch_end(self, epoch, logs)
            # Keys a callback added (per-group accuracy, ...) join the history too. The history
            # is stored before the callbacks run so that this epoch's checkpoint holds it.
            for key in [k for k in logs if k not in stored]:
                self.history.setdefault(key, []).append(logs[key])

        for cb in self.own_callbacks + self.callbacks:
            cb.on_train_end(self)
        return self._finish(model, task, data)

    def _run_epoch(
        self,
        train_model: nn.Module,
        task: Task,
        base_lrs: list[list[float]],
        data: DataBundle,
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        epoch: int,
    ) -> dict[str, float]:
        """Train one epoch, then evaluate on the validation split; the epoch's logs."""
        assert self.model is not None
        start = time.perf_counter()
        self.model.train()
        train_loss = self.fit_epoch(
            train_model, task, self.optimizers, base_lrs, x_train, y_train, epoch
        )
        self.model.eval()
        val: dict[str, float] = {}
        if len(data.x_val):
            with torch.autocast(
                self.device.type, torch.bfloat16, enabled=self._bf16 and task.bf16_validation
            ):
                val = task.evaluate(
                    self.evaluation_model, data.x_val, data.y_val, self.config.batch_size
                )
        logs = {"train_loss": train_loss, **{f"val_{k}": v for k, v in val.items()}}
        logs["lr"] = self.optimizers[0].param_groups[0]["lr"]
        logs["epoch_time_s"] = time.perf_counter() - start
        return logs

    def _finish(self, model: nn.Module, task: Task, data: DataBundle) -> FitResult:
        """Evaluate on the test split, draw the figures and tell the callbacks."""
        model.eval()
        result = FitResult(
            history=self.history,
            best_epoch=self.early_stopping.best_epoch,
            epochs_run=self.epoch,
            stopped_early=self.early_stopping.stopped,
        )
        test = task.evaluate(model, data.x_test, data.y_test, self.config.batch_size)
        result.test_metrics = {f"test_{k}": v for k, v in test.items()}
        result.final_metrics = task.final_metrics(model, data)
        if self.figures_dir is not None and self.dist.is_main:
            result.figures = task.figures(model, data, self.figures_dir, self.history)
        for cb in self.callbacks:
            cb.on_fit_end(self, result)
        return result

    # ---------------------------------------------------------------- epoch
    def fit_epoch(
        self,
        model: nn.Module,
        task: Task,
        optimizers: list[torch.optim.Optimizer],
        base_lrs: list[list[float]],
        x: torch.Tensor,
        y: torch.Tensor,
        epoch: int,
    ) -> float:
        """One pass over the training split in shuffled mini-batches; returns the mean loss."""
        config = self.config
        order = self._epoch_order(len(x), epoch)
        num_batches = math.ceil(len(order) / config.batch_size)
        scheduled = config.schedule != "constant"
        total, count = 0.0, 0
        observers = [*self.own_callbacks, *self.callbacks]
        for batch in range(num_batches):
            if scheduled:
                factor = lr_factor(config, epoch + batch / num_batches)
                for opt, lrs in zip(optimizers, base_lrs, strict=True):
                    for group, lr in zip(opt.param_groups, lrs, strict=True):
                        group["lr"] = lr * factor
            index = order[batch * config.batch_size : (batch + 1) * config.batch_size]
            xb, yb = self._to_device(x[index]), self._to_device(y[index])
            if self._augment is not None and xb.dim() == 4:
                xb = self._augment(xb, None)  # torch's seeded generator: runs repeat exactly
            loss = self.train_step(model, task, optimizers, xb, yb, epoch, batch)
            total += loss * len(index)
            count += len(index)
            for cb in observers:
                cb.on_batch_end(self, epoch, batch, num_batches)
        return total / max(count, 1)

    def train_step(
        self,
        model: nn.Module,
        task: Task,
        optimizers: list[torch.optim.Optimizer],
        x: torch.Tensor,
        y: torch.Tensor,
        epoch: int,
        batch: int,
    ) -> float:
        """Forward, loss (+ L1/L2 penalties), backward, clipping, divergence check, step.

        Returns the batch's loss. The global gradient norm is computed when clipping, and
        otherwise every ``GRAD_CHECK_EVERY`` batches, and whenever the loss jumps tenfold, to
        catch exploding gradients (the loss itself is checked at every batch).
        """
        if task.manual_optimization:
            value = float(task.manual_step(model, x, y, optimizers))
            self._check_finite(value, None, epoch, batch)
            return value
        optimizer = optimizers[0]
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self._bf16):
            loss = task.training_step(model, x, y)
        if self.config.l1 or self.config.l2:
            loss = loss + self._penalty(model)
        loss.backward()
        grad_norm = None
        if self.config.clip_grad_norm is not None:
            grad_norm = float(
                nn.utils.clip_grad_norm_(model.parameters(), self.config.clip_grad_norm)
            )
        elif batch % GRAD_CHECK_EVERY == 0 or loss.item() > 10 * self._typical_loss:
            grad_norm = float(
                nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])
            )
        value = loss.item()
        self._check_finite(value, grad_norm, epoch, batch)
        if math.isfinite(value):  # a running scale of the loss: a jump tenfold triggers a check
            self._typical_loss = (
                value if self._typical_loss == math.inf else 0.9 * self._typical_loss + 0.1 * value
            )
        optimizer.step()
        return value

    # ---------------------------------------------------------------- helpers
    def _penalty(self, model: nn.Module) -> torch.Tensor:
        """L1 and L2 on weights (not biases or norm scales), as course §44.2.4 defines them."""
        weights = [p for name, p in model.named_parameters() if p.ndim > 1 and "norm" not in name]
        penalty = torch.zeros((), device=self.device)
        if self.config.l1:
            penalty = penalty + self.config.l1 * sum(w.abs().sum() for w in weights)
        if self.config.l2:
            penalty = penalty + self.config.l2 * sum((w * w).sum() for w in weights)
        return penalty

    def _check_finite(self, loss: float, grad_norm: float | None, epoch: int, batch: int) -> None:
        bad_loss = not math.isfinite(loss)
        exploded = grad_norm is not None and (
            not math.isfinite(grad_norm)
            or (self.config.clip_grad_norm is None and grad_norm > self.config.explode_grad_norm)
        )
        if not (bad_loss or exploded):
            return
        what = f"loss became {loss}" if bad_loss else f"gradient norm exploded ({grad_norm:.3g})"
        kept = (
            f"; the last good checkpoint is kept at {self.checkpoint_path}"
            if self.checkpoint_path is not None and self.checkpoint_path.exists()
            else ""
        )
        raise TrainingDiverged(
            f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {what}. The learning rate "
            f"({self.config.lr:g}) is probably too high: try --lr {self.config.lr / 10:g}, or "
            f"--clip-grad-norm 1.0{kept}"
        )

    def _epoch_order(self, n: int, epoch: int) -> torch.Tensor:
        """A permutation that depends on (seed, epoch) alone; each rank takes its shard."""
        generator = torch.Generator().manual_seed(self.config.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=generator)
        if self.dist.enabled:
            per_rank = n // self.dist.world_size  # equal shards, or the ranks would wait forever
            order = order[self.dist.rank * per_rank : (self.dist.rank + 1) * per_rank]
        return order.to(self.device) if self.device.type == "cuda" else order

    def _on_device(self, t: torch.Tensor) -> torch.Tensor:
        # Whole splits go to the GPU once: batches are then sliced there, with no copies.
        return t.to(self.device) if self.device.type == "cuda" else t

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        return t if t.device == self.device else t.to(self.device, non_blocking=True)

    def _wrap(self, model: nn.Module) -> nn.Module:
        wrapped = model
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        if self.config.compile:
            wrapped = torch.compile(wrapped)  # type: ignore[assignment]
        return wrapped
