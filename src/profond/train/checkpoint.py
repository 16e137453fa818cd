"""Checkpoints written atomically each epoch, read back with ``weights_only=True``.

A checkpoint holds everything needed to continue a run as if it had never stopped: weights,
optimizer states, the random generators' states, the history and the early-stopping state.
Shuffling order is a pure function of (seed, epoch), so it needs no state of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from profond.atomic import atomic_write
from profond.errors import ProfondError


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint; never unpickles arbitrary objects."""
    if not path.is_file():
        raise ProfondError(f"no checkpoint at {path}; the run cannot be resumed")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ProfondError(f"checkpoint {path} is unreadable ({exc}); start a new run") from None
