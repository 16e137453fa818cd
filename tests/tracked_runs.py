"""Small tracked runs for the compression and attack tests: a CNN trained on the digits.

The run is logged the way a training run logs itself (MLflow run, saved model card and
weights, ``config/run.json``), with the trainer and the tracker called directly.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from profond.data.registry import DataOptions, get_dataset
from profond.models.registry import get_family, make_config
from profond.models.saved import ModelCard, save_model
from profond.track.runs import MODEL_ARTIFACT
from profond.track.tracker import MLflowTracker
from profond.train.config import TrainConfig
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


def tracked_cnn_run(
    channels: str = "8,16", hidden_size: int = 32, epochs: int = 3, seed: int = 0, name: str = ""
) -> str:
    """Train a CNN on the digits (about a second), track it, return its run id."""
    options = DataOptions(seed=seed, download=False)
    bundle = get_dataset("digits").load(options)
    family = get_family("cnn")
    config = make_config(family, family.data_fields(bundle),
                         {"channels": channels, "hidden_size": hidden_size, "dropout": 0.0})  # fmt: skip
    torch.manual_seed(seed)
    model = family.module_class(config)
    train = TrainConfig(epochs=epochs, lr=3e-3, seed=seed, device="cpu")
    result = Trainer(train).fit(model, ClassificationTask(bundle), bundle)
    tags = {"profond.model": "cnn", "profond.data": "digits", "profond.task": "classification"}
    tracker = MLflowTracker(run_name=name or None, tags=tags)
    tracker.log_params({"model": "cnn", "data": "digits", **train.to_dict()})
    card = ModelCard(
        family="cnn", task="classification", data="digits", config=asdict(config),
        input_shape=list(bundle.input_shape), classes=list(bundle.classes),
        preprocessing=bundle.preprocessing.to_dict(), run_id=tracker.run_id,
        metrics=result.test_metrics,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_model(Path(tmp) / MODEL_ARTIFACT, model.cpu().eval(), card)
        tracker.log_artifacts(folder, MODEL_ARTIFACT)
        spec = Path(tmp) / "run.json"
        spec.write_text(json.dumps({"data_options": asdict(options)}))
        tracker.log_artifact(spec, "config")
    tracker.log_metrics(result.test_metrics)
    tracker.finish()
    return tracker.run_id


def store_with_runs(folder: Path, **runs: dict) -> tuple[str, dict[str, str]]:
    """A SQLite store in ``folder`` holding one tracked CNN run per keyword (its options).

    The store outlives the per-test ``PROFOND_HOME``: pass its URI to the code under test.
    Returns ``(tracking URI, {keyword: run id})``.
    """
    import pytest

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROFOND_HOME", str(folder / "home"))
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        ids = {key: tracked_cnn_run(**options) for key, options in runs.items()}
    return uri, ids
