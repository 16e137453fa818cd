"""What the run pipeline asks of a training engine (torch or the NumPy scratch engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

    from profond.data.bundle import DataBundle
    from profond.models.registry import ModelFamily
    from profond.runs.practice import Prepared
    from profond.runs.resolved import ResolvedRun
    from profond.track.tracker import MLflowTracker
    from profond.train.callbacks import ProgressReporter
    from profond.train.distributed import DistContext
    from profond.train.trainer import FitResult


@dataclass
class FitContext:
    """Where an engine reports and writes while it trains."""

    reporter: ProgressReporter
    tracker: MLflowTracker | None  # None on the processes of a distributed run but the first
    checkpoint_path: Path | None  # None: no checkpoints
    figures_dir: Path  # a temporary folder; the pipeline logs what the engine lists
    resume: bool = False  # continue from checkpoint_path


@dataclass
class Trained:
    """What an engine hands back: the trained weights in a torch module, and the numbers."""

    model: nn.Module  # saved as the run's model (profond's loader builds this module)
    result: FitResult
    card_extra: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)  # artifact folder → local path


class Engine:
    """One way to train a resolved run. Subclasses set the class attributes and implement
    :meth:`fit`; the pipeline does everything else (tracking, saving, closing the run).

    Attributes:
        name: the ``--engine`` name.
        resumable: whether an interrupted run can continue (``profond train --resume``).
        parameters: the model's number of trainable values (after construction).
        dist: the distributed context (single process unless launched by torchrun).
        prepared: the data as the practice options left it, and the groups of classes.
    """

    name = "engine"
    resumable = False

    def __init__(self, run: ResolvedRun, family: ModelFamily, bundle: DataBundle,
                 prepared: Prepared | None = None) -> None:  # fmt: skip
        from profond.models.registry import make_config
        from profond.runs.practice import Prepared
        from profond.train.distributed import DistContext

        self.run = run
        self.family = family
        self.bundle = bundle
        self.prepared = prepared or Prepared(bundle)  # the run's practice options, applied
        self.config = make_config(family, family.data_fields(bundle), run.model_options)
        self.parameters = 0
        self.dist: DistContext = DistContext()

    @classmethod
    def check(cls, run: ResolvedRun) -> None:
        """Refuse, before any data loads, what this engine does not implement."""

    def fit(self, ctx: FitContext) -> Trained:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the engine holds (a process group); called however the run ends."""
