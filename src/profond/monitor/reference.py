"""The drift reference of a run, built when it is saved (called by the run pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from profond.data.bundle import DataBundle


def build_drift_reference(model: torch.nn.Module, bundle: DataBundle) -> dict[str, Any] | None:
    """The training-time statistics of ``bundle``'s train split, or None where drift does not
    apply (the task does not support it, or the inputs are not arrays of values, e.g. tokens).

    Shape: ``bundle.x_train`` ``(N, *input_shape)`` preprocessed.
    """
    from profond.monitor.drift import build_reference
    from profond.train.tasks import task_for_data

    task = task_for_data(bundle.task)
    if task is None or not task.supports_drift or len(bundle.input_shape) < 2:
        return None
    return build_reference(model, bundle.x_train)


def save_drift_reference(folder: Path, model: torch.nn.Module, bundle: DataBundle) -> None:
    """Write ``folder/drift_reference.json`` when drift applies to this run (see above)."""
    from profond.monitor.drift import save_reference

    reference = build_drift_reference(model, bundle)
    if reference is not None:
        save_reference(folder, reference)
