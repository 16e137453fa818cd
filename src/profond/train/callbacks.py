"""Hooks that plug into the trainer: progress display, tracking, anything that observes a run."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from profond.train.trainer import FitResult, Trainer


# Logged to MLflow but left out of the one-line epoch summary, to keep it readable.
HIDDEN_IN_PROGRESS = ("epoch_time_s", "lr", "precision_macro", "recall_macro", "roc_auc_ovr")


class Callback:
    """Observes a run; every hook is optional. Only rank 0 calls them in distributed runs."""

    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, num_batches: int) -> None: ...

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None: ...


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

    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None:
        self._fit_start = time.perf_counter()
        self._start_epoch = start_epoch
        if start_epoch:
            self.print_line(f"resuming at epoch {start_epoch + 1}/{trainer.config.epochs}")

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, num_batches: int) -> None:
        if batch == 0:
            self._epoch_start = time.perf_counter()
        if not self.batch_bar or (batch % 10 and batch != num_batches - 1):
            return
        done = (batch + 1) / num_batches
        elapsed = time.perf_counter() - self._epoch_start
        eta = elapsed / done - elapsed
        bar = "#" * int(30 * done)
        self.stream.write(
            f"\repoch {epoch + 1}/{trainer.config.epochs} [{bar:<30}] {batch + 1}/{num_batches} eta {eta:4.0f}s"
        )
        self.stream.flush()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        epochs_done = epoch + 1 - self._start_epoch
        per_epoch = (time.perf_counter() - self._fit_start) / epochs_done
        eta = per_epoch * (trainer.config.epochs - epoch - 1)
        shown = "  ".join(
            f"{k} {v:.4f}" for k, v in logs.items() if not k.endswith(HIDDEN_IN_PROGRESS)
        )
        if self.batch_bar:
            self.stream.write("\r" + " " * 100 + "\r")
        self.print_line(
            f"epoch {epoch + 1}/{trainer.config.epochs}  {shown}  ({logs.get('epoch_time_s', 0):.2f}s, eta {eta:.0f}s)"
        )

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None:
        if result.stopped_early:
            self.print_line(f"early stopping: best epoch {result.best_epoch + 1}, weights restored")
        shown = "  ".join(
            f"{k} {v:.4f}" for k, v in {**result.test_metrics, **result.final_metrics}.items()
        )
        self.print_line(f"test: {shown}")

    def print_line(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()
