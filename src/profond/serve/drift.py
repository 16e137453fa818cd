"""Former home of the drift statistics, now :mod:`profond.monitor.drift` (kept for callers
that import it from here)."""

from profond.monitor.drift import DriftMonitor, build_reference, save_reference

__all__ = ["DriftMonitor", "build_reference", "save_reference"]
