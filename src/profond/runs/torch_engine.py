"""The torch engine: a model family's ``nn.Module`` trained by :class:`Trainer`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from profond.runs.engine import Engine, FitContext, Trained
from profond.train.callbacks import Callback
from profond.train.device import pick_device
from profond.train.distributed import barrier, init_distributed, shutdown
from profond.train.tasks import task_class
from profond.train.trainer import Trainer

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.registry import ModelFamily
    from profond.runs.resolved import ResolvedRun


class TorchEngine(Engine):
    """Every family, on cpu, cuda or mps, on one process or several (torchrun)."""

    name = "torch"
    resumable = True

    def __init__(self, run: ResolvedRun, family: ModelFamily, bundle: DataBundle) -> None:
        super().__init__(run, family, bundle)
        torch.manual_seed(run.train.seed)  # the weights' initialization
        self.model = family.module_class(self.config)
        self.parameters = sum(p.numel() for p in self.model.parameters())
        self.dist = init_distributed(pick_device(run.train.device))  # one process: a no-op

    def fit(self, ctx: FitContext) -> Trained:
        callbacks: list[Callback] = [ctx.reporter] + ([ctx.tracker] if ctx.tracker else [])
        trainer = Trainer(
            self.run.train,
            callbacks=callbacks,
            checkpoint_path=ctx.checkpoint_path,
            figures_dir=ctx.figures_dir,
            dist=self.dist,
        )
        task = task_class(self.family.task)(self.bundle)
        result = trainer.fit(self.model, task, self.bundle, resume=ctx.resume)
        barrier(self.dist)
        return Trained(model=self.model.cpu(), result=result)

    def close(self) -> None:
        shutdown(self.dist)
