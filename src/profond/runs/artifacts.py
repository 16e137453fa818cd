"""What a run leaves behind: its configuration file, its saved model and the MLflow-format copy."""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profond.atomic import atomic_write_text
from profond.errors import ProfondError

if TYPE_CHECKING:
    import torch

    from profond.data.bundle import DataBundle
    from profond.models.saved import ModelCard
    from profond.runs.resolved import ResolvedRun
    from profond.track.tracker import MLflowTracker

RUN_CONFIG = "run.yaml"  # the resolved options, logged under config/ and kept beside checkpoints
CONFIG_ARTIFACT = "config"

# Warnings torch.export gives while MLflow saves a model, about torch's own internals: nothing a
# user can act on (an LSTM's flat weights, a weight tensor shared by two parameters).
EXPORT_NOISE = (
    r"The tensor attributes .* were assigned during export",
    r"No complete tensor found in the group",
)


def write_run_config(path: Path, run: ResolvedRun) -> Path:
    """Save the run's resolved options as flat YAML (``profond train --config`` replays it)."""
    import yaml

    text = yaml.safe_dump(run.to_options(), sort_keys=False, default_flow_style=False)
    return atomic_write_text(path, "# profond run configuration (every option resolved)\n" + text)


def read_run_config(path: Path) -> dict[str, Any]:
    """The options saved by :func:`write_run_config` (a flat mapping)."""
    import yaml

    try:
        options = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfondError(f"cannot read the run configuration {path}: {exc}") from None
    if not isinstance(options, dict):
        raise ProfondError(f"{path} is not a run configuration (a mapping of option: value)")
    return options


def model_card(run: ResolvedRun, run_id: str, bundle: DataBundle, config: Any,
               metrics: dict[str, float], extra: dict[str, Any]) -> ModelCard:  # fmt: skip
    """The card saved beside the weights: what the model is, and how to feed it."""
    from profond.models.saved import ModelCard

    return ModelCard(
        family=run.model,
        task=run.task,
        data=run.data,
        config=asdict(config),
        input_shape=list(bundle.input_shape),
        classes=list(bundle.classes),
        preprocessing=bundle.preprocessing.to_dict(),
        run_id=run_id,
        metrics=metrics,
        extra={**_jsonable(bundle.extra), **extra},
    )


def save_model_folder(folder: Path, model: torch.nn.Module, card: ModelCard,
                      bundle: DataBundle) -> Path:  # fmt: skip
    """The run's model as profond loads it, with the drift reference the server compares with."""
    from profond.models.saved import save_model

    saved = save_model(folder, model.cpu(), card)
    _save_drift_reference(saved, model, bundle)
    return saved


def log_mlflow_model(run: ResolvedRun, tracker: MLflowTracker, model: torch.nn.Module,
                     bundle: DataBundle) -> str | None:  # fmt: skip
    """An MLflow-format copy of the model with an input signature, for MLflow's own tools.

    profond itself loads the state dict in ``profond_model``; this copy is for ``mlflow models
    serve`` and the registry. Returns a warning line when it could not be written (the run and
    profond's own model are saved already, so that does not fail the run).
    """
    import mlflow
    import torch
    from mlflow.models import infer_signature

    from profond.track.store import tracking_uri
    from profond.track.tracker import stdout_to_stderr

    example = bundle.x_test[:2]
    with torch.no_grad():
        output = model.eval()(example)
    mlflow.set_tracking_uri(tracking_uri(run.tracking_uri))
    try:
        with stdout_to_stderr(), warnings.catch_warnings(), mlflow.start_run(run_id=tracker.run_id):
            for message in EXPORT_NOISE:
                warnings.filterwarnings("ignore", message=message)
            mlflow.pytorch.log_model(
                model,
                name="model",
                signature=infer_signature(example.numpy(), output.numpy()),
                input_example=example.numpy(),
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"],
                registered_model_name=run.register_as,
            )
    except Exception as exc:
        return f"warning: the MLflow-format model was not logged ({type(exc).__name__}: {exc})"
    return None


def _jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    return json.loads(
        json.dumps(extra, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    )


def _save_drift_reference(folder: Path, model: torch.nn.Module, bundle: DataBundle) -> None:
    """Training-time statistics that the server's drift monitor compares live inputs with."""
    import importlib.util

    if bundle.task != "classification" or len(bundle.input_shape) < 2:
        return
    if importlib.util.find_spec("profond.serve.drift") is None:
        return
    from profond.serve.drift import build_reference, save_reference

    save_reference(folder, build_reference(model, bundle.x_train))
