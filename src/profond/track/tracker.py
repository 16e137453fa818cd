"""A trainer callback that records a run in MLflow: params, per-epoch metrics, artifacts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profond.track.store import client, ensure_experiment
from profond.train.callbacks import Callback

if TYPE_CHECKING:
    from profond.train.trainer import FitResult, Trainer


class MLflowTracker(Callback):
    """Logs one run. MLflow's autologging does not see a plain PyTorch loop, so all is explicit.

    Args:
        uri: the tracking URI (see :func:`profond.track.store.tracking_uri`).
        experiment: the experiment's name.
        run_id: continue this run (resume) instead of creating one.
        run_name: a display name for a new run.
        tags: tags of the run (``profond.model``, ``profond.data``, ``profond.engine``, ...).
    """

    def __init__(
        self,
        uri: str | None = None,
        experiment: str = "profond",
        run_id: str | None = None,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.client = client(uri)
        self.uri = uri
        if run_id is None:
            experiment_id = ensure_experiment(experiment, uri)
            run = self.client.create_run(experiment_id, run_name=run_name, tags=tags or {})
            run_id = run.info.run_id
        else:
            self.client.update_run(run_id, status="RUNNING")
        self.run_id = run_id

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

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self.log_metrics(logs, step=epoch)

    def on_fit_end(self, trainer: Trainer, result: FitResult) -> None:
        self.log_metrics(
            {**result.test_metrics, **result.final_metrics, "best_epoch": result.best_epoch}
        )
        for figure in result.figures:
            if Path(figure).is_file():
                self.log_artifact(Path(figure), "figures")

    def finish(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status=status)
