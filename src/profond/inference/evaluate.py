"""``profond evaluate``: a tracked run's metrics on its test split, recomputed now."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from profond.data.registry import DataOptions


def run_data_options(
    run_id: str, uri: str | None = None, normalization: str = "minmax"
) -> DataOptions:
    """The data options the run was trained with (from its ``config/run.json`` artifact).

    Without that artifact, the defaults with the run's ``normalization`` (from its model card).
    """
    from profond.data.registry import DataOptions
    from profond.track.store import client

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client(uri).download_artifacts(run_id, "config/run.json", tmp)
            spec = json.loads(Path(path).read_text(encoding="utf-8"))
        except Exception:
            return DataOptions(normalization=normalization)
    return DataOptions(**spec.get("data_options", {}))


def evaluate_run(
    run_ref: str, uri: str | None = None, outdir: Path | None = None
) -> dict[str, Any]:
    """Metrics of the run ``run_ref`` names on its test split; figures into ``outdir``.

    Returns the test metrics (prefixed ``test_``) plus, for classifiers, the per-class report
    and the confusion matrix.
    """
    from profond.data.registry import get_dataset
    from profond.track.resolve import resolve_run
    from profond.track.runs import load_run_model
    from profond.train.tasks import task_class

    run_id = resolve_run(run_ref, uri)
    loaded = load_run_model(run_id, uri)
    card = loaded.card
    normalization = card.preprocessing.get("normalization", "minmax")
    bundle = get_dataset(card.data).load(run_data_options(run_id, uri, normalization))
    task = task_class(card.task)(bundle)
    metrics = task.evaluate(loaded.model, bundle.x_test, bundle.y_test, 512)
    result: dict[str, Any] = {"run_id": run_id, "model": card.family, "data": card.data}
    result["metrics"] = {f"test_{k}": v for k, v in metrics.items()}
    if task.output_kind == "classes":
        result.update(_class_report(task, loaded.model, bundle, outdir))
    return result


def _class_report(task: Any, model: Any, bundle: Any, outdir: Path | None) -> dict[str, Any]:
    from profond.train.metrics import classification_metrics

    probs = task.predict_proba(model, bundle.x_test, 512)
    details = classification_metrics(bundle.y_test.numpy(), probs.numpy(), with_details=True)
    if outdir is not None:
        from profond.train.plots import confusion_matrix_figure

        outdir.mkdir(parents=True, exist_ok=True)
        confusion_matrix_figure(
            details["confusion_matrix"], bundle.classes, outdir / "confusion_matrix.png"
        )
    return {
        "classes": bundle.classes,
        "per_class": details["per_class"],
        "confusion_matrix": details["confusion_matrix"],
    }
