"""Monitoring a served model: the drift reference built at training time and the drift
statistics the server computes on live inputs (:mod:`profond.monitor.drift`).

Training and serving both import this package; it imports neither of them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_drift_reference", "save_drift_reference"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from profond.monitor import reference

        return getattr(reference, name)
    raise AttributeError(f"module 'profond.monitor' has no attribute {name!r}")
