"""Using a tracked run's model: evaluation on its test split, predictions on user inputs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import torch

from profond.data.registry import DataOptions, get_dataset
from profond.errors import ProfondError
from profond.track.runs import get_run, load_run_model
from profond.track.store import client
from profond.train.tasks import task_class


def run_data_options(
    run_id: str, uri: str | None = None, normalization: str = "minmax"
) -> DataOptions:
    """The data options the run was trained with (from its ``config/run.json`` artifact).

    Without that artifact, the defaults with the run's ``normalization`` (from its model card).
    """
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client(uri).download_artifacts(run_id, "config/run.json", tmp)
            spec = json.loads(Path(path).read_text(encoding="utf-8"))
        except Exception:
            return DataOptions(normalization=normalization)
    return DataOptions(**spec.get("data_options", {}))


def evaluate_run(run_id: str, uri: str | None = None, outdir: Path | None = None) -> dict[str, Any]:
    """Metrics of run ``run_id`` on its test split, recomputed now; figures into ``outdir``.

    Returns the test metrics (prefixed ``test_``) plus, for classifiers, the per-class report
    and the confusion matrix.
    """
    get_run(run_id, uri)
    loaded = load_run_model(run_id, uri)
    card = loaded.card
    normalization = card.preprocessing.get("normalization", "minmax")
    bundle = get_dataset(card.data).load(run_data_options(run_id, uri, normalization))
    task = task_class(card.task)(bundle)
    metrics = task.evaluate(loaded.model, bundle.x_test, bundle.y_test, 512)
    result: dict[str, Any] = {"run_id": run_id, "model": card.family, "data": card.data}
    result["metrics"] = {f"test_{k}": v for k, v in metrics.items()}
    if card.task == "classification":
        from profond.train.metrics import classification_metrics

        probs = task.predict_proba(loaded.model, bundle.x_test, 512)  # type: ignore[attr-defined]
        details = classification_metrics(bundle.y_test.numpy(), probs.numpy(), with_details=True)
        result["classes"] = bundle.classes
        result["per_class"] = details["per_class"]
        result["confusion_matrix"] = details["confusion_matrix"]
        if outdir is not None:
            from profond.train.plots import confusion_matrix_figure

            outdir.mkdir(parents=True, exist_ok=True)
            confusion_matrix_figure(
                details["confusion_matrix"], bundle.classes, outdir / "confusion_matrix.png"
            )
    return result


def predict_run(run_id: str, sources: list[str], uri: str | None = None) -> list[dict[str, Any]]:
    """Predictions of run ``run_id`` for each input (a file path, or a text for text models)."""
    loaded = load_run_model(run_id, uri)
    task = task_class(loaded.card.task)
    out = []
    for source in sources:
        x = task.prepare_input(source, loaded.card)
        expected = tuple(loaded.card.input_shape)
        if tuple(x.shape[1:]) != expected:
            raise ProfondError(
                f"{source}: input of shape {list(x.shape[1:])}, the model expects {list(expected)}"
            )
        with torch.no_grad():
            output = loaded.model(x)
        for prediction in task.format_prediction(output, loaded.card):
            out.append({"input": source, **prediction})
    return out
