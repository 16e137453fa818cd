"""Hooks that plug into the trainer: progress display, tracking, anything that observes a run."""

from __future__ import annotations

import copy
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from profond.train.trainer import FitResult, Trainer


# Logged to MLflow but left out of the one-line epoch summary, to keep it readable.
HIDDEN_IN_PROGRESS = ("epoch_time_s", "lr", "precision_macro", "recall_macro", "roc_auc_ovr")


class Callback:
    """Observes or steers a run; every hook is optional.

    Only rank 0 calls the callbacks given to a :class:`Trainer` in distributed runs; the
    trainer's own ones (early stopping, checkpoints) run on every rank. A callback that keeps a
    state across epochs returns it from :meth:`state_dict`: checkpoints save and restore it.
    """

    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, num_batches: int) -> None: ...

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch, before the test split is evaluated."""

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class EarlyStopping(Callback):
    """Follows the best epoch of the task's monitored validation metric.

    With ``patience``, asks the trainer to stop after that many epochs without improvement
    and, with ``restore_best``, puts the best epoch's weights back before the test.

    Args:
        patience: epochs without improvement before stopping (None: never stop early).
        restore_best: restore the best epoch's weights when training ends.
    """

    def __init__(self, patience: int | None = None, restore_best: bool = True) -> None:
        self.patience = patience
        self.restore_best = restore_best
        self.best_value: float | None = None
        self.best_epoch = -1
        self.bad_epochs = 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.stopped = False

    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None:
        # a run resumed from the checkpoint of the epoch that stopped it stays stopped
        if self.patience is not None and self.bad_epochs >= self.patience:
            self.stopped = trainer.should_stop = True

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        task = trainer.task
        assert task is not None and trainer.model is not None
        value = logs.get(f"val_{task.monitor}", logs["train_loss"])
        better = self.best_value is None or (
            value < self.best_value if task.monitor_mode == "min" else value > self.best_value
        )
        if better:
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
            if self.patience is not None:
                # the weights that were evaluated (the moving average's, with --ema)
                state = trainer.evaluation_model.state_dict()
                self.best_weights = {k: v.detach().clone() for k, v in state.items()}
        else:
            self.bad_epochs += 1
        if self.patience is not None and self.bad_epochs >= self.patience:
            self.stopped = trainer.should_stop = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.patience is not None and self.restore_best and self.best_weights is not None:
            assert trainer.model is not None
            trainer.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best_value": self.best_value,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_value = state["best_value"]
        self.best_epoch = state["best_epoch"]
        self.bad_epochs = state["bad_epochs"]
        best = state["best_weights"]
        self.best_weights = {k: v.clone() for k, v in best.items()} if best is not None else None


class WeightAverage(Callback):
    """An exponential moving average of the weights, used for every evaluation.

    After each optimizer step, ``avg = d * avg + (1 - d) * w`` for every floating-point
    parameter and buffer (batch-norm statistics included), with ``d = min(decay, (1 + n) /
    (10 + n))`` after ``n`` updates: early on, when the first weights are still random, the
    average follows the model closely. The trainer validates with the averaged copy, and when
    training ends the model takes the averaged weights, so the test and the saved model use them.

    Args:
        decay: the long-run decay ``d`` in (0, 1), e.g. 0.999 (about the last 1 000 steps).
    """

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.average: nn.Module | None = None
        self._pending: dict[str, torch.Tensor] | None = None  # restored before the model exists
        self._pairs: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])

    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None:
        assert trainer.model is not None
        self.average = copy.deepcopy(trainer.model).eval()
        self.average.requires_grad_(False)
        if self._pending is not None:
            self.average.load_state_dict(self._pending)
            self._pending = None
        # the same tensors all along: the optimizer and load_state_dict update them in place
        live = trainer.model.state_dict(keep_vars=True).values()
        pairs = [
            (a, m.detach())
            for a, m in zip(self.average.state_dict().values(), live, strict=True)
            if a.is_floating_point()
        ]
        self._pairs = ([a for a, _ in pairs], [m for _, m in pairs])

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, num_batches: int) -> None:
        import torch

        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        self.updates += 1
        with torch.no_grad():
            torch._foreach_lerp_(self._pairs[0], self._pairs[1], 1.0 - decay)

    def on_train_end(self, trainer: Trainer) -> None:
        assert trainer.model is not None and self.average is not None
        trainer.model.load_state_dict(self.average.state_dict())

    def state_dict(self) -> dict[str, Any]:
        weights = self.average.state_dict() if self.average is not None else self._pending
        return {"updates": self.updates, "weights": weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        weights = state["weights"]
        if self.average is not None and weights is not None:
            self.average.load_state_dict(weights)
        else:
            self._pending = weights


class ProgressReporter(Callback):
    """The one place training talks to the console (standard error).

    Prints one line per epoch with its metrics and the ETA of the run; on a terminal, a bar
    of the batches of the current epoch as well.
    """

    def __init__(self, stream: Any = None, batch_bar: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.batch_bar = self.stream.isatty() if batch_bar is None else batch_bar
        self._epoch_start = 0.0
        self._fit_start = 0.0
        self._start_epoch = 0
        self._epochs = 0

    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None:
        self.start(trainer.config.epochs, start_epoch, getattr(trainer, "threads", None))
        if getattr(trainer, "precision", "fp32") == "bf16":
            self.print_line("forward passes in bfloat16 (--precision fp32 turns it off)")

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, num_batches: int) -> None:
        self.batch_end(epoch, batch, num_batches)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self.epoch_end(epoch, logs)

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None:
        self.fit_end(result)

    # The same lines for any training loop (the scratch engine's included).
    def start(self, epochs: int, start_epoch: int = 0, threads: int | None = None) -> None:
        """Training of ``epochs`` epochs starts at ``start_epoch`` (0-based) on ``threads``."""
        self._epochs = epochs
        self._fit_start = time.perf_counter()
        self._start_epoch = start_epoch
        if threads:
            self.print_line(f"training on {threads} CPU thread{'s' if threads > 1 else ''}")
        if start_epoch:
            self.print_line(f"resuming at epoch {start_epoch + 1}/{epochs}")

    def batch_end(self, epoch: int, batch: int, num_batches: int) -> None:
        if batch == 0:
            self._epoch_start = time.perf_counter()
        if not self.batch_bar or (batch % 10 and batch != num_batches - 1):
            return
        done = (batch + 1) / num_batches
        elapsed = time.perf_counter() - self._epoch_start
        eta = elapsed / done - elapsed
        bar = "#" * int(30 * done)
        self.stream.write(
            f"\repoch {epoch + 1}/{self._epochs} [{bar:<30}] {batch + 1}/{num_batches} eta {eta:4.0f}s"
        )
        self.stream.flush()

    def epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        epochs_done = epoch + 1 - self._start_epoch
        per_epoch = (time.perf_counter() - self._fit_start) / max(epochs_done, 1)
        eta = per_epoch * (self._epochs - epoch - 1)
        shown = "  ".join(
            f"{k} {v:.4f}" for k, v in logs.items() if not k.endswith(HIDDEN_IN_PROGRESS)
        )
        if self.batch_bar:
            self.stream.write("\r" + " " * 100 + "\r")
        self.print_line(
            f"epoch {epoch + 1}/{self._epochs}  {shown}  ({logs.get('epoch_time_s', 0):.2f}s, eta {eta:.0f}s)"
        )

    def fit_end(self, result: FitResult) -> None:
        if result.stopped_early:
            self.print_line(f"early stopping: best epoch {result.best_epoch + 1}, weights restored")
        shown = "  ".join(
            f"{k} {v:.4f}" for k, v in {**result.test_metrics, **result.final_metrics}.items()
        )
        self.print_line(f"test: {shown}")

    def print_line(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
