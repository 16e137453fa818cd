"""Reaching the model inside the wrappers that training may put around it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside ``DistributedDataParallel`` (``.module``) and ``torch.compile``
    (``._orig_mod``) wrappers, however deeply nested; ``model`` itself when unwrapped."""
    inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
    return unwrap(inner) if isinstance(inner, nn.Module) else model


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Run a block with ``model`` in eval mode (dropout off, batch norm on its running
    statistics), then put back the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
