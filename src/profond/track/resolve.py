"""Run references: every way a user may name a run, turned into its full MLflow run id.

Accepted: a full run id, a unique id prefix (at least 4 hex digits), a run name,
``runs:/RUN_ID/...``, and the registry forms ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``,
``models:/NAME/STAGE`` and ``models:/NAME/latest`` (resolved by MLflow itself).
"""

from __future__ import annotations

import re
from typing import Any

from profond.errors import ProfondError
from profond.track.store import client

_HEX = re.compile(r"[0-9a-f]+")
MIN_PREFIX = 4
_MAX_SCANNED = 50_000  # runs read when the store cannot filter by prefix itself


def resolve_run(ref: str, tracking_uri: str | None = None) -> str:
    """The full run id that ``ref`` names in the store at ``tracking_uri``.

    Raises:
        ProfondError: (one line) no such run, an ambiguous prefix or name (the candidates'
            ids listed), or a registry URI that names no version.
    """
    ref = ref.strip()
    if not ref:
        raise ProfondError("empty run reference; give a run id, prefix, name or models:/ URI")
    mlflow_client = client(tracking_uri)
    if ref.startswith("runs:/"):
        return _from_runs_uri(ref, mlflow_client)
    if ref.startswith("models:/"):
        return _from_models_uri(ref, mlflow_client)
    if _HEX.fullmatch(ref.lower()):
        found = _by_id(ref.lower(), mlflow_client)
        if found:
            return found
    return _by_name(ref, mlflow_client)


def _from_runs_uri(ref: str, mlflow_client: Any) -> str:
    from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

    try:
        run_id, _ = RunsArtifactRepository.parse_runs_uri(ref)
    except Exception as exc:
        raise ProfondError(f"bad runs:/ URI {ref!r} ({_first_line(exc)})") from None
    if _exists(run_id, mlflow_client):
        return run_id
    raise ProfondError(f"no run with id {run_id!r} (from {ref}); list the runs with `profond runs`")


def _from_models_uri(ref: str, mlflow_client: Any) -> str:
    """A registry URI resolved by MLflow: version, alias, stage or latest."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    try:
        found = get_model_name_and_version(mlflow_client, ref)
        if len(found) == 1:  # models:/m-<id>, a logged model
            run_id = mlflow_client.get_logged_model(found[0]).source_run_id
        else:
            run_id = mlflow_client.get_model_version(*found).run_id
    except (MlflowException, ValueError) as exc:
        raise ProfondError(f"no registered model version {ref} ({_first_line(exc)})") from None
    if not run_id:
        raise ProfondError(f"registered model {ref} is not linked to a run")
    return run_id


def _by_id(ref: str, mlflow_client: Any) -> str | None:
    """The run whose id is ``ref`` or starts with it; ``None`` when none does."""
    if _exists(ref, mlflow_client):
        return ref
    if len(ref) < MIN_PREFIX:
        return None
    ids = sorted(
        {run.info.run_id for run in _search(mlflow_client, None) if run.info.run_id.startswith(ref)}
    )
    if len(ids) > 1:
        raise ProfondError(
            f"run id prefix {ref!r} is ambiguous: {', '.join(ids[:10])}"
            + (" ..." if len(ids) > 10 else "")
        )
    return ids[0] if ids else None


def _by_name(ref: str, mlflow_client: Any) -> str:
    quoted = ref.replace("\\", "\\\\").replace("'", "\\'")
    runs = _search(mlflow_client, f"attributes.run_name = '{quoted}'")
    ids = sorted({run.info.run_id for run in runs})
    if len(ids) > 1:
        raise ProfondError(
            f"run name {ref!r} is ambiguous: {len(ids)} runs carry it ({', '.join(ids[:10])}); "
            "give one of their ids"
        )
    if not ids:
        raise ProfondError(f"no run with id or name {ref!r}; list the runs with `profond runs`")
    return ids[0]


def _exists(run_id: str, mlflow_client: Any) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_run(run_id)
    except MlflowException:
        return False
    return True


def _search(mlflow_client: Any, filter_string: str | None) -> list[Any]:
    """Runs of every experiment (active ones) matching ``filter_string``, paging through."""
    from mlflow.entities import ViewType

    experiment_ids = [e.experiment_id for e in mlflow_client.search_experiments()]
    if not experiment_ids:
        return []
    runs: list[Any] = []
    token = None
    while len(runs) < _MAX_SCANNED:
        page = mlflow_client.search_runs(
            experiment_ids, filter_string or "", ViewType.ACTIVE_ONLY, 1000, page_token=token
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    return runs


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
