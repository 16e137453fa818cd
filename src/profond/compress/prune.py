"""Magnitude pruning with ``torch.nn.utils.prune``, made permanent.

- unstructured: the smallest weights in absolute value, over all ``Conv2d``/``Linear`` weights
  at once (global magnitude pruning: layers with many small weights lose more of them).
- structured: whole output channels (conv filters, rows of a linear layer) with the smallest
  L2 norm, the same fraction in every layer but the last (pruning output units of the head
  would delete classes).

Pruned weights become zeros in the ordinary weight tensors (``prune.remove``): the model keeps
its architecture and saves/loads like any other. Zeros alone make nothing faster on dense
kernels; structured pruning is the kind a later slimming step can turn into smaller layers.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import prune

from profond.errors import ProfondError


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every ``Conv2d``/``Conv1d``/``Linear`` layer, in definition order."""
    kinds = (nn.Conv1d, nn.Conv2d, nn.Linear)
    return [(name, m) for name, m in model.named_modules() if isinstance(m, kinds)]


def check_amount(amount: float) -> float:
    """``amount`` if it is a fraction in [0, 1); a one-line :class:`ProfondError` otherwise."""
    if not 0.0 <= amount < 1.0:
        raise ProfondError(f"--prune must be a fraction in [0, 1), got {amount}")
    return amount


def apply_pruning_masks(model: nn.Module, amount: float, structured: bool = False) -> nn.Module:
    """Attach pruning masks to ``model`` in place (weights read through the masks until removed).

    Training the model while the masks are attached keeps the pruned weights at zero: this is
    how a pruned model is fine-tuned. Call :func:`make_permanent` afterwards.

    Args:
        model: the model to prune (modified in place).
        amount: fraction of weights (unstructured) or of output channels (structured) to zero.
        structured: prune whole output channels by L2 norm instead of single weights.
    """
    check_amount(amount)
    # the pruning utilities flatten weights with view(), which channels-last tensors refuse
    model.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    layers = prunable_layers(model)
    if not layers:
        raise ProfondError("the model has no Conv or Linear layer to prune")
    if structured:
        for _, module in layers[:-1]:
            prune.ln_structured(module, "weight", amount=amount, n=2, dim=0)
    else:
        prune.global_unstructured(
            [(module, "weight") for _, module in layers],
            pruning_method=prune.L1Unstructured,
            amount=amount,
        )
    return model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every pruning mask into its weight tensor and drop the masks (in place)."""
    for _, module in prunable_layers(model):
        if prune.is_pruned(module) and hasattr(module, "weight_orig"):
            prune.remove(module, "weight")
    if getattr(getattr(model, "config", None), "channels_last", False):
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model


def prune_model(model: nn.Module, amount: float, structured: bool = False) -> nn.Module:
    """A pruned copy of ``model``, masks folded in (``model`` itself is left untouched)."""
    pruned = apply_pruning_masks(copy.deepcopy(model), amount, structured)
    return make_permanent(pruned)


def _weight(module: nn.Module) -> torch.Tensor:
    weight = module.weight
    assert isinstance(weight, torch.Tensor)  # Conv and Linear layers: a tensor
    return weight.detach()


def sparsity(model: nn.Module) -> float:
    """Fraction of exact zeros among the weights of the prunable layers (0 when there are none)."""
    weights = [_weight(module) for _, module in prunable_layers(model)]
    total = sum(w.numel() for w in weights)
    if not total:
        return 0.0
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / total


def zero_channels(model: nn.Module) -> int:
    """Number of output channels/units whose whole weight slice is zero (structured pruning)."""
    count = 0
    for _, module in prunable_layers(model):
        w = _weight(module)
        count += int((w.reshape(w.shape[0], -1).abs().sum(dim=1) == 0).sum())
    return count


def nonzero_parameters(model: nn.Module) -> int:
    """Parameters that are not exactly zero (what a sparse format would store)."""
    return sum(int(torch.count_nonzero(p)) for p in model.parameters())
