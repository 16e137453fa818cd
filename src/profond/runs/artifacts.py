"""What a run leaves behind: its configuration file, its saved model and the MLflow-format copy."""

from __future__ import annotations

import json
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
        extra={**_jsonable(bundle.extra), **_evaluated_with(run), **extra},
    )


def _evaluated_with(run: ResolvedRun) -> dict[str, Any]:
    """The test-time augmentation the test metrics used, which inference repeats."""
    tta = run.train.tta
    return {"tta": tta} if tta == "flip" and run.task == "classification" else {}


def save_model_folder(folder: Path, model: torch.nn.Module, card: ModelCard,
                      bundle: DataBundle) -> Path:  # fmt: skip
    """The run's model as profond loads it, with the drift reference the server compares with."""
    from profond.models.saved import save_model
    from profond.monitor import save_drift_reference

    saved = save_model(folder, model.cpu(), card)
    save_drift_reference(saved, model, bundle)
    return saved


def log_mlflow_model(run: ResolvedRun, tracker: MLflowTracker, folder: Path) -> str | None:
    """The MLflow pyfunc model of the saved ``folder``, for MLflow's own tools and the registry.

    It carries profond's preprocessing and formatter, so ``mlflow models serve`` answers raw
    inputs as ``profond serve`` does. Returns a warning line when it could not be written (the
    run and profond's own model are saved already, so that does not fail the run).
    """
    import mlflow

    from profond.inference.pyfunc import log_pyfunc_model
    from profond.track.store import fluent_tracking_uri, tracking_uri
    from profond.track.tracker import stdout_to_stderr

    try:
        with (
            stdout_to_stderr(),
            fluent_tracking_uri(tracking_uri(run.tracking_uri)),
            mlflow.start_run(run_id=tracker.run_id),
        ):
            log_pyfunc_model(folder, name="model", registered_model_name=run.register_as)
    except Exception as exc:
        return f"warning: the MLflow-format model was not logged ({type(exc).__name__}: {exc})"
    return None


def _jsonable(extra: dict[str, Any]) -> dict[str, Any]:
    return json.loads(
        json.dumps(extra, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    )
