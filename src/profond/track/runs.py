"""Reading tracked runs back: the run table, and a run's saved model for evaluate/predict/serve."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from profond.errors import ProfondError
from profond.models.saved import LoadedModel, load_model
from profond.paths import profond_home
from profond.track.store import client

MODEL_ARTIFACT = "profond_model"  # the saved-model folder inside a run's artifacts
FINAL_METRICS = (
    "test_accuracy", "test_f1_macro", "test_loss", "test_rmse", "test_mae", "test_miou",
    "test_elbo", "test_mse", "gan_fid",
)  # fmt: skip


MAIN_METRICS = ("test_accuracy", "test_rmse", "test_miou", "test_elbo", "test_mse", "gan_fid")


def list_runs(uri: str | None = None, max_results: int = 200) -> list[dict[str, Any]]:
    """Every run of every experiment, newest first, as JSON-ready dicts.

    Each has ``run_id``, ``name``, ``model``, ``data``, ``engine``, ``status``, ``stale``
    (RUNNING, but its process is gone), ``metrics`` (the final ones present), ``main_metric``,
    ``duration_s``, ``start_time`` (ISO 8601) and ``experiment``.
    """
    mlflow_client = client(uri)
    experiments = {e.experiment_id: e.name for e in mlflow_client.search_experiments()}
    if not experiments:
        return []
    runs = mlflow_client.search_runs(
        list(experiments), order_by=["attributes.start_time DESC"], max_results=max_results
    )
    return [_describe(run, experiments) for run in runs]


def _describe(run: Any, experiments: dict[str, str]) -> dict[str, Any]:
    from datetime import datetime, timezone

    info, data = run.info, run.data
    stale = info.status == "RUNNING" and _process_gone(data.tags)
    end = info.end_time or (_last_activity(run) if stale else None) or info.start_time
    final = {
        k: v
        for k, v in data.metrics.items()
        if k in FINAL_METRICS or k.startswith(("test_", "baseline_", "gan_"))
    }
    return {
        "run_id": info.run_id,
        "name": info.run_name or data.tags.get("mlflow.runName", ""),
        "experiment": experiments.get(info.experiment_id, info.experiment_id),
        "model": data.tags.get("profond.model", data.params.get("model", "")),
        "data": data.tags.get("profond.data", data.params.get("data", "")),
        "engine": data.tags.get("profond.engine", "torch"),
        "status": info.status,
        "stale": stale,
        "metrics": final,
        "main_metric": _main_metric(data.tags, final),
        "duration_s": round((end - info.start_time) / 1000, 3) if info.start_time else None,
        "start_time": datetime.fromtimestamp(info.start_time / 1000, timezone.utc).isoformat()
        if info.start_time
        else None,
    }


def _main_metric(tags: dict[str, str], metrics: dict[str, float]) -> str | None:
    """The run's main metric: the one its task names (tag), else the first final one known."""
    named = tags.get("profond.main_metric")
    if named:
        return named if named in metrics or f"test_{named}" not in metrics else f"test_{named}"
    return next((k for k in MAIN_METRICS if k in metrics), None)


def _process_gone(tags: dict[str, str]) -> bool:
    """Whether a RUNNING run's training process has died (known only on its own machine)."""
    import os
    import socket

    pid, host = tags.get("profond.pid"), tags.get("profond.host")
    if not pid or not pid.isdigit() or host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def _last_activity(run: Any) -> int | None:
    """When a dead run last logged something (ms), for its duration."""
    times = [m.timestamp for m in getattr(run.data, "_metric_objs", [])]
    return max(times) if times else None


def get_run(run_id: str, uri: str | None = None) -> Any:
    """The MLflow run ``run_id`` (or any run reference); a clear error when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        return client(uri).get_run(run_id)
    except MlflowException:
        pass
    from profond.track.resolve import resolve_run  # a prefix, a name, runs:/ or models:/

    return client(uri).get_run(resolve_run(run_id, uri))


def download_model_folder(run_id: str, uri: str | None = None) -> Path:
    """The run's saved-model folder on local disk (copied into ``PROFOND_HOME/models``)."""
    run_id = get_run(run_id, uri).info.run_id
    target = profond_home() / "models" / run_id
    if (target / MODEL_ARTIFACT / "model.json").is_file():
        return target / MODEL_ARTIFACT
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            local = client(uri).download_artifacts(run_id, MODEL_ARTIFACT, tmp)
            Path(local).rename(target / MODEL_ARTIFACT)
    except Exception as exc:
        raise ProfondError(
            f"run {run_id} has no saved model ({exc}); it may have failed before the end of training"
        ) from None
    return target / MODEL_ARTIFACT


def load_run_model(run_id: str, uri: str | None = None) -> LoadedModel:
    """The model trained by run ``run_id``, ready for inference."""
    folder = download_model_folder(run_id, uri)
    loaded = load_model(folder)
    loaded.card.run_id = folder.parent.name  # the full id, whatever reference was given
    return loaded


def resolve_model_uri(model_uri: str, uri: str | None = None) -> str:
    """The run id behind ``models:/NAME/VERSION|@ALIAS|/STAGE`` or ``runs:/RUN_ID/...``."""
    from profond.track.resolve import resolve_run

    if not model_uri.startswith(("models:/", "runs:/")):
        raise ProfondError(
            f"model URI {model_uri!r} must look like models:/NAME/VERSION, models:/NAME@ALIAS "
            "or runs:/RUN_ID/model"
        )
    return resolve_run(model_uri, uri)
