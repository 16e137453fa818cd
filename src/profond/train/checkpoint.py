"""Checkpoints written atomically each epoch, read back with ``weights_only=True``.

A checkpoint holds everything needed to continue a run as if it had never stopped: weights,
optimizer states, the random generators' states, the history and the state of every callback
that keeps one (early stopping's best epoch and weights). Shuffling order is a pure function of
(seed, epoch), so it needs no state of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from profond.atomic import atomic_write
from profond.errors import ProfondError
from profond.train.callbacks import Callback

if TYPE_CHECKING:
    from profond.train.trainer import Trainer


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


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete the temporary files that killed writes of ``path`` left beside it."""
    removed = []
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
        removed.append(stale)
    return removed


class Checkpoint(Callback):
    """Saves the trainer's whole state after every epoch (on the main process) to ``path``.

    The trainer restores it with ``fit(..., resume=True)``. Temporary files left by a write
    that was killed are removed when training starts.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None:
        if trainer.dist.is_main:
            remove_stale_temporaries(self.path)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if trainer.dist.is_main:
            save_checkpoint(self.path, self.payload(trainer))

    def payload(self, trainer: Trainer) -> dict[str, Any]:
        """What :meth:`restore` reads back."""
        assert trainer.model is not None
        payload: dict[str, Any] = {
            "config": trainer.config.to_dict(),
            "model": trainer.model.state_dict(),
            "optimizers": [opt.state_dict() for opt in trainer.optimizers],
            "rng_cpu": torch.get_rng_state(),
            "epoch": trainer.epoch,
            "history": trainer.history,
            "callbacks": {type(cb).__name__: cb.state_dict() for cb in trainer.stateful_callbacks},
        }
        if torch.cuda.is_available():
            payload["rng_cuda"] = torch.cuda.get_rng_state_all()
        return payload

    def restore(self, trainer: Trainer) -> None:
        """Load the checkpoint into the trainer's model, optimizers, history and callbacks."""
        assert trainer.model is not None
        ckpt = load_checkpoint(self.path)
        trainer.model.load_state_dict(ckpt["model"])
        for opt, opt_state in zip(trainer.optimizers, ckpt["optimizers"], strict=True):
            opt.load_state_dict(opt_state)
        torch.set_rng_state(ckpt["rng_cpu"])
        if "rng_cuda" in ckpt and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["rng_cuda"])
        trainer.epoch = int(ckpt["epoch"])
        trainer.history = {k: list(v) for k, v in ckpt["history"].items()}
        states = ckpt.get("callbacks", {})
        for cb in trainer.stateful_callbacks:
            if type(cb).__name__ in states:
                cb.load_state_dict(states[type(cb).__name__])
