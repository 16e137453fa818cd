"""A trainer callback that records a run in MLflow, from its opening to its closing.

It opens the run (or reopens it to resume), tags its lineage (user, source, git commit, the
process that trains it), logs params, per-epoch metrics, the dataset and artifacts, and closes it:
FINISHED, FAILED with a one-line reason on any exception, or KILLED on Ctrl-C or SIGTERM (with
the command that resumes it). MLflow's own console output never reaches standard output.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profond.train.callbacks import Callback

if TYPE_CHECKING:
    from profond.train.trainer import FitResult, Trainer

FAILURE_TAG = "profond.failure"  # the one-line reason a run ended FAILED or KILLED


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM asked the process to stop; handled like Ctrl-C."""


def silence_mlflow() -> None:
    """MLflow's INFO lines (a new store's migrations), progress bars and the "View run" links
    it writes to standard output are not profond's output: keep them out of the console."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # read when mlflow is imported
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Whatever a library prints while this holds goes to standard error."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def lineage_tags() -> dict[str, str]:
    """Who ran what, where: MLflow's standard source tags and profond's process tags."""
    tags = {
        "mlflow.user": _user(),
        "mlflow.source.name": " ".join(["profond", *sys.argv[1:2]])
        if Path(sys.argv[0]).name in ("profond", "__main__.py")
        else (sys.argv[0] or "python"),
        "mlflow.source.type": "LOCAL",
        "profond.pid": str(os.getpid()),
        "profond.host": socket.gethostname(),
    }
    commit = _git_commit(Path.cwd())
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _git_commit(folder: Path) -> str | None:
    """The commit checked out in the git repository holding ``folder``, if any."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


