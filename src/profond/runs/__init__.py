"""The run pipeline's public face: ``RunSpec.from_options``, ``train_run``, ``resume_run``.

This module maps that interface onto :mod:`profond.experiment`: the user's flat options
are merged with the dataset's and the family's defaults here, then handed to the training
run. Importing it imports nothing heavy; the functions import torch when called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from profond.errors import ProfondError

OPTION_NAMES = (
    "model", "data", "engine", "epochs", "batch_size", "optimizer", "lr", "momentum",
    "weight_decay", "l1", "l2", "schedule", "step_size", "gamma", "warmup_epochs",
    "clip_grad_norm", "patience", "class_weights", "seed", "device", "threads", "compile",
    "val_fraction", "normalization", "data_dir", "limit", "download", "window", "horizon",
    "max_len", "model_options", "tracking_uri", "experiment", "run_name", "register_as",
    "log_mlflow_model",
)  # fmt: skip
TRAIN_KEYS = (
    "epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "l1", "l2",
    "schedule", "step_size", "gamma", "warmup_epochs", "clip_grad_norm", "patience",
    "class_weights", "seed", "device", "threads", "compile",
)  # fmt: skip
DATA_KEYS = ("val_fraction", "normalization", "data_dir", "limit", "download", "window",
             "horizon", "max_len")  # fmt: skip
MAIN_METRICS = ("test_accuracy", "test_rmse", "test_miou", "test_elbo", "test_mse", "gan_fid")


@dataclass(frozen=True)
class RunSpec:
    """The user's options only; what is absent takes the dataset's and the family's defaults."""

    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RunSpec:
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            raise ProfondError(
                f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(OPTION_NAMES))}"
            )
        return cls({k: v for k, v in options.items() if v is not None})

    @staticmethod
    def option_names() -> tuple[str, ...]:
        return OPTION_NAMES


@dataclass
class RunOutcome:
    run_id: str
    metrics: dict[str, float]
    main_metric: str | None
    parameters: int
    card: Any


def train_run(spec: RunSpec | None = None, *, stream: Any = None, **options: Any) -> RunOutcome:
    """Train, evaluate, save and track one run from the user's options."""
    from profond import experiment

    spec = spec or RunSpec.from_options(options)
    return _outcome(experiment.train_run(_legacy_spec(spec), stream))


def resume_run(run_ref: str, *, stream: Any = None, tracking_uri: str | None = None) -> RunOutcome:
    """Continue the interrupted run ``run_ref`` (an id, prefix or name) from its checkpoint."""
    from profond import experiment
    from profond.track.resolve import resolve_run

    run_id = resolve_run(run_ref, tracking_uri)
    return _outcome(experiment.resume_run(run_id, stream, tracking_uri=tracking_uri))


def _legacy_spec(spec: RunSpec) -> Any:
    """The dataset's, then the family's defaults, then the user's values, in one place."""
    from profond.data.registry import get_dataset
    from profond.experiment import RunSpec as ExperimentSpec
    from profond.experiment import data_options_for, train_config_for
    from profond.models.registry import get_family

    o = spec.options
    model = o.get("model", "mlp")
    family = get_family(model)
    data = o.get("data") or family.default_data
    train = train_config_for(get_dataset(data), family, {k: o[k] for k in TRAIN_KEYS if k in o})
    data_options = data_options_for(
        family, {"seed": train.seed, **{k: o[k] for k in DATA_KEYS if k in o}}
    )
    return ExperimentSpec(
        model=model, data=data, engine=o.get("engine", "torch"),
        model_options=dict(o.get("model_options") or {}), data_options=data_options,
        train=train, tracking_uri=o.get("tracking_uri"),
        experiment=o.get("experiment", "profond"), run_name=o.get("run_name"),
        register_as=o.get("register_as"), log_mlflow_model=o.get("log_mlflow_model", True),
    )  # fmt: skip


def _outcome(legacy: Any) -> RunOutcome:
    metrics = dict(legacy.card.metrics)
    main = next((k for k in MAIN_METRICS if k in metrics), None)
    return RunOutcome(legacy.run_id, metrics, main, legacy.parameters, legacy.card)
