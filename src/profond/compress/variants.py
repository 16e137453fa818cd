"""``profond compress``'s work: build each compressed variant of a run, measure, track.

Each variant (one int8 mode, one pruning fraction, one distilled student) becomes a new MLflow
run tagged ``profond.parent_run`` with the parent's id, saved with its model card like any run,
so that ``profond predict``, ``evaluate`` and ``serve`` take it. Nothing is logged before every
variant is built and measured: a failure leaves the store as it was.
"""

from __future__ import annotations

import copy
import json
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from profond.compress import distill as distill_mod
from profond.compress import prune as prune_mod
from profond.compress import quantize as quantize_mod
from profond.compress.report import Measurement, comparison_rows, measure
from profond.compress.source import RunSource, load_source
from profond.errors import ProfondError
from profond.models.saved import LoadedModel, ModelCard


@dataclass(frozen=True)
class CompressOptions:
    """What to build from the parent run; each int8 mode and pruning fraction is one variant.

    Attributes:
        int8: int8 modes (``"dynamic"``, ``"static"``).
        prune: pruning fractions in ``[0, 1)``.
        structured: prune whole output channels instead of single weights.
        finetune_epochs: epochs of training with the pruning masks held (0: none).
        distill_from: a teacher run reference; the parent run then names the student's
            architecture, and a fresh student of it is trained against the teacher.
        temperature: distillation temperature ``T``.
        alpha: weight of the teacher's soft targets.
        epochs: epochs of the distilled student (None: the parent's).
        lr: learning rate of distillation and fine-tuning (None: the parent's).
        seed: seeds the student's initialization and the training order.
        calibration_samples: training samples that set static int8's activation ranges.
        repeats: timed calls per latency figure.
        experiment: the MLflow experiment of the new runs.
    """

    int8: tuple[str, ...] = ()
    prune: tuple[float, ...] = ()
    structured: bool = False
    finetune_epochs: int = 0
    distill_from: str | None = None
    temperature: float = 4.0
    alpha: float = 0.7
    epochs: int | None = None
    lr: float | None = None
    seed: int = 0
    calibration_samples: int = 512
    repeats: int = 30
    experiment: str = "profond"

    def check(self) -> None:
        """One-line :class:`ProfondError` on any invalid option, before anything is loaded."""
        if not (self.int8 or self.prune or self.distill_from):
            raise ProfondError("nothing to do: give --int8, --prune and/or --distill-from")
        for mode in self.int8:
            quantize_mod.check_mode(mode)
        for amount in self.prune:
            prune_mod.check_amount(amount)
        if self.distill_from:
            distill_mod.check_distillation(self.temperature, self.alpha)
        for name in ("finetune_epochs", "calibration_samples", "repeats"):
            if getattr(self, name) < (0 if name == "finetune_epochs" else 1):
                raise ProfondError(
                    f"{name.replace('_', '-')} is out of range: {getattr(self, name)}"
                )
        if self.epochs is not None and self.epochs <= 0:
            raise ProfondError(f"--epochs must be positive, got {self.epochs}")
        if self.lr is not None and not self.lr > 0:
            raise ProfondError(f"--lr must be positive, got {self.lr}")


@dataclass
class Variant:
    """One compressed model before it is tracked."""

    name: str
    model: nn.Module
    compression: dict[str, Any]  # goes into card.extra["compression"]
    config: dict[str, Any] | None = None  # the model config when it differs from the parent's
    onnx_path: Path | None = None
    note: str = ""
    measurement: Measurement | None = None
    extra_rows: list[Measurement] = field(default_factory=list)


