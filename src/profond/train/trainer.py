"""The training loop: ``fit`` → ``fit_epoch`` → ``train_step``, driven by a :class:`Task`."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from profond.data.bundle import DataBundle
from profond.errors import ProfondError
from profond.train.callbacks import Callback
from profond.train.checkpoint import load_checkpoint, save_checkpoint
from profond.train.config import TrainConfig
from profond.train.device import pick_device
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


@dataclass
class _State:
    """What a checkpoint restores."""

    epoch: int = 0  # the next epoch to run
    history: dict[str, list[float]] = field(default_factory=dict)
    best_value: float | None = None
    best_epoch: int = -1
    bad_epochs: int = 0
    best_weights: dict[str, torch.Tensor] | None = None


class Trainer:
    """Trains a model on a task's data, as a :class:`TrainConfig` says.

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
        self.model: nn.Module | None = None
        self._typical_loss = math.inf  # running average of the batch loss

    # ---------------------------------------------------------------- fit
    def fit(
        self, model: nn.Module, task: Task, data: DataBundle, resume: bool = False
    ) -> FitResult:
        """Train ``model`` on ``data`` and evaluate it on the test split.

        With ``resume=True`` the run continues from ``checkpoint_path``; with the same seed it
        ends with the same weights as a run that was never interrupted.
        """
        config = self.config
        if config.threads:
            torch.set_num_threads(config.threads)
        model.to(self.device)
        self.model = model
        task.setup(config, self.device)
        optimizers = task.configure_optimizers(model, config)
        base_lrs = [[g["lr"] for g in opt.param_groups] for opt in optimizers]
        train_model = self._wrap(model)

        state = _State()
        if resume:
            state = self._restore(model, optimizers)
        else:
            torch.manual_seed(config.seed)
        for cb in self.callbacks:
            cb.on_fit_start(self, state.epoch)

        x_train, y_train = self._on_device(data.x_train), self._on_device(data.y_train)
        stopped = False
        for epoch in range(state.epoch, config.epochs):
            start = time.perf_counter()
            model.train()
            train_loss = self.fit_epoch(
                train_model, task, optimizers, base_lrs, x_train, y_train, epoch
            )
            model.eval()
            val = (
                task.evaluate(model, data.x_val, data.y_val, config.batch_size)
                if len(data.x_val)
                else {}
            )
            logs = {"train_loss": train_loss, **{f"val_{k}": v for k, v in val.items()}}
            logs["lr"] = optimizers[0].param_groups[0]["lr"]
            logs["epoch_time_s"] = time.perf_counter() - start
            for key, value in logs.items():
                state.history.setdefault(key, []).append(value)
            stopped = self._track_best(model, task, state, epoch, logs)
            state.epoch = epoch + 1
            if self.checkpoint_path is not None and self.dist.is_main:
                self._save(model, optimizers, state)
            if self.figures_dir is not None and self.dist.is_main:
                rng = torch.get_rng_state()  # figures must not change the training's random stream
                task.epoch_figures(model, data, self.figures_dir, epoch)
                torch.set_rng_state(rng)
            for cb in self.callbacks:
                cb.on_epoch_end(self, epoch, logs)
            if stopped:
                break

        if config.patience is not None and config.restore_best and state.best_weights is not None:
            model.load_state_dict(state.best_weights)
        model.eval()
        result = FitResult(
            history=state.history,
            best_epoch=state.best_epoch,
            epochs_run=state.epoch,
            stopped_early=stopped,
        )
        test = task.evaluate(model, data.x_test, data.y_test, config.batch_size)
        result.test_metrics = {f"test_{k}": v for k, v in test.items()}
        result.final_metrics = task.final_metrics(model, data)
        if self.figures_dir is not None and self.dist.is_main:
            result.figures = task.figures(model, data, self.figures_dir, state.history)
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
        for batch in range(num_batches):
            if scheduled:
                factor = lr_factor(config, epoch + batch / num_batches)
                for opt, lrs in zip(optimizers, base_lrs, strict=True):
                    for group, lr in zip(opt.param_groups, lrs, strict=True):
                        group["lr"] = lr * factor
            index = order[batch * config.batch_size : (batch + 1) * config.batch_size]
            xb, yb = self._to_device(x[index]), self._to_device(y[index])
            loss = self.train_step(model, task, optimizers, xb, yb, epoch, batch)
            total += loss * len(index)
            count += len(index)
            for cb in self.callbacks:
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

    def _track_best(
        self, model: nn.Module, task: Task, state: _State, epoch: int, logs: dict[str, float]
    ) -> bool:
        """Update the best epoch; return True when early stopping says stop."""
        key = f"val_{task.monitor}"
        value = logs.get(key, logs["train_loss"])
        better = state.best_value is None or (
            value < state.best_value if task.monitor_mode == "min" else value > state.best_value
        )
        if better:
            state.best_value, state.best_epoch, state.bad_epochs = value, epoch, 0
            if self.config.patience is not None:
                state.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            state.bad_epochs += 1
        return self.config.patience is not None and state.bad_epochs >= self.config.patience

    def _save(
        self, model: nn.Module, optimizers: list[torch.optim.Optimizer], state: _State
    ) -> None:
        assert self.checkpoint_path is not None
        payload: dict[str, Any] = {
            "config": self.config.to_dict(),
            "model": model.state_dict(),
            "optimizers": [opt.state_dict() for opt in optimizers],
            "rng_cpu": torch.get_rng_state(),
            "epoch": state.epoch,
            "history": state.history,
            "best_value": state.best_value,
            "best_epoch": state.best_epoch,
            "bad_epochs": state.bad_epochs,
            "best_weights": state.best_weights,
        }
        if torch.cuda.is_available():
            payload["rng_cuda"] = torch.cuda.get_rng_state_all()
        save_checkpoint(self.checkpoint_path, payload)

    def _restore(self, model: nn.Module, optimizers: list[torch.optim.Optimizer]) -> _State:
        if self.checkpoint_path is None:
            raise ProfondError("cannot resume: this run has no checkpoint path")
        ckpt = load_checkpoint(self.checkpoint_path)
        model.load_state_dict(ckpt["model"])
        for opt, opt_state in zip(optimizers, ckpt["optimizers"], strict=True):
            opt.load_state_dict(opt_state)
        torch.set_rng_state(ckpt["rng_cpu"])
        if "rng_cuda" in ckpt and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["rng_cuda"])
        best = ckpt["best_weights"]
        return _State(
            epoch=ckpt["epoch"],
            history={k: list(v) for k, v in ckpt["history"].items()},
            best_value=ckpt["best_value"],
            best_epoch=ckpt["best_epoch"],
            bad_epochs=ckpt["bad_epochs"],
            best_weights=copy.deepcopy(best) if best is not None else None,
        )
