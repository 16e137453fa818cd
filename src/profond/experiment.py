"""One tracked training run, from the options of ``profond train`` to a saved, logged model.

This is where the packages meet: data → model → trainer (with the progress reporter and the
MLflow tracker as callbacks) → saved model, figures and drift reference logged to the run.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from profond.atomic import atomic_write_text
from profond.data.bundle import DataBundle
from profond.data.registry import DataOptions, get_dataset
from profond.errors import ProfondError
from profond.models.registry import get_family, make_config
from profond.models.saved import ModelCard, save_model
from profond.paths import checkpoints_dir
from profond.track.runs import MODEL_ARTIFACT
from profond.track.tracker import MLflowTracker
from profond.train.callbacks import Callback, ProgressReporter
from profond.train.config import TrainConfig
from profond.train.device import pick_device
from profond.train.distributed import (
    DistContext,
    barrier,
    init_distributed,
    shutdown,
)
from profond.train.tasks import task_class
from profond.train.trainer import FitResult, Trainer

ENGINES = ("torch", "scratch")


@dataclass(frozen=True)
class RunSpec:
    """Everything ``profond train`` was asked; saved with the run and used by ``--resume``."""

    model: str = "mlp"  # a --model name
    data: str | None = None  # a --data name; None: the model family's default
    engine: str = "torch"  # torch | scratch (the NumPy engine, MLP only)
    model_options: dict[str, Any] = field(default_factory=dict)  # model config overrides
    data_options: DataOptions = field(default_factory=DataOptions)
    train: TrainConfig = field(default_factory=TrainConfig)
    tracking_uri: str | None = None  # None: MLFLOW_TRACKING_URI, else the SQLite store
    experiment: str = "profond"  # the MLflow experiment's name
    run_name: str | None = None  # a display name for the run
    register_as: str | None = None  # register the model in the MLflow registry under this name
    log_mlflow_model: bool = True  # also log an MLflow-format model (for MLflow's own tools)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ProfondError(
                f"unknown engine {self.engine!r}; choose one of: {', '.join(ENGINES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        d = dict(d)
        d["data_options"] = DataOptions(**d["data_options"])
        d["train"] = TrainConfig(**d["train"])
        return cls(**d)


@dataclass
class RunOutcome:
    run_id: str
    result: FitResult
    card: ModelCard
    parameters: int


def train_run(spec: RunSpec, stream: Any = None, resume_run_id: str | None = None) -> RunOutcome:
    """Train, evaluate, save and track one run (or continue ``resume_run_id``)."""
    family = get_family(spec.model)
    data_name = spec.data or family.default_data
    dataset = get_dataset(data_name)
    if dataset.task not in family.data_tasks:
        raise ProfondError(
            f"model {spec.model!r} does not train on {dataset.task} data such as {data_name!r}; "
            f"it takes {', '.join(family.data_tasks)} data"
        )
    if spec.engine == "scratch":
        from profond.scratch_run import train_scratch_run

        return train_scratch_run(spec, stream, resume_run_id)

    bundle = dataset.load(spec.data_options)
    torch.manual_seed(spec.train.seed)
    config = make_config(family, family.data_fields(bundle), spec.model_options)
    model = family.module_class(config)
    parameters = sum(p.numel() for p in model.parameters())
    task = task_class(family.task)(bundle)

    dist_context = init_distributed(pick_device(spec.train.device))  # single process: no-op
    reporter = ProgressReporter(stream or sys.stderr)
    tracker = _tracker(spec, data_name, dist_context, resume_run_id, bundle)
    run_id = tracker.run_id if tracker else (resume_run_id or "")
    if dist_context.is_main:
        reporter.print_line(
            f"run {run_id}: {spec.model} ({parameters:,} parameters) on {data_name} "
            f"({len(bundle.x_train)} train / {len(bundle.x_val)} val / {len(bundle.x_test)} test)"
        )
    ckpt_dir = checkpoints_dir() / run_id if run_id else None
    if tracker and ckpt_dir is not None:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(ckpt_dir / "run.json", json.dumps(spec.to_dict(), indent=2))
        if resume_run_id is None:
            tracker.log_params(_params(spec, data_name, config, parameters, dist_context))
            tracker.log_artifact(ckpt_dir / "run.json", "config")
    callbacks: list[Callback] = [reporter] + ([tracker] if tracker else [])
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(
            spec.train,
            callbacks=callbacks,
            checkpoint_path=ckpt_dir / "last.pt" if ckpt_dir else None,
            figures_dir=Path(tmp) / "figures",
            dist=dist_context,
        )
        try:
            result = trainer.fit(model, task, bundle, resume=resume_run_id is not None)
        except BaseException:
            if tracker:
                tracker.finish("FAILED")
            shutdown(dist_context)
            raise
        card = ModelCard(
            family=spec.model,
            task=family.task,
            data=data_name,
            config=asdict(config),
            input_shape=list(bundle.input_shape),
            classes=list(bundle.classes),
            preprocessing=bundle.preprocessing.to_dict(),
            run_id=run_id,
            metrics={**result.test_metrics, **result.final_metrics},
            extra=_jsonable(bundle.extra),
        )
        if tracker:
            folder = save_model(Path(tmp) / MODEL_ARTIFACT, model.cpu(), card)
            _save_drift_reference(folder, model, bundle)
            tracker.log_artifacts(folder, MODEL_ARTIFACT)
            if spec.log_mlflow_model or spec.register_as:
                _log_mlflow_model(spec, tracker, model, bundle, reporter)
            tracker.finish("FINISHED")
    barrier(dist_context)
    shutdown(dist_context)
    return RunOutcome(run_id=run_id, result=result, card=card, parameters=parameters)


def train_config_for(dataset: Any, family: Any, given: dict[str, Any]) -> TrainConfig:
    """The options the user gave, else the family's, else the dataset's, else TrainConfig's."""
    return TrainConfig(**{**dataset.train_defaults, **family.train_defaults, **given})


