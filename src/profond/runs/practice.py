"""Robustness, transfer, continual learning and imbalance options of a run, in one place.

:class:`PracticeOptions` holds them resolved and checked (no torch at import: a command line
checks them before anything heavy loads). The pipeline then calls, in this order:

1. :func:`prepare_data` on the loaded bundle: the class subset (``classes``), the skew
   (``imbalance_ratio``), the replay buffer of the parent run's classes (``replay``), the
   balanced resampling (``resample``); and the groups of classes ("old": the parent run's,
   "new": this run's) on which accuracy is reported per epoch;
2. :func:`init_weights` on the freshly built model (``init_from``, ``freeze``);
3. :func:`wrap_task` on the task (``loss focal``, then ``adversarial``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from profond.errors import ProfondError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from profond.data.bundle import DataBundle
    from profond.train.task import Task

ATTACKS = ("fgsm", "pgd")
LOSSES = ("cross_entropy", "focal")
RESAMPLINGS = ("balanced",)
DEFAULT_EPS = 0.1
DEFAULT_GAMMA = 2.0


@dataclass(frozen=True)
class PracticeOptions:
    """The resolved options (None: not used). See :class:`profond.runs.RunSpec` for each."""

    adversarial: str | None = None
    adversarial_eps: float | None = None
    init_from: str | None = None
    freeze: str | None = None
    replay: int | None = None
    classes: list[int] | None = None
    imbalance_ratio: float | None = None
    resample: str | None = None
    loss: str = "cross_entropy"
    focal_gamma: float | None = None

    def active(self) -> list[str]:
        """The options that change the run (for messages)."""
        return [k for k, v in self.__dict__.items() if v is not None and v != "cross_entropy"]


def resolve_practice(given: dict[str, Any], task: str, engine: str) -> PracticeOptions:
    """Defaults filled in and every combination checked; ProfondError names the bad option."""
    options = PracticeOptions(
        **{k: v for k, v in given.items() if k in PracticeOptions.__dataclass_fields__}
    )
    _check_choices(options)
    adversarial_eps = options.adversarial_eps
    if options.adversarial is not None and adversarial_eps is None:
        adversarial_eps = DEFAULT_EPS
    focal_gamma = options.focal_gamma
    if options.loss == "focal" and focal_gamma is None:
        focal_gamma = DEFAULT_GAMMA
    resolved = PracticeOptions(**{**options.__dict__, "adversarial_eps": adversarial_eps,
                                  "focal_gamma": focal_gamma})  # fmt: skip
    used = resolved.active()
    if used and engine != "torch":
        raise ProfondError(
            f"the {engine} engine does not take {', '.join(used)}; use --engine torch"
        )
    needs_classes = [k for k in used if k != "init_from" and k != "freeze"]
    if needs_classes and task != "classification":
        raise ProfondError(
            f"{', '.join(needs_classes)} appl{'ies' if len(needs_classes) == 1 else 'y'} to "
            f"classification models, not to {task} ones"
        )
    return resolved


def _check_choices(o: PracticeOptions) -> None:
    def pick(name: str, value: str | None, names: tuple[str, ...]) -> None:
        if value is not None and value not in names:
            raise ProfondError(f"unknown {name} {value!r}; choose one of: {', '.join(names)}")

    pick("adversarial attack", o.adversarial, ATTACKS)
    pick("loss", o.loss, LOSSES)
    pick("resampling", o.resample, RESAMPLINGS)
    if o.adversarial_eps is not None and o.adversarial is None:
        raise ProfondError("--adversarial-eps needs --adversarial fgsm|pgd")
    if o.adversarial_eps is not None and not 0 < o.adversarial_eps < float("inf"):
        raise ProfondError(f"--adversarial-eps must be a positive number, got {o.adversarial_eps}")
    if o.focal_gamma is not None and o.loss != "focal":
        raise ProfondError("--focal-gamma needs --loss focal")
    if o.focal_gamma is not None and not 0 <= o.focal_gamma < float("inf"):
        raise ProfondError(f"--focal-gamma must be >= 0, got {o.focal_gamma}")
    for name in ("freeze", "replay"):
        if getattr(o, name) is not None and o.init_from is None:
            raise ProfondError(f"--{name} needs --init-from RUN (the run to start from)")
    if o.freeze is not None and not (o.freeze.isdigit() or o.freeze.startswith("up-to-")):
        raise ProfondError(f"--freeze takes a number of layers or up-to-LAYER, got {o.freeze!r}")
    if o.replay is not None and o.replay < 1:
        raise ProfondError(f"--replay must be a positive number of examples, got {o.replay}")
    if o.imbalance_ratio is not None and not 1 <= o.imbalance_ratio < float("inf"):
        raise ProfondError(f"--imbalance-ratio must be >= 1, got {o.imbalance_ratio}")


# ----------------------------------------------------------------------------- applying them
@dataclass
class Prepared:
    """The training data after :func:`prepare_data`, and what to report on.

    Attributes:
        bundle: the data the run trains and is tested on.
        parent_id: the full id of ``init_from`` (None without it).
        groups: ``{"old": [...], "new": [...]}`` class ids (empty: no per-group report).
        val: ``(x, y)`` validation samples of every class in ``groups`` (for per-epoch metrics).
        test: ``(x, y)`` test samples of those classes (for the final ones).
    """

    bundle: DataBundle
    parent_id: str | None = None
    groups: dict[str, list[int]] = field(default_factory=dict)
    val: tuple[torch.Tensor, torch.Tensor] | None = None
    test: tuple[torch.Tensor, torch.Tensor] | None = None
    notes: list[str] = field(default_factory=list)  # lines for the progress display


def prepare_data(
    options: PracticeOptions, bundle: DataBundle, seed: int, uri: str | None
) -> Prepared:
    """Apply the data options to ``bundle`` (the dataset as loaded)."""
    from profond.data.imbalance import make_imbalanced, resample_balanced
    from profond.data.replay import class_subset, fill_buffer, with_replay

    prepared = Prepared(bundle)
    if options.init_from is not None:
        prepared.parent_id = _resolve(options.init_from, uri)
    data = class_subset(bundle, options.classes) if options.classes else bundle
    if options.imbalance_ratio is not None:
        data = make_imbalanced(data, options.imbalance_ratio, seed=seed)
    if prepared.parent_id is not None and options.classes:
        parent = _parent_classes(prepared.parent_id, uri) or list(range(bundle.num_classes))
        old = [c for c in parent if c not in options.classes]
        if old:
            prepared.groups = {"old": old, "new": list(options.classes)}
            seen = class_subset(bundle, old + list(options.classes))
            prepared.val, prepared.test = (seen.x_val, seen.y_val), (seen.x_test, seen.y_test)
    if options.replay is not None:
        parent = _parent_classes(prepared.parent_id or "", uri) or list(range(bundle.num_classes))
        buffer = fill_buffer(class_subset(bundle, parent), options.replay, seed)
        data = with_replay(data, buffer)
        prepared.notes.append(f"replay: {len(buffer)} examples of classes {_ids(parent)}")
    if options.resample is not None:
        data = resample_balanced(data, seed)
    prepared.bundle = data
    return prepared


def init_weights(options: PracticeOptions, model: nn.Module, parent_id: str | None,
                 uri: str | None) -> str | None:  # fmt: skip
    """Start ``model`` from the parent run's matching weights; a line saying what was done."""
    if parent_id is None:
        return None
    from profond.models.transfer import init_from, trainable_parameters
    from profond.track.runs import load_run_model

    source = load_run_model(parent_id, uri).model.state_dict()
    report = init_from(model, source, options.freeze)
    frozen = f", {len(report.frozen_layers)} layers frozen" if report.frozen_layers else ""
    return (
        f"initialized from run {parent_id}: {len(report.copied)} tensors copied, "
        f"{len(report.skipped)} left{frozen}; {trainable_parameters(model):,} parameters learn"
    )


def wrap_task(options: PracticeOptions, task: Task) -> Task:
    """The task with the focal loss, then adversarial training, when asked."""
    if options.loss == "focal":
        from profond.train.losses import with_focal_loss

        task = with_focal_loss(task, options.focal_gamma or DEFAULT_GAMMA)  # type: ignore[assignment]
    if options.adversarial is not None:
        from profond.robust.adversarial import make_adversarial

        task = make_adversarial(task, options.adversarial, eps=options.adversarial_eps)
    return task


def _resolve(ref: str, uri: str | None) -> str:
    from profond.track.resolve import resolve_run

    return resolve_run(ref, uri)


def _parent_classes(parent_id: str, uri: str | None) -> list[int] | None:
    """The classes the parent run trained on (None: all of them, or unknown)."""
    if not parent_id:
        return None
    from profond.runs.pipeline import _saved_options

    try:
        classes = _saved_options(parent_id, uri).get("classes")
    except ProfondError:  # a run of another version saved no options: assume all classes
        return None
    return [int(c) for c in classes] if classes else None


def _ids(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids)
