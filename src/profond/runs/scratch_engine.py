"""The scratch engine: the NumPy MLP of :mod:`profond.scratch`, behind the same run pipeline.

The scratch MLP has the same architecture as :class:`profond.models.mlp.MLP` and the same
weight layout, so its trained weights are also saved as that module's state dict: evaluate,
predict and serve then work on a scratch run exactly as on a torch run.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from profond.errors import ProfondError
from profond.runs.engine import Engine, FitContext, Trained
from profond.train.metrics import classification_metrics
from profond.train.plots import confusion_matrix_figure, training_curves
from profond.train.trainer import FitResult

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.mlp import MLP
    from profond.models.registry import ModelFamily
    from profond.runs.resolved import ResolvedRun

SCRATCH_OPTIMIZERS = ("sgd", "momentum", "adam")


class ScratchEngine(Engine):
    """The MLP on classification data, trained by the chapter's explicit backpropagation."""

    name = "scratch"
    resumable = False

    @classmethod
    def check(cls, run: ResolvedRun) -> None:
        if run.model != "mlp":
            raise ProfondError(
                f"the scratch engine trains the mlp only, not {run.model!r}; use --engine torch"
            )
        if run.train.optimizer not in SCRATCH_OPTIMIZERS:
            raise ProfondError(
                f"the scratch engine implements the optimizers {', '.join(SCRATCH_OPTIMIZERS)}, "
                f"not {run.train.optimizer!r}"
            )

    def __init__(self, run: ResolvedRun, family: ModelFamily, bundle: DataBundle,
                 prepared: Any = None) -> None:  # fmt: skip
        from profond.scratch.model import build_mlp
        from profond.scratch.optimizers import make_optimizer

        super().__init__(run, family, bundle, prepared)
        config, train = self.config, run.train
        if config.batch_norm:
            raise ProfondError("the scratch MLP has no batch norm option; drop --batch-norm")
        self.net = build_mlp(config.in_features, tuple(config.hidden_sizes), config.num_classes,
                             config.activation, config.dropout, config.init, train.seed)  # fmt: skip
        self.net.compile(make_optimizer(train.optimizer, train.lr, momentum=train.momentum,
                                        weight_decay=train.weight_decay + 2 * train.l2))  # fmt: skip
        self.parameters = sum(p.size for p in self.net.parameters())

    def fit(self, ctx: FitContext) -> Trained:
        train, bundle = self.run.train, self.bundle
        x_train, x_val, x_test = (_flat(t) for t in (bundle.x_train, bundle.x_val, bundle.x_test))
        y_train, y_val, y_test = (t.numpy() for t in (bundle.y_train, bundle.y_val, bundle.y_test))
        ctx.reporter.start(train.epochs)
        last = [time.perf_counter()]

        def on_epoch_end(epoch: int, logs: dict[str, float]) -> None:
            now = time.perf_counter()
            logs = {**{k: float(v) for k, v in logs.items()}, "epoch_time_s": now - last[0]}
            last[0] = now
            ctx.reporter.epoch_end(epoch - 1, logs)
            if ctx.tracker:
                ctx.tracker.log_metrics(logs, step=epoch - 1)
                ctx.tracker.raise_if_stopped()

        history = self.net.fit(x_train, y_train, epochs=train.epochs, batch_size=train.batch_size,
                               validation_data=(x_val, y_val) if len(x_val) else None,
                               seed=train.seed, patience=train.patience,
                               on_epoch_end=on_epoch_end)  # fmt: skip
        probs = self.net.predict(x_test)
        test = classification_metrics(y_test, probs, with_details=True)
        picked = np.clip(probs[np.arange(len(y_test)), y_test], 1e-12, None)
        metrics = {
            "test_loss": float(-np.log(picked).mean()),
            **{f"test_{k}": v for k, v in test.items() if isinstance(v, float)},
        }
        result = FitResult(history=history, epochs_run=len(history["train_loss"]),
                           test_metrics=metrics)  # fmt: skip
        result.figures = [
            training_curves(history, ctx.figures_dir / "training_curves.png"),
            confusion_matrix_figure(test["confusion_matrix"], bundle.classes,
                                    ctx.figures_dir / "confusion_matrix.png"),
        ]  # fmt: skip
        ctx.reporter.fit_end(result)
        if ctx.tracker:
            ctx.tracker.log_metrics(metrics)
            for figure in result.figures:
                ctx.tracker.log_artifact(figure, "figures")
        npz = ctx.figures_dir.parent / "model.npz"
        self.net.save(npz)
        return Trained(model=to_torch_mlp(self.net, self.config), result=result,
                       card_extra={"engine": "scratch"}, artifacts={"scratch_model": npz})  # fmt: skip


def _flat(t: torch.Tensor) -> np.ndarray:
    """Shape: ``(N, *input_shape)`` → ``(N, prod(input_shape))`` float32, C-contiguous."""
    return np.ascontiguousarray(t.reshape(len(t), -1).numpy(), dtype=np.float32)


def to_torch_mlp(net: Any, config: Any) -> MLP:
    """The torch :class:`MLP` holding the scratch network's weights (same layout)."""
    from profond.models.mlp import MLP
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
