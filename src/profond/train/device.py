"""Device choice: cuda, then mps, then cpu, unless forced."""

from __future__ import annotations

import torch

from profond.errors import ProfondError


def pick_device(name: str = "auto") -> torch.device:
    """The device called ``name``, or the best available one for ``"auto"``."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ProfondError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ProfondError(
            "device cuda was asked for but no CUDA GPU is available; use --device cpu"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ProfondError("device mps was asked for but MPS is not available; use --device cpu")
    return device
