"""The course's networks as plain ``torch.nn.Module`` s, one module per family.

The registry (and torch) is imported on first use of one of its names, so that
``profond.models.names`` stays free to import (the command line's parser reads it).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_model", "family_names", "get_family", "make_config"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from profond.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'profond.models' has no attribute {name!r}")
