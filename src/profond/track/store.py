"""Where runs are tracked: a local SQLite MLflow store under ``PROFOND_HOME`` by default.

Several ``profond`` processes may share one store (runs started at once): creating and
migrating the SQLite database and creating an experiment happen under a file lock in
``PROFOND_HOME``, and an experiment that another process created first is simply used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any

from profond.paths import profond_home, writable_home

DEFAULT_EXPERIMENT = "profond"
LOCK_TIMEOUT_S = 120.0  # a migration takes seconds; waiting longer means a stuck process

_ready: set[str] = set()  # tracking URIs whose store this process has already opened


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


@contextlib.contextmanager
def fluent_tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's fluent API (``mlflow.start_run``, ``log_model``) pointed at ``uri`` for a while.

    ``mlflow.set_tracking_uri`` is process-wide and also writes ``MLFLOW_TRACKING_URI`` into the
    environment; both are put back afterwards, so a run started from Python leaves the caller's
    process as it found it.
    """
    import mlflow

    previous_env = os.environ.get("MLFLOW_TRACKING_URI")
    previous = mlflow.get_tracking_uri() if previous_env else None
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        if previous_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
            # back to "not set": resolved from the environment. mlflow accepts None here,
            # though its annotation leaves it out.
            mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        else:
            # previous is None when the variable was set but empty: "not set" again
            mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]
            os.environ["MLFLOW_TRACKING_URI"] = previous_env


def store_lock() -> Any:
    """The lock that serializes store creation, migration and experiment creation."""
    from filelock import FileLock

    return FileLock(str(profond_home() / ".store.lock"), timeout=LOCK_TIMEOUT_S)


def client(uri: str | None = None) -> Any:
    """An ``MlflowClient`` on the store, created and migrated (once, under the lock) if new."""
    quiet_mlflow()
    from mlflow.tracking import MlflowClient

    resolved = tracking_uri(uri)
    if resolved in _ready or not _is_local_database(resolved):
        return MlflowClient(tracking_uri=resolved)
    with _locked():
        # Opening the store creates the SQLite tables and runs the schema migrations;
        # the registry's store is opened on first use, so open it here too.
        mlflow_client = MlflowClient(tracking_uri=resolved)
        mlflow_client.search_registered_models(max_results=1)
    _ready.add(resolved)
    return mlflow_client


def ensure_experiment(name: str = DEFAULT_EXPERIMENT, uri: str | None = None) -> str:
    """The id of experiment ``name``, created (with artifacts beside the store) if missing."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client(uri)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = artifact_root() if tracking_uri(uri).startswith("sqlite:") else None
    with _locked():
        experiment = mlflow_client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return mlflow_client.create_experiment(name, artifact_location=location)
        except MlflowException as exc:  # another machine's process created it first
            experiment = mlflow_client.get_experiment_by_name(name)
            if experiment is None:
                raise exc from None
            return experiment.experiment_id


def _is_local_database(uri: str) -> bool:
    return uri.startswith("sqlite:")


def _locked() -> Any:
    from contextlib import nullcontext

    from profond.errors import ProfondError

    try:
        lock = store_lock()
        lock.acquire()
    except TimeoutError:
        raise ProfondError(
            f"the tracking store is locked by another process ({lock.lock_file}) for more than "
            f"{LOCK_TIMEOUT_S:.0f} s; if no profond process is running, delete that file"
        ) from None
    except OSError:  # a read-only PROFOND_HOME: nothing can be created there to race on
        return nullcontext()
    return _Release(lock)


class _Release:
    def __init__(self, lock: Any) -> None:
        self.lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.lock.release()
