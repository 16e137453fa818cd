"""From what the user asked to what a run does: dataset defaults, then the model family's,
then the user's values, in this one place for the command line and the Python API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from profond.errors import ProfondError
from profond.runs.practice import PracticeOptions, resolve_practice
from profond.runs.spec import DATA_OPTIONS, ENGINES, TRAIN_OPTIONS, RunSpec

DEFAULT_MODEL = "mlp"
DEFAULT_EXPERIMENT = "profond"


@dataclass(frozen=True)
class ResolvedRun:
    """Every value a run uses, defaults filled in; saved with the run as ``config/run.yaml``."""

    model: str
    data: str
    engine: str
    model_options: dict[str, Any]
    train: Any  # TrainConfig
    data_options: Any  # DataOptions
    tracking_uri: str | None = None
    experiment: str = DEFAULT_EXPERIMENT
    run_name: str | None = None
    register_as: str | None = None
    log_mlflow_model: bool = True
    task: str = field(default="", compare=False)  # the family's task name
    practice: PracticeOptions = field(default_factory=PracticeOptions)

    def to_options(self) -> dict[str, Any]:
        """The flat options (RunSpec's names) that replay this run through ``from_options``."""
        train = self.train.to_dict()
        data = asdict(self.data_options)
        options: dict[str, Any] = {
            "model": self.model,
            "data": self.data,
            "engine": self.engine,
            "model_options": dict(self.model_options),
            **{name: train[name] for name in TRAIN_OPTIONS},
            **{name: data[name] for name in DATA_OPTIONS},
            **asdict(self.practice),
            "tracking_uri": self.tracking_uri,
            "experiment": self.experiment,
            "run_name": self.run_name,
            "register_as": self.register_as,
            "log_mlflow_model": self.log_mlflow_model,
        }
        if options["classes"] is not None:
            options["classes"] = list(options["classes"])
        if options["betas"] is not None:
            options["betas"] = list(options["betas"])
        return options


def resolve(spec: RunSpec) -> ResolvedRun:
    """Fill ``spec`` in: the dataset's training defaults, then the model family's training and
    data defaults, then the user's values (an explicit value always wins, even when it equals
    a default). The data split's seed is the run's seed."""
    from profond.data.registry import DataOptions, get_dataset
    from profond.models.registry import get_family
    from profond.train.config import TrainConfig

    given = spec.given()
    if spec.experiment is not None and not spec.experiment.strip():
        raise ProfondError("the experiment name is empty; give a name or leave it out (profond)")
    engine = given.get("engine", "torch")
    if engine not in ENGINES:
        raise ProfondError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    model = given.get("model", DEFAULT_MODEL)
    family = get_family(model)
    data_name = given.get("data", family.default_data)
    dataset = get_dataset(data_name)
    if dataset.task not in family.data_tasks:
        raise ProfondError(
            f"model {model!r} does not train on {dataset.task} data such as {data_name!r}; "
            f"it takes {', '.join(family.data_tasks)} data"
        )
    practice = resolve_practice(given, family.task, engine)
    user_train = {k: v for k, v in given.items() if k in TRAIN_OPTIONS}
    train = TrainConfig(**{**dataset.train_defaults, **family.train_defaults, **user_train})
    user_data = {k: v for k, v in given.items() if k in DATA_OPTIONS}
    data_options = DataOptions(**{**family.data_defaults, **user_data, "seed": train.seed})
    return ResolvedRun(
        model=model,
        data=data_name,
        engine=engine,
        model_options=dict(spec.model_options),
        train=train,
        data_options=data_options,
        tracking_uri=spec.tracking_uri,
        experiment=spec.experiment or DEFAULT_EXPERIMENT,
        run_name=spec.run_name,
        register_as=spec.register_as,
        log_mlflow_model=True if spec.log_mlflow_model is None else spec.log_mlflow_model,
        task=family.task,
        practice=practice,
    )
