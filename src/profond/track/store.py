"""Where runs are tracked: a local SQLite MLflow store under ``PROFOND_HOME`` by default."""

from __future__ import annotations

import logging
import os
import warnings

from profond.paths import profond_home, writable_home

DEFAULT_EXPERIMENT = "profond"


def tracking_uri(override: str | None = None) -> str:
    """``override``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///$PROFOND_HOME/mlflow.db``."""
    if override:
        return override
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{writable_home() / 'mlflow.db'}"  # SQLite writes even to read


def artifact_root() -> str:
    """Artifacts of runs in the default store live beside it (not in ``./mlruns``)."""
    path = profond_home() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path.as_uri()


def quiet_mlflow() -> None:
    """MLflow's migrations and warnings are noise on a user's console."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")


def client(uri: str | None = None):
    """An ``MlflowClient`` on the store."""
    quiet_mlflow()
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri(uri))


def ensure_experiment(name: str = DEFAULT_EXPERIMENT, uri: str | None = None) -> str:
    """The id of experiment ``name``, created (with artifacts beside the store) if missing."""
    mlflow_client = client(uri)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = artifact_root() if tracking_uri(uri).startswith("sqlite:") else None
    return mlflow_client.create_experiment(name, artifact_location=location)
