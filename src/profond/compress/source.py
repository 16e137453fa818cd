"""A tracked run as the starting point of compression or an attack: its model and its data."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from profond.data.bundle import DataBundle
from profond.data.registry import DataOptions, get_dataset
from profond.errors import ProfondError
from profond.models.saved import LoadedModel


@dataclass
class RunSource:
    """A run's id, its loaded model (CPU, eval mode), its data bundle and its logged params."""

    run_id: str
    loaded: LoadedModel
    bundle: DataBundle
    params: dict[str, str]


def resolve_ref(ref: str, uri: str | None = None) -> str:
    """The full run id behind ``ref`` (an id, a prefix, a name, ``runs:/``, ``models:/``...)."""
    try:
        from profond.track.resolve import resolve_run
    except ImportError:  # older trees: ids and model URIs only
        from profond.track.runs import get_run, resolve_model_uri

        run_id = resolve_model_uri(ref, uri) if ref.startswith(("models:/", "runs:/")) else ref
        get_run(run_id, uri)
        return run_id
    return resolve_run(ref, uri)


def load_source(ref: str, uri: str | None = None, task: str = "classification") -> RunSource:
    """Load the run ``ref``: model, data bundle (the run's own split) and params.

    Args:
        ref: a run reference (see :func:`resolve_ref`).
        uri: the tracking URI (None: the default store).
        task: the task the caller needs; another raises a one-line :class:`ProfondError`.
    """
    from profond.track.runs import get_run, load_run_model

    run_id = resolve_ref(ref, uri)
    loaded = load_run_model(run_id, uri)
    if loaded.card.task != task:
        raise ProfondError(f"run {run_id} is a {loaded.card.task} model; this needs a {task} model")
    options = run_data_options(run_id, uri, loaded.card.preprocessing.get("normalization"))
    bundle = get_dataset(loaded.card.data).load(options)
    params = dict(get_run(run_id, uri).data.params)
    return RunSource(run_id=run_id, loaded=loaded, bundle=bundle, params=params)


def run_data_options(run_id: str, uri: str | None, normalization: str | None) -> DataOptions:
    """The data options of the run: from ``config/run.json`` (nested) or ``config/run.yaml`` (flat).

    Missing files never fail: the defaults, with the card's normalization, are used instead.
    """
    from profond.track.store import client

    known = {f.name for f in fields(DataOptions)}
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("config/run.json", "config/run.yaml"):
            try:
                path = Path(client(uri).download_artifacts(run_id, name, tmp))
            except Exception:  # not logged by this run
                continue
            found = _read_options(path)
            break
    options = {k: v for k, v in found.items() if k in known}
    if normalization and "normalization" not in options:
        options["normalization"] = normalization
    options["download"] = False  # the run's data is already on this machine
    return DataOptions(**options)


def _read_options(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        spec = json.loads(text)
        return dict(spec.get("data_options", spec))
    import yaml

    spec = yaml.safe_load(text) or {}
    return dict(spec.get("data_options", spec))