def data_options_for(family: Any, given: dict[str, Any]) -> DataOptions:
    """The data options the user gave, else the family's, else DataOptions' defaults."""
    return DataOptions(**{**family.data_defaults, **given})


def resume_run(run_id: str, stream: Any = None, tracking_uri: str | None = None) -> RunOutcome:
    """Continue an interrupted run from its last checkpoint, in the same MLflow run."""
    spec_path = checkpoints_dir() / run_id / "run.json"
    if not spec_path.is_file():
        raise ProfondError(
            f"no checkpoint for run {run_id!r} in {checkpoints_dir()}; it cannot be resumed"
        )
    spec = RunSpec.from_dict(json.loads(spec_path.read_text(encoding="utf-8")))
    if tracking_uri:
        spec = replace(spec, tracking_uri=tracking_uri)
    return train_run(spec, stream, resume_run_id=run_id)


def _tracker(
    spec: RunSpec,
    data_name: str,
    dist_context: DistContext,
    resume_run_id: str | None,
    bundle: DataBundle,
) -> MLflowTracker | None:
    if not dist_context.is_main:
        return None
    tags = {
        "profond.model": spec.model,
        "profond.data": data_name,
        "profond.engine": spec.engine,
        "profond.task": bundle.task,
        "profond.world_size": str(dist_context.world_size),
    }
    return MLflowTracker(
        spec.tracking_uri, spec.experiment, run_id=resume_run_id, run_name=spec.run_name, tags=tags
    )


def _params(
    spec: RunSpec, data_name: str, config: Any, parameters: int, dist_context: DistContext
) -> dict[str, Any]:
    params: dict[str, Any] = {"model": spec.model, "data": data_name, "engine": spec.engine}
    params.update(spec.train.to_dict())
    params.update({k: v for k, v in asdict(spec.data_options).items()})
    params.update({f"model.{k}": v for k, v in asdict(config).items()})
    params["parameters"] = parameters
    params["world_size"] = dist_context.world_size
    return params


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


def _log_mlflow_model(
    spec: RunSpec,
    tracker: MLflowTracker,
    model: torch.nn.Module,
    bundle: DataBundle,
    reporter: ProgressReporter,
) -> None:
    """An MLflow-format copy of the model with an input signature, for MLflow's own tools.

    profond itself loads the state dict in ``profond_model``; this copy is for ``mlflow models
    serve`` and the registry. Failing to write it does not fail the run.
    """
    import mlflow
    from mlflow.models import infer_signature

    from profond.track.store import tracking_uri

    example = bundle.x_test[:2]
    with torch.no_grad():
        output = model(example)
    mlflow.set_tracking_uri(tracking_uri(spec.tracking_uri))
    try:
        with mlflow.start_run(run_id=tracker.run_id):
            mlflow.pytorch.log_model(
                model.eval(),
                name="model",
                signature=infer_signature(example.numpy(), output.numpy()),
                input_example=example.numpy(),
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"],
                registered_model_name=spec.register_as,
            )
    except Exception as exc:  # the run and profond's own model are already saved
        reporter.print_line(
            f"warning: the MLflow-format model was not logged ({type(exc).__name__}: {exc})"
        )
