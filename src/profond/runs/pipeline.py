"""One tracked run, for both engines and for the command line and the Python API alike:
resolve the options, open the MLflow run, train, save and log the model, close the run."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from profond.errors import ProfondError
from profond.runs.artifacts import (
    CONFIG_ARTIFACT,
    RUN_CONFIG,
    log_mlflow_model,
    model_card,
    read_run_config,
    save_model_folder,
    write_run_config,
)
from profond.runs.engine import Engine, FitContext, Trained
from profond.runs.practice import prepare_data
from profond.runs.resolved import ResolvedRun, resolve
from profond.runs.spec import RunSpec

ENGINE_CLASSES: dict[str, str] = {
    "torch": "profond.runs.torch_engine:TorchEngine",
    "scratch": "profond.runs.scratch_engine:ScratchEngine",
}


@dataclass
class RunOutcome:
    """What a finished run gives back.

    Attributes:
        run_id: the MLflow run's id ("" on the non-first processes of a distributed run).
        metrics: the test and final metrics (``test_accuracy``, ``baseline_...``, ...).
        main_metric: the key of ``metrics`` that says how good the model is.
        parameters: the model's number of trainable values.
        card: the saved model's card.
        result: the trainer's full result (history, best epoch, ...).
    """

    run_id: str
    metrics: dict[str, float]
    main_metric: str
    parameters: int
    card: Any
    result: Any


def train_run(spec: RunSpec | None = None, *, stream: Any = None, **options: Any) -> RunOutcome:
    """Train, evaluate, save and track one run.

    ``train_run(model="cnn", data="digits", epochs=3)`` and ``profond train --model cnn
    --data digits --epochs 3`` are the same run: unset options take the dataset's, then the
    model family's defaults (:func:`profond.runs.resolve`). Options given as keywords replace
    those of ``spec``. Progress goes to ``stream`` (standard error by default).
    """
    if options:
        given = RunSpec.from_options(options).given()
        spec = replace(spec, **given) if spec is not None else RunSpec(**given)
    return _execute(resolve(spec or RunSpec()), stream, resume_id=None)


def resume_run(run_ref: str, *, stream: Any = None, tracking_uri: str | None = None) -> RunOutcome:
    """Continue an interrupted run in the same MLflow run: from its last checkpoint, or from
    the first epoch when it was stopped before one was written. A finished run is refused."""
    from profond.track.store import client

    run_id = _resolve_run(run_ref, tracking_uri)
    try:
        status = client(tracking_uri).get_run(run_id).info.status
    except Exception:
        raise ProfondError(
            f"no run {run_ref!r} to resume; list the runs with `profond runs`"
        ) from None
    if status == "FINISHED":
        raise ProfondError(f"run {run_id} is FINISHED; there is nothing to resume")
    options = _saved_options(run_id, tracking_uri)
    if tracking_uri:
        options["tracking_uri"] = tracking_uri
    return _execute(resolve(RunSpec.from_options(options)), stream, resume_id=run_id)


def _execute(run: ResolvedRun, stream: Any, resume_id: str | None) -> RunOutcome:
    from profond.data.registry import get_dataset
    from profond.models.registry import get_family
    from profond.train.callbacks import ProgressReporter

    engine_class = _engine_class(run.engine)
    engine_class.check(run)
    if resume_id is not None and not engine_class.resumable:
        raise ProfondError(f"runs of the {run.engine} engine cannot be resumed; start a new run")
    loaded = get_dataset(run.data).load(run.data_options)
    prepared = prepare_data(run.practice, loaded, run.train.seed, run.tracking_uri)
    engine = engine_class(run, get_family(run.model), prepared.bundle, prepared)
    reporter = ProgressReporter(stream or sys.stderr)
    for line in prepared.notes:
        reporter.print_line(line)
    try:
        if not engine.dist.is_main:  # other processes of a distributed run: train, no records
            with tempfile.TemporaryDirectory() as tmp:
                trained = engine.fit(FitContext(reporter, None, None, Path(tmp) / "figures"))
            return _outcome(run, resume_id or "", engine, trained)
        return _tracked(run, engine, reporter, resume_id)
    finally:
        engine.close()


def _tracked(run: ResolvedRun, engine: Engine, reporter: Any, resume_id: str | None) -> RunOutcome:
    """Train inside an open MLflow run, which is closed FINISHED, FAILED or KILLED."""
    from profond.paths import checkpoints_dir
    from profond.track.runs import MODEL_ARTIFACT
    from profond.track.tracker import MLflowTracker

    tracker = MLflowTracker(run.tracking_uri, run.experiment, run_id=resume_id,
                            run_name=run.run_name, tags=_tags(run, engine))  # fmt: skip
    with tracker.running(resumable=engine.resumable), tempfile.TemporaryDirectory() as tmp:
        bundle = engine.bundle
        reporter.print_line(
            f"run {tracker.run_id}: {run.model} ({engine.parameters:,} parameters, {run.engine} "
            f"engine) on {run.data} ({len(bundle.x_train)} train / {len(bundle.x_val)} val / "
            f"{len(bundle.x_test)} test)"
        )
        ckpt_dir = checkpoints_dir() / tracker.run_id
        config_path = write_run_config(ckpt_dir / RUN_CONFIG, run)
        if not tracker.params_logged:  # new, or stopped before it logged them
            tracker.log_params(_params(run, engine))
            tracker.log_artifact(config_path, CONFIG_ARTIFACT)
            _log_dataset(tracker, run, bundle, reporter)
        checkpoint = ckpt_dir / "last.pt" if engine.resumable else None
        resume = checkpoint is not None and checkpoint.is_file()
        context = FitContext(reporter, tracker, checkpoint, Path(tmp) / "figures", resume)
        trained = engine.fit(context)
        outcome = _outcome(run, tracker.run_id, engine, trained)
        folder = save_model_folder(Path(tmp) / MODEL_ARTIFACT, trained.model, outcome.card, bundle)
        tracker.log_artifacts(folder, MODEL_ARTIFACT)
        for artifact_path, path in trained.artifacts.items():
            tracker.log_artifact(path, artifact_path)
        if run.log_mlflow_model or run.register_as:
            warning = log_mlflow_model(run, tracker, folder)
            if warning:
                reporter.print_line(warning)
    return outcome


def _outcome(run: ResolvedRun, run_id: str, engine: Engine, trained: Trained) -> RunOutcome:
    from profond.train.tasks import task_class

    result = trained.result
    metrics = {**result.test_metrics, **result.final_metrics}
    main = task_class(run.task).main_metric
    card = model_card(run, run_id, engine.bundle, engine.config, metrics, trained.card_extra)
    return RunOutcome(run_id=run_id, metrics=metrics,
                      main_metric=main if main in metrics else "test_loss",
                      parameters=engine.parameters, card=card, result=result)  # fmt: skip


def _engine_class(name: str) -> type[Engine]:
    import importlib

    module, cls = ENGINE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


CONFIG_TAG = "profond.run_config"  # the options, set when the run is created: resumable at once
MAX_TAG_CHARS = 8000  # MLflow's limit on a tag's value


def _tags(run: ResolvedRun, engine: Engine) -> dict[str, str]:
    import json

    tags = {
        "profond.model": run.model,
        "profond.data": run.data,
        "profond.engine": run.engine,
        "profond.task": engine.bundle.task,
        "profond.world_size": str(engine.dist.world_size),
    }
    options = json.dumps(run.to_options(), default=str)
    if len(options) <= MAX_TAG_CHARS:
        tags[CONFIG_TAG] = options
    return tags


def _params(run: ResolvedRun, engine: Engine) -> dict[str, Any]:
    from dataclasses import asdict

    options = run.to_options()
    params: dict[str, Any] = {k: v for k, v in options.items() if k != "model_options"}
    params.update({f"model.{k}": v for k, v in asdict(engine.config).items()})
    params["parameters"] = engine.parameters
    params["world_size"] = engine.dist.world_size
    return params


def _log_dataset(tracker: Any, run: ResolvedRun, bundle: Any, reporter: Any) -> None:
    """The training and test splits as MLflow dataset inputs (digest, schema, size)."""
    try:
        tracker.log_dataset(run.data, {
            "training": (bundle.x_train.numpy(), bundle.y_train.numpy()),
            "testing": (bundle.x_test.numpy(), bundle.y_test.numpy()),
        })  # fmt: skip
    except Exception as exc:  # lineage is a record of the run, not a reason to stop it
        reporter.print_line(f"warning: the dataset was not logged ({type(exc).__name__}: {exc})")


def _resolve_run(ref: str, tracking_uri: str | None) -> str:
    """A full run id for ``ref`` (an id, a unique prefix, a run name, an MLflow URI)."""
    try:
        from profond.track.resolve import resolve_run
    except ImportError:  # run references resolve to themselves where no resolver exists
        return ref
    return resolve_run(ref, tracking_uri)


def _saved_options(run_id: str, tracking_uri: str | None) -> dict[str, Any]:
    """The options of run ``run_id``: kept beside its checkpoints, else from its artifacts."""
    from profond.paths import checkpoints_dir
    from profond.track.store import client

    local = checkpoints_dir() / run_id / RUN_CONFIG
    if local.is_file():
        return read_run_config(local)
    legacy = checkpoints_dir() / run_id / "run.json"
    if legacy.is_file():  # written by earlier versions: nested train/data_options sections
        return _flat_legacy_options(legacy)
    tagged = _tagged_options(run_id, tracking_uri)
    if tagged is not None:  # killed between creating the run and writing its configuration
        return tagged
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client(tracking_uri).download_artifacts(
                run_id, f"{CONFIG_ARTIFACT}/{RUN_CONFIG}", tmp
            )
        except Exception:
            raise ProfondError(
                f"run {run_id} saved no configuration (it stopped while starting); start a new run"
            ) from None
        return read_run_config(Path(path))


def _tagged_options(run_id: str, tracking_uri: str | None) -> dict[str, Any] | None:
    import json

    from profond.track.store import client

    try:
        text = client(tracking_uri).get_run(run_id).data.tags.get(CONFIG_TAG)
        options = json.loads(text) if text else None
    except Exception:
        return None
    return options if isinstance(options, dict) else None


def _flat_legacy_options(path: Path) -> dict[str, Any]:
    """The flat options of an earlier version's ``run.json`` (``train`` and ``data_options``
    sections beside the run's own keys)."""
    import json

    try:
        nested = json.loads(path.read_text(encoding="utf-8"))
        flat = {k: v for k, v in nested.items() if k not in ("train", "data_options")}
        flat.update(nested["train"])
        flat.update({k: v for k, v in nested["data_options"].items() if k != "seed"})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ProfondError(f"{path} is not a run configuration; start a new run") from None
    return flat
