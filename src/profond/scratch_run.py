"""``profond train --engine scratch``: the NumPy engine behind the same CLI, tracking and plots.

The scratch MLP has the same architecture as :class:`profond.models.mlp.MLP` and the same
weight layout, so its trained weights are also saved as that module's state dict: evaluate,
predict and serve then work on a scratch run exactly as on a torch run.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from profond.data.registry import get_dataset
from profond.errors import ProfondError
from profond.models.mlp import MLP
from profond.models.registry import get_family, make_config
from profond.models.saved import ModelCard, save_model
from profond.scratch.model import build_mlp
from profond.scratch.optimizers import make_optimizer
from profond.track.runs import MODEL_ARTIFACT
from profond.track.tracker import MLflowTracker
from profond.train.callbacks import ProgressReporter
from profond.train.metrics import classification_metrics
from profond.train.plots import confusion_matrix_figure, training_curves
from profond.train.trainer import FitResult

if TYPE_CHECKING:
    from profond.experiment import RunOutcome, RunSpec

SCRATCH_OPTIMIZERS = {"sgd": "sgd", "momentum": "momentum", "adam": "adam"}


class _Clock:
    """Stands in for the trainer in the progress reporter's hooks."""

    def __init__(self, config: Any) -> None:
        self.config = config


def train_scratch_run(
    spec: RunSpec, stream: Any = None, resume_run_id: str | None = None
) -> RunOutcome:
    from profond.experiment import RunOutcome

    if resume_run_id is not None:
        raise ProfondError("runs of the scratch engine cannot be resumed; start a new run")
    if spec.model != "mlp":
        raise ProfondError(
            f"the scratch engine trains the mlp only, not {spec.model!r}; use --engine torch"
        )
    if spec.train.optimizer not in SCRATCH_OPTIMIZERS:
        raise ProfondError(
            f"the scratch engine implements the optimizers {', '.join(SCRATCH_OPTIMIZERS)}, "
            f"not {spec.train.optimizer!r}"
        )
    family = get_family("mlp")
    data_name = spec.data or family.default_data
    bundle = get_dataset(data_name).load(spec.data_options)
    config = make_config(family, family.data_fields(bundle), spec.model_options)
    if config.batch_norm:
        raise ProfondError("the scratch MLP has no batch norm option; drop --batch-norm")
    flat = lambda t: np.ascontiguousarray(t.reshape(len(t), -1).numpy(), dtype=np.float32)  # noqa: E731
    x_train, x_val, x_test = flat(bundle.x_train), flat(bundle.x_val), flat(bundle.x_test)
    y_train, y_val, y_test = (t.numpy() for t in (bundle.y_train, bundle.y_val, bundle.y_test))

    net = build_mlp(config.in_features, tuple(config.hidden_sizes), config.num_classes, config.activation,
                    config.dropout, config.init, spec.train.seed)  # fmt: skip
    net.compile(make_optimizer(spec.train.optimizer, spec.train.lr, momentum=spec.train.momentum,
                               weight_decay=spec.train.weight_decay + 2 * spec.train.l2))  # fmt: skip
    parameters = sum(p.size for p in net.parameters())

    reporter = ProgressReporter(stream or sys.stderr)
    tags = {"profond.model": "mlp", "profond.data": data_name, "profond.engine": "scratch",
            "profond.task": "classification", "profond.world_size": "1"}  # fmt: skip
    tracker = MLflowTracker(spec.tracking_uri, spec.experiment, run_name=spec.run_name, tags=tags)
    params = {"model": "mlp", "data": data_name, "engine": "scratch", **spec.train.to_dict(),
              **asdict(spec.data_options), **{f"model.{k}": v for k, v in asdict(config).items()},
              "parameters": parameters}  # fmt: skip
    tracker.log_params(params)
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "run.json"
        spec_path.write_text(json.dumps(spec.to_dict(), indent=2), encoding="utf-8")
        tracker.log_artifact(spec_path, "config")
    reporter.print_line(
        f"run {tracker.run_id}: mlp on the scratch engine ({parameters:,} parameters) on {data_name}"
    )
    clock = _Clock(spec.train)
    reporter.on_fit_start(clock, 0)  # type: ignore[arg-type]

    last = [time.perf_counter()]

    def on_epoch_end(epoch: int, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        logs = {**{k: float(v) for k, v in logs.items()}, "epoch_time_s": now - last[0]}
        last[0] = now
        tracker.log_metrics(logs, step=epoch - 1)
        reporter.on_epoch_end(clock, epoch - 1, logs)  # type: ignore[arg-type]

    try:
        history = net.fit(x_train, y_train, epochs=spec.train.epochs, batch_size=spec.train.batch_size,
                          validation_data=(x_val, y_val) if len(x_val) else None, seed=spec.train.seed,
                          patience=spec.train.patience, on_epoch_end=on_epoch_end)  # fmt: skip
        probs = net.predict(x_test)
    except BaseException:
        tracker.finish("FAILED")
        raise
    test = classification_metrics(y_test, probs, with_details=True)
    test_loss = float(-np.log(np.clip(probs[np.arange(len(y_test)), y_test], 1e-12, None)).mean())
    metrics = {
        "test_loss": test_loss,
        **{f"test_{k}": v for k, v in test.items() if isinstance(v, float)},
    }
    result = FitResult(history=history, epochs_run=len(history["train_loss"]), test_metrics=metrics)
    reporter.on_fit_end(clock, result)  # type: ignore[arg-type]
    tracker.log_metrics(metrics)

    card = ModelCard(family="mlp", task="classification", data=data_name, config=asdict(config),
                     input_shape=list(bundle.input_shape), classes=list(bundle.classes),
                     preprocessing=bundle.preprocessing.to_dict(), run_id=tracker.run_id, metrics=metrics,
                     extra={"engine": "scratch"})  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save_model(folder / MODEL_ARTIFACT, to_torch_mlp(net, config), card)
        tracker.log_artifacts(folder / MODEL_ARTIFACT, MODEL_ARTIFACT)
        net.save(folder / "model.npz")
        tracker.log_artifact(folder / "model.npz", "scratch_model")
        figures = folder / "figures"
        figures.mkdir()
        training_curves(history, figures / "training_curves.png")
        confusion_matrix_figure(
            test["confusion_matrix"], bundle.classes, figures / "confusion_matrix.png"
        )
        tracker.log_artifacts(figures, "figures")
    tracker.finish("FINISHED")
    return RunOutcome(run_id=tracker.run_id, result=result, card=card, parameters=parameters)


def to_torch_mlp(net: Any, config: Any) -> MLP:
    """The torch :class:`MLP` holding the scratch network's weights (same layout)."""
    from profond.scratch.layers import Dense

    model = MLP(config)
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(dense) == len(linear), "scratch and torch MLPs differ in depth"
    with torch.no_grad():
        for src, dst in zip(dense, linear, strict=True):
            dst.weight.copy_(torch.from_numpy(np.asarray(src.params["W"], dtype=np.float32)))
            dst.bias.copy_(
                torch.from_numpy(np.asarray(src.params["b"], dtype=np.float32)).reshape(-1)
            )
    return model.eval()
