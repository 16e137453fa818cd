"""Transfer learning: start a model from another run's weights, optionally frozen up to a layer.

:func:`init_from` copies every tensor of a source state dict whose name and shape match the
target model (a new head for another number of classes keeps its fresh initialization), then
freezes the first layers:

- ``freeze=None`` or ``0``: fine-tune everything;
- ``freeze=N``: freeze the first ``N`` layers (modules owning parameters, in definition order:
  see :func:`layer_names`);
- ``freeze="up-to-LAYER"``: freeze every layer up to and including the one named ``LAYER`` (a
  name from :func:`layer_names`, or a prefix such as ``blocks.1``);
- feature extraction is freezing all but the head (``freeze=len(layer_names(model)) - 1``).

Frozen parameters stop requiring gradients; frozen batch-norm layers also stop updating their
running statistics (momentum 0), so that the copied features stay exactly the source's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from profond.errors import ProfondError


@dataclass
class TransferReport:
    """What :func:`init_from` did (names of state-dict entries and of layers)."""

    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # absent from the target or of another shape
    frozen_layers: list[str] = field(default_factory=list)


def layer_names(model: nn.Module) -> list[str]:
    """Qualified names of the modules that own parameters directly, in definition order.

    For the default ``cnn``: ``blocks.0.0, blocks.0.1, blocks.1.0, blocks.1.1, dense.1, head``.
    """
    seen: set[int] = set()
    names = []
    for name, module in model.named_modules():
        params = list(module.parameters(recurse=False))
        if params and id(module) not in seen:
            seen.add(id(module))
            names.append(name)
    return names


def layers_to_freeze(model: nn.Module, freeze: int | str | None) -> list[str]:
    """The layer names ``freeze`` designates (see the module's docstring)."""
    names = layer_names(model)
    if freeze is None or freeze == 0:
        return []
    if isinstance(freeze, int):
        if not 0 <= freeze <= len(names):
            raise ProfondError(
                f"--freeze {freeze}: the model has {len(names)} layers ({', '.join(names)})"
            )
        return names[:freeze]
    if isinstance(freeze, str) and freeze.isdigit():
        return layers_to_freeze(model, int(freeze))
    if not (isinstance(freeze, str) and freeze.startswith("up-to-")):
        raise ProfondError(f"--freeze takes a number of layers or up-to-LAYER, got {freeze!r}")
    target = freeze[len("up-to-") :]
    last = [i for i, n in enumerate(names) if n == target or n.startswith(target + ".")]
    if not last:
        raise ProfondError(f"no layer {target!r} in the model; its layers: {', '.join(names)}")
    return names[: last[-1] + 1]


def init_from(
    model: nn.Module,
    source_state_dict: dict[str, torch.Tensor],
    freeze: int | str | None = None,
) -> TransferReport:
    """Copy matching weights from ``source_state_dict`` into ``model`` and freeze layers.

    Args:
        model: the target model (modified in place).
        source_state_dict: e.g. ``load_run_model(run_id).model.state_dict()``.
        freeze: see the module's docstring.

    Returns:
        a :class:`TransferReport`. Raises :class:`ProfondError` when nothing matches.
    """
    frozen = layers_to_freeze(model, freeze)  # checked before anything changes
    target = model.state_dict()
    report = TransferReport()
    update = {}
    for key, value in source_state_dict.items():
        if key in target and target[key].shape == value.shape:
            update[key] = value
            report.copied.append(key)
        else:
            report.skipped.append(key)
    if not update:
        raise ProfondError("no weight of the source run fits this model (names or shapes differ)")
    model.load_state_dict(update, strict=False)
    modules = dict(model.named_modules())
    for name in frozen:
        module = modules[name]
        for p in module.parameters(recurse=False):
            p.requires_grad_(False)
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = 0.0  # running statistics stay the source's
    report.frozen_layers = frozen
    return report


def trainable_parameters(model: nn.Module) -> int:
    """Parameters that still learn."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