def compress_run(
    ref: str, options: CompressOptions, uri: str | None = None, stream: Any = None
) -> dict[str, Any]:
    """Build, measure and track every variant ``options`` asks for from run ``ref``.

    Returns:
        ``{"parent_run": id, "runs": {variant name: new run id}, "rows": [...]}`` where rows
        are :func:`profond.compress.report.comparison_rows` (parent first).
    """
    options.check()
    source = load_source(ref, uri)
    torch.manual_seed(options.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        parent_onnx, onnx_note = _export(source.loaded, work / "parent.onnx")
        variants = [_int8(source, mode, parent_onnx, work, options) for mode in options.int8]
        variants += [_pruned(source, a, work, options) for a in options.prune]
        if options.distill_from:
            variants.append(_distilled(source, work, options, uri))
        x, y = source.bundle.x_test, source.bundle.y_test
        parent = measure(
            "parent", source.loaded.model, x, y, parent_onnx, onnx_note, options.repeats
        )
        extra: list[Measurement] = []
        for v in variants:
            v.measurement = measure(v.name, v.model, x, y, v.onnx_path, v.note, options.repeats)
            extra += v.extra_rows
        measured = [*extra, *(v.measurement for v in variants if v.measurement)]
        rows = comparison_rows(parent, measured)
        runs = {v.name: _track(source, v, rows, options, uri) for v in variants}
    return {"parent_run": source.run_id, "runs": runs, "rows": rows}


def _export(loaded: LoadedModel, path: Path) -> tuple[Path | None, str]:
    from profond.compress.onnx_export import export_onnx

    try:
        return export_onnx(loaded, path), ""
    except ProfondError as exc:
        return None, f"no ONNX graph: {exc}"


def _int8(
    source: RunSource, mode: str, parent_onnx: Path | None, work: Path, options: CompressOptions
) -> Variant:
    from profond.compress.quantize import calibration_batches, quantize_model, quantize_onnx

    batches = calibration_batches(source.bundle.x_train, options.calibration_samples)
    model = quantize_model(source.loaded.model, mode, source.loaded.card.family, batches)
    onnx_path, note = None, "onnx: ONNX Runtime's int8 quantizer on the parent's graph"
    if parent_onnx is not None:
        try:
            onnx_path = quantize_onnx(parent_onnx, work / f"int8-{mode}.onnx", mode, batches)
        except Exception as exc:  # the quantizer raises many types on unsupported graphs
            note = f"onnx int8 failed: {type(exc).__name__}: {exc}"
    return Variant(f"int8-{mode}", model, {"int8": mode}, onnx_path=onnx_path, note=note)


def _pruned(source: RunSource, amount: float, work: Path, options: CompressOptions) -> Variant:
    from profond.train.tasks.classification import ClassificationTask
    from profond.train.trainer import Trainer

    model = prune_mod.apply_pruning_masks(
        copy.deepcopy(source.loaded.model), amount, options.structured
    )
    if options.finetune_epochs:
        config = _train_config(source, options, options.finetune_epochs)
        Trainer(config).fit(model, ClassificationTask(source.bundle), source.bundle)
    model = prune_mod.make_permanent(model.cpu().eval())
    kind = "structured" if options.structured else "unstructured"
    name = f"prune-{kind}-{round(amount * 100)}%"
    onnx_path, note = _export(_loaded_like(source, model), work / f"{name}.onnx")
    note = note or f"sparsity {prune_mod.sparsity(model):.3f}"
    compression = {"prune": amount, "structured": options.structured,
                   "finetune_epochs": options.finetune_epochs}  # fmt: skip
    return Variant(name, model, compression, onnx_path=onnx_path, note=note)


def _distilled(source: RunSource, work: Path, options: CompressOptions, uri: str | None) -> Variant:
    from profond.compress.report import measure as measure_model
    from profond.models import build_model

    teacher = load_source(options.distill_from or "", uri)
    t_card, s_card = teacher.loaded.card, source.loaded.card
    if t_card.data != s_card.data or list(t_card.classes) != list(s_card.classes):
        raise ProfondError(
            f"teacher run {teacher.run_id} was trained on {t_card.data!r}, the student run on "
            f"{s_card.data!r}: distillation needs the same data and classes"
        )
    torch.manual_seed(options.seed)
    student = build_model(s_card.family, s_card.config)
    config = _train_config(source, options, options.epochs)
    distill_mod.distill(
        teacher.loaded.model, student, source.bundle, config, options.temperature, options.alpha
    )
    onnx_path, note = _export(_loaded_like(source, student), work / "distilled.onnx")
    teacher_onnx, _ = _export(teacher.loaded, work / "teacher.onnx")
    x, y = source.bundle.x_test, source.bundle.y_test
    teacher_row = measure_model("teacher", teacher.loaded.model, x, y, teacher_onnx, "",
                                options.repeats)  # fmt: skip
    compression = {"distilled_from": teacher.run_id, "temperature": options.temperature,
                   "alpha": options.alpha, "epochs": config.epochs}  # fmt: skip
    return Variant("distilled", student, compression, onnx_path=onnx_path,
                   note=note or f"teacher {teacher.run_id}, T={options.temperature}, "
                   f"alpha={options.alpha}", extra_rows=[teacher_row])  # fmt: skip


def _train_config(source: RunSource, options: CompressOptions, epochs: int | None) -> Any:
    from profond.train.config import TrainConfig

    params = source.params
    return TrainConfig(
        epochs=epochs or int(params.get("epochs", 2)),
        batch_size=int(params.get("batch_size", 128)),
        optimizer=params.get("optimizer", "adam"),
        lr=options.lr or float(params.get("lr", 1e-3)),
        seed=options.seed,
    )


def _loaded_like(source: RunSource, model: nn.Module) -> LoadedModel:
    return LoadedModel(model=model, card=replace(source.loaded.card))


def _track(
    source: RunSource,
    variant: Variant,
    rows: list[dict[str, Any]],
    options: CompressOptions,
    uri: str | None,
) -> str:
    """Log ``variant`` as a new run linked to its parent; return the new run's id."""
    from profond.models.saved import save_model
    from profond.track.runs import MODEL_ARTIFACT
    from profond.track.tracker import MLflowTracker

    card = source.loaded.card
    tags = {
        "profond.model": card.family, "profond.data": card.data, "profond.engine": "torch",
        "profond.task": card.task, "profond.parent_run": source.run_id,
        "profond.compression": variant.name,
    }  # fmt: skip
    tracker = MLflowTracker(uri, options.experiment, run_name=f"{variant.name}-{source.run_id[:8]}",
                            tags=tags)  # fmt: skip
    try:
        row = next(r for r in rows if r["name"] == variant.name)
        new_card = _child_card(card, variant, tracker.run_id, row)
        tracker.log_params({"model": card.family, "data": card.data, "parent_run": source.run_id,
                            **{f"compression.{k}": v for k, v in variant.compression.items()}})  # fmt: skip
        tracker.log_metrics(_row_metrics(row))
        with tempfile.TemporaryDirectory() as tmp:
            folder = save_model(Path(tmp) / MODEL_ARTIFACT, variant.model, new_card)
            tracker.log_artifacts(folder, MODEL_ARTIFACT)
            report = Path(tmp) / "compression_report.json"
            report.write_text(json.dumps({"parent_run": source.run_id, "rows": rows}, indent=2))
            tracker.log_artifact(report, "compression")
            _copy_run_config(source.run_id, tracker, Path(tmp), uri)
    except BaseException:
        tracker.finish("FAILED")
        raise
    tracker.finish("FINISHED")
    return tracker.run_id


def _child_card(card: ModelCard, variant: Variant, run_id: str, row: dict[str, Any]) -> ModelCard:
    compression = {**variant.compression, "parent_run": card.run_id}
    return replace(
        card,
        config=variant.config or _model_config(variant.model, card),
        run_id=run_id,
        metrics={"test_accuracy": row["accuracy"]},
        extra={**card.extra, "compression": compression},
    )


def _model_config(model: nn.Module, card: ModelCard) -> dict[str, Any]:
    config = getattr(model, "config", None)
    return asdict(config) if config is not None else dict(card.config)


def _row_metrics(row: dict[str, Any]) -> dict[str, float]:
    skip = {"name", "note"}
    out = {k: float(v) for k, v in row.items() if k not in skip and v is not None}
    out["test_accuracy"] = float(row["accuracy"])
    return out


def _copy_run_config(run_id: str, tracker: Any, tmp: Path, uri: str | None) -> None:
    """The parent's ``config/`` artifact, so that evaluate rebuilds the same data split."""
    from profond.track.store import client

    try:
        local = client(uri).download_artifacts(run_id, "config", str(tmp))
    except Exception:  # a run without one: evaluate falls back to the defaults
        return
    tracker.log_artifacts(Path(local), "config")
