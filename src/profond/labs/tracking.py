"""Each lab run is an MLflow run: params (mode, seeds, config), measured values, figures, verdicts."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from profond.labs.base import LabResult

EXPERIMENT = "labs"
_KEY = re.compile(r"[^A-Za-z0-9_.\-/ ]")


def numbers(measured: dict[str, Any], prefix: str) -> dict[str, float]:
    """The scalar numbers of ``measured`` (per-seed lists become ``key.0``, ``key.1``, ...)."""
    out: dict[str, float] = {}
    for key, value in measured.items():
        name = _KEY.sub("_", f"{prefix}.{key}")
        if isinstance(value, bool):
            out[name] = float(value)
        elif isinstance(value, (int, float)):
            out[name] = float(value)
        elif isinstance(value, dict):
            out.update(numbers(value, name))
        elif isinstance(value, list) and len(value) <= 64:
            for i, item in enumerate(value):
                if isinstance(item, (int, float)) and not isinstance(item, bool):
                    out[f"{name}.{i}"] = float(item)
                elif isinstance(item, dict):
                    out.update(numbers(item, f"{name}.{i}"))
    return {k: v for k, v in out.items() if v == v and abs(v) != float("inf")}


def track(result: LabResult, uri: str | None = None) -> str:
    """Record ``result`` as one MLflow run in experiment ``labs``; returns the run id."""
    from profond.track.tracker import MLflowTracker

    tags = {
        "profond.kind": "lab",
        "profond.lab": result.lab.name,
        "profond.lab.mode": result.mode,
    }
    for verdict in result.verdicts:
        tags[f"verdict.{verdict.claim.id}"] = verdict.status
    tracker = MLflowTracker(
        uri, experiment=EXPERIMENT, run_name=f"lab-{result.lab.name}-{result.mode}", tags=tags
    )
    try:
        config = dataclasses.asdict(result.lab.config_for(result.mode))
        tracker.log_params(
            {**config, "mode": result.mode, "seed_list": ",".join(map(str, result.seeds))}
        )
        metrics = {"seconds": result.seconds}
        for verdict in result.verdicts:
            metrics.update(numbers(verdict.measured, verdict.claim.id))
            metrics[f"{verdict.claim.id}.holds"] = float(verdict.passed)
        items = list(metrics.items())
        for i in range(0, len(items), 500):  # MLflow takes at most 1 000 metrics a batch
            tracker.log_metrics(dict(items[i : i + 500]))
        for figure in result.figures:
            if figure.is_file():
                tracker.log_artifact(figure, "figures")
        results = result.outdir / "results.json"
        if results.is_file():
            tracker.log_artifact(results)
    except Exception:
        tracker.finish("FAILED")
        raise
    tracker.finish()
    return tracker.run_id
