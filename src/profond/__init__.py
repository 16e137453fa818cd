"""profond: a deep-learning workbench that trains, tracks, serves and explains the course's networks.

The Python API trains exactly as ``profond train`` does::

    from profond import train_run

    outcome = train_run(model="mlp", data="digits", epochs=5, seed=0)
    print(outcome.run_id, outcome.metrics[outcome.main_metric])

Importing ``profond`` loads neither torch nor MLflow; they load with the first run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from profond.runs import RunOutcome, RunSpec, resume_run, train_run

__all__ = ["RunOutcome", "RunSpec", "__version__", "resume_run", "train_run"]


def __getattr__(name: str) -> Any:
    if name in ("RunOutcome", "RunSpec", "resume_run", "train_run"):
        import profond.runs

        return getattr(profond.runs, name)
    raise AttributeError(f"module 'profond' has no attribute {name!r}")
