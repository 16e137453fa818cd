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


def list_runs(uri: str | None = None, max_results: int = 200) -> list[dict[str, Any]]:
    """Every run of every experiment, newest first, as JSON-ready dicts.

    Each has ``run_id``, ``model``, ``data``, ``engine``, ``status``, ``metrics`` (the final
    ones present), ``duration_s``, ``start_time`` (ISO 8601) and ``experiment``.
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
    end = info.end_time or info.start_time
    final = {
        k: v
        for k, v in data.metrics.items()
        if k in FINAL_METRICS or k.startswith(("test_", "baseline_", "gan_"))
    }
    return {
        "run_id": info.run_id,
        "experiment": experiments.get(info.experiment_id, info.experiment_id),
        "model": data.tags.get("profond.model", data.params.get("model", "")),
        "data": data.tags.get("profond.data", data.params.get("data", "")),
        "engine": data.tags.get("profond.engine", "torch"),
        "status": info.status,
        "metrics": final,
        "duration_s": round((end - info.start_time) / 1000, 3) if info.start_time else None,
        "start_time": datetime.fromtimestamp(info.start_time / 1000, timezone.utc).isoformat()
        if info.start_time
        else None,
    }


def get_run(run_id: str, uri: str | None = None) -> Any:
    """The MLflow run ``run_id``; a clear error when it does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return client(uri).get_run(run_id)
    except MlflowException:
        raise ProfondError(
            f"no run with id {run_id!r}; list the runs with `profond runs`"
        ) from None


def download_model_folder(run_id: str, uri: str | None = None) -> Path:
    """The run's saved-model folder on local disk (copied into ``PROFOND_HOME/models``)."""
    get_run(run_id, uri)
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
    loaded = load_model(download_model_folder(run_id, uri))
    loaded.card.run_id = run_id
    return loaded


def resolve_model_uri(model_uri: str, uri: str | None = None) -> str:
    """The run id behind ``models:/NAME/VERSION`` (or ``runs:/RUN_ID/...``)."""
    from mlflow.exceptions import MlflowException

    if model_uri.startswith("runs:/"):
        return model_uri.split("/")[1]
    if not model_uri.startswith("models:/"):
        raise ProfondError(
            f"model URI {model_uri!r} must look like models:/NAME/VERSION or runs:/RUN_ID/model"
        )
    parts = model_uri[len("models:/") :].split("/")
    if len(parts) != 2:
        raise ProfondError(f"model URI {model_uri!r} must look like models:/NAME/VERSION")
    name, version = parts
    try:
        mlflow_client = client(uri)
        if version.isdigit():
            mv = mlflow_client.get_model_version(name, version)
        else:
            mv = mlflow_client.get_model_version_by_alias(name, version)
    except MlflowException:
        raise ProfondError(f"no registered model version {model_uri}") from None
    if not mv.run_id:
        raise ProfondError(f"registered model {model_uri} is not linked to a run")
    return mv.run_id
