"""``profond evaluate``: a tracked run's metrics on its test split, recomputed now."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from profond.data.registry import DataOptions

EVALUATION_ARTIFACT = "evaluation"  # where the figures of ``evaluate --out`` are logged


def saved_run_options(run_id: str, uri: str | None = None) -> dict[str, Any]:
    """The run's saved options: ``config/run.yaml`` (flat), else an earlier version's
    ``config/run.json`` (nested), else ``{}``."""
    from profond.track.store import client

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("config/run.yaml", "config/run.json"):
            try:
                path = Path(client(uri).download_artifacts(run_id, name, tmp))
                text = path.read_text(encoding="utf-8")
            except Exception:  # not logged by this run
                continue
            if path.suffix == ".json":
                nested = json.loads(text)
                return {**nested, **nested.get("data_options", {})}
            import yaml

            loaded = yaml.safe_load(text)
            return loaded if isinstance(loaded, dict) else {}
    return {}


def run_data_options(
    run_id: str, uri: str | None = None, normalization: str = "minmax"
) -> DataOptions:
    """The data options the run was trained with; without saved options, the defaults with
    the run's ``normalization`` (from its model card)."""
    from dataclasses import fields

    from profond.data.registry import DataOptions

    known = {f.name for f in fields(DataOptions)}
    options = {k: v for k, v in saved_run_options(run_id, uri).items() if k in known}
    options.setdefault("normalization", normalization)
    return DataOptions(**options)


def evaluate_run(
    run_ref: str, uri: str | None = None, outdir: Path | None = None
) -> dict[str, Any]:
    """Metrics of the run ``run_ref`` names on its test split; figures into ``outdir``.

    Returns the test metrics (prefixed ``test_``) plus, for classifiers, the per-class report
    (with each class's average precision), the confusion matrix and ``calibration`` (ECE,
    reliability bins, mean average precision). With ``outdir``, the confusion matrix, the
    reliability diagram and the precision-recall curves are written there as PNG and logged
    to the run under ``evaluation/``.
    """
    from profond.compress.onnx_export import served_model
    from profond.data.registry import get_dataset
    from profond.track.resolve import resolve_run
    from profond.track.runs import load_run_model
    from profond.train.tasks import task_class

    run_id = resolve_run(run_ref, uri)
    loaded = load_run_model(run_id, uri)
    card = loaded.card
    normalization = card.preprocessing.get("normalization", "minmax")
    bundle = get_dataset(card.data).load(run_data_options(run_id, uri, normalization))
    classes = saved_run_options(run_id, uri).get("classes")
    if classes:  # trained on a subset of the classes: tested on it
        from profond.data.replay import class_subset

        bundle = class_subset(bundle, [int(c) for c in classes])
    task = task_class(card.task)(bundle)
    model = served_model(loaded)  # with the test-time augmentation it was tested with
    metrics = task.evaluate(model, bundle.x_test, bundle.y_test, 512)
    result: dict[str, Any] = {"run_id": run_id, "model": card.family, "data": card.data}
    result["metrics"] = {f"test_{k}": v for k, v in metrics.items()}
    if task.output_kind == "classes":
        result.update(_class_report(task, model, bundle, outdir))
        if outdir is not None:
            result["calibration"]["logged"] = _log_figures(run_id, uri, outdir)
    return result


def _class_report(task: Any, model: Any, bundle: Any, outdir: Path | None) -> dict[str, Any]:
    from profond.train.calibration import calibration_report
    from profond.train.metrics import classification_metrics

    probs = task.predict_proba(model, bundle.x_test, 512)
    y = bundle.y_test.numpy()
    details = classification_metrics(y, probs.numpy(), with_details=True)
    if outdir is not None:
        from profond.train.plots import confusion_matrix_figure

        outdir.mkdir(parents=True, exist_ok=True)
        confusion_matrix_figure(
            details["confusion_matrix"], bundle.classes, outdir / "confusion_matrix.png"
        )
    calibration = calibration_report(probs.numpy(), y, list(bundle.classes), outdir)
    per_class = dict(details["per_class"])
    ap = calibration["average_precision"]
    per_class["average_precision"] = [ap.get(name) for name in bundle.classes]  # None: absent
    return {
        "classes": bundle.classes,
        "per_class": per_class,
        "confusion_matrix": details["confusion_matrix"],
        "calibration": {
            "ece": calibration["ece"],
            "mean_average_precision": calibration["mean_average_precision"],
            "reliability": calibration["reliability"],
            "figures": calibration["figures"],
        },
    }


def _log_figures(run_id: str, uri: str | None, outdir: Path) -> bool:
    """The PNG figures of ``outdir`` as artifacts of the run (a record: never fatal)."""
    import sys

    from profond.track.store import client

    try:
        for path in sorted(outdir.glob("*.png")):
            client(uri).log_artifact(run_id, str(path), EVALUATION_ARTIFACT)
    except Exception as exc:
        print(f"warning: the figures were not logged to the run ({exc})", file=sys.stderr)
        return False
    return True
