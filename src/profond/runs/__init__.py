"""One run pipeline for both engines, the same for the command line and the Python API.

>>> from profond.runs import train_run
>>> outcome = train_run(model="mlp", data="digits", epochs=5, seed=0)  # doctest: +SKIP
>>> outcome.metrics[outcome.main_metric]  # doctest: +SKIP

:class:`RunSpec` holds what the user asked (nothing heavy imported), :func:`resolve` fills in
the dataset's and the model family's defaults, :func:`train_run` and :func:`resume_run` run it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from profond.runs.spec import RunSpec

if TYPE_CHECKING:
    from profond.runs.pipeline import RunOutcome, resume_run, train_run
    from profond.runs.resolved import ResolvedRun, resolve

__all__ = ["ResolvedRun", "RunOutcome", "RunSpec", "resolve", "resume_run", "train_run"]

_LAZY = {
    "ResolvedRun": "profond.runs.resolved",
    "resolve": "profond.runs.resolved",
    "RunOutcome": "profond.runs.pipeline",
    "train_run": "profond.runs.pipeline",
    "resume_run": "profond.runs.pipeline",
}


def __getattr__(name: str) -> Any:
    # torch and MLflow load with the pipeline, when a run is resolved or trained
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'profond.runs' has no attribute {name!r}")
