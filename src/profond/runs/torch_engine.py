"""The torch engine: a model family's ``nn.Module`` trained by :class:`Trainer`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from profond.runs.engine import Engine, FitContext, Trained
from profond.runs.practice import init_weights, wrap_task
from profond.train.callbacks import Callback
from profond.train.continual import GroupAccuracy, group_accuracy
from profond.train.device import pick_device
from profond.train.distributed import barrier, init_distributed, shutdown
from profond.train.tasks import task_class
from profond.train.trainer import Trainer

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.registry import ModelFamily
    from profond.runs.practice import Prepared
    from profond.runs.resolved import ResolvedRun


class TorchEngine(Engine):
    """Every family, on cpu, cuda or mps, on one process or several (torchrun)."""

    name = "torch"
    resumable = True

    def __init__(self, run: ResolvedRun, family: ModelFamily, bundle: DataBundle,
                 prepared: Prepared | None = None) -> None:  # fmt: skip
        super().__init__(run, family, bundle, prepared)
        torch.manual_seed(run.train.seed)  # the weights' initialization
        self.model = family.module_class(self.config)
        self.parameters = sum(p.numel() for p in self.model.parameters())
        # before the MLflow run opens: a bad --init-from/--freeze leaves no run behind
        self.transfer_note = init_weights(run.practice, self.model, self.prepared.parent_id,
                                          run.tracking_uri)  # fmt: skip
        self.dist = init_distributed(pick_device(run.train.device))  # one process: a no-op

    def fit(self, ctx: FitContext) -> Trained:
        prepared = self.prepared
        groups: list[Callback] = []
        if prepared.groups and prepared.val is not None:  # first: the others see its metrics
            groups.append(GroupAccuracy(prepared.groups, *prepared.val))
        callbacks = groups + [ctx.reporter] + ([ctx.tracker] if ctx.tracker else [])
        if self.transfer_note:
            ctx.reporter.print_line(self.transfer_note)
        trainer = Trainer(
            self.run.train,
            callbacks=callbacks,
            checkpoint_path=ctx.checkpoint_path,
            figures_dir=ctx.figures_dir,
            dist=self.dist,
        )
        task = wrap_task(self.run.practice, task_class(self.family.task)(self.bundle))
        result = trainer.fit(self.model, task, self.bundle, resume=ctx.resume)
        barrier(self.dist)
        if prepared.groups and prepared.test is not None:  # old and new classes, at the end
            ids = {k: torch.tensor(v) for k, v in prepared.groups.items()}
            final = group_accuracy(self.model, *prepared.test, ids, prefix="test_")
            result.final_metrics.update(final)
            if ctx.tracker is not None:
                ctx.tracker.log_metrics(final)
            ctx.reporter.print_line("  ".join(f"{k} {v:.4f}" for k, v in final.items()))
        return Trained(model=self.model.cpu(), result=result)

    def close(self) -> None:
        shutdown(self.dist)