class MLflowTracker(Callback):
    """Logs one run. MLflow's autologging does not see a plain PyTorch loop, so all is explicit.

    Args:
        uri: the tracking URI (see :func:`profond.track.store.tracking_uri`).
        experiment: the experiment's name.
        run_id: continue this run (resume) instead of creating one.
        run_name: a display name for a new run.
        tags: tags of the run (``profond.model``, ``profond.data``, ``profond.engine``, ...);
            the lineage tags are added to them.
    """

    def __init__(
        self,
        uri: str | None = None,
        experiment: str = "profond",
        run_id: str | None = None,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        silence_mlflow()
        from profond.track.store import client, ensure_experiment

        self.client = client(uri)
        self.uri = uri
        self.resumed = run_id is not None
        self.stop_requested: str | None = None  # the signal that asked the run to stop
        self.params_logged = False  # a resumed run that logged its params keeps them
        # What a resumed run logged before it stopped is not logged twice: it resumes to the
        # same numbers (epochs up to this step, then final metrics of the same value).
        self._logged_until = -1
        self._logged_final: dict[str, float] = {}
        if run_id is None:
            experiment_id = ensure_experiment(experiment, uri)
            all_tags = {**lineage_tags(), **(tags or {})}
            run = self.client.create_run(experiment_id, run_name=run_name, tags=all_tags)
            run_id = run.info.run_id
        else:
            self.run_id = run_id
            self.client.update_run(run_id, status="RUNNING")
            self.set_tags({k: v for k, v in lineage_tags().items() if k.startswith("profond.")})
            history = self.client.get_metric_history(run_id, "train_loss")
            self._logged_until = max((m.step for m in history), default=-1)
            logged = self.client.get_run(run_id).data
            self._logged_final = dict(logged.metrics)
            self.params_logged = bool(logged.params)
        self.run_id = run_id

    # ------------------------------------------------------------ logging
    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        if items:
            self.client.log_batch(self.run_id, metrics=items)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_artifacts(self, folder: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifacts(self.run_id, str(folder), artifact_path)

    def set_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def log_dataset(self, name: str, splits: dict[str, tuple[Any, Any]]) -> None:
        """Log each split as an MLflow dataset input of the run (name, digest, schema).

        Args:
            name: the dataset's name.
            splits: context (``"training"``, ``"testing"``) → (features, targets) arrays.
        """
        from mlflow.data.numpy_dataset import from_numpy
        from mlflow.entities import DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        inputs = []
        for context, (features, targets) in splits.items():
            dataset = from_numpy(features, targets=targets, name=name)
            tags = [InputTag(MLFLOW_DATASET_CONTEXT, context)]
            inputs.append(DatasetInput(dataset._to_mlflow_entity(), tags))
        self.client.log_inputs(self.run_id, datasets=inputs)

    # ------------------------------------------------------------ trainer hooks
    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None:
        if getattr(trainer, "threads", None):
            self.set_tags({"profond.threads": str(trainer.threads)})
        if getattr(trainer, "precision", None):  # "auto" resolved for this device
            self.set_tags({"profond.precision": trainer.precision})
        # epochs a checkpoint holds but the run did not log (killed in between): log them now
        for epoch in range(self._logged_until + 1, start_epoch):
            logs = {k: v[epoch] for k, v in trainer.history.items() if len(v) > epoch}
            self.log_metrics(logs, step=epoch)
        self._logged_until = max(self._logged_until, start_epoch - 1)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if epoch > self._logged_until:
            self.log_metrics(logs, step=epoch)
        self.raise_if_stopped()

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None:
        final = {**result.test_metrics, **result.final_metrics, "best_epoch": result.best_epoch}
        self.log_metrics({k: v for k, v in final.items() if self._logged_final.get(k) != float(v)})
        for figure in result.figures:
            if Path(figure).is_file():
                self.log_artifact(Path(figure), "figures")

    # ------------------------------------------------------------ closing
    def finish(self, status: str = "FINISHED", reason: str | None = None) -> None:
        """Close the run with ``status``; ``reason`` (one line) is kept as a tag."""
        if reason:
            self.client.set_tag(self.run_id, FAILURE_TAG, _one_line(reason))
        with stdout_to_stderr():
            self.client.set_terminated(self.run_id, status=status)

    @contextlib.contextmanager
    def running(self, resumable: bool = True) -> Iterator[MLflowTracker]:
        """Close the run however the block ends.

        FINISHED when it returns; KILLED on Ctrl-C or SIGTERM, printing how to resume the run
        on standard error; FAILED with a one-line reason on any other exception. The exception
        is raised again. A first Ctrl-C or SIGTERM stops training at the end of the current
        batch (never inside a write to the store); a second one stops at once.
        """
        with self._stop_on_signals():
            try:
                yield self
            except KeyboardInterrupt as exc:
                self._close_quietly("KILLED", str(exc) or "interrupted")
                hint = (
                    f"profond train --resume {self.run_id}"
                    if resumable
                    else "runs of this engine cannot be resumed"
                )
                print(f"run {self.run_id} interrupted; continue it with: {hint}", file=sys.stderr)
                raise
            except BaseException as exc:
                self._close_quietly("FAILED", f"{type(exc).__name__}: {exc}")
                raise
        self.finish("FINISHED")

    def raise_if_stopped(self) -> None:
        """Raise :class:`RunInterrupted` when a signal asked the run to stop."""
        if self.stop_requested:
            raise RunInterrupted(f"stopped by {self.stop_requested}")

    def on_batch_end(self, trainer: Trainer, epoch: int, batch: int, num_batches: int) -> None:
        self.raise_if_stopped()

    def _close_quietly(self, status: str, reason: str) -> None:
        """Close the run even if the store's connection was left broken by the exception."""
        try:
            self.finish(status, reason)
        except Exception:
            from profond.track.store import client

            with contextlib.suppress(Exception):
                self.client = client(self.uri)
                self.finish(status, reason)

    @contextlib.contextmanager
    def _stop_on_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM ask the run to stop (see :meth:`running`) in the main thread."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            name = signal.Signals(signum).name
            if self.stop_requested:
                raise RunInterrupted(f"stopped by {name}")
            self.stop_requested = name
            print(f"{name}: stopping after this batch (again to stop now)", file=sys.stderr)

        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {s: signal.signal(s, handler) for s in signals}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
