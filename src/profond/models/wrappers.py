"""Reaching the model inside the wrappers that training may put around it."""

from __future__ import annotations

from torch import nn


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel`` (``.module``) and ``torch.compile``
    (``._orig_mod``) wrappers, however deeply nested; ``model`` itself when unwrapped."""
    inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
    return unwrap(inner) if isinstance(inner, nn.Module) else model
