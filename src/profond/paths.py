"""Where profond keeps its state: the tracking store, the dataset cache, checkpoints, study state."""

from __future__ import annotations

import os
from pathlib import Path


def profond_home() -> Path:
    """The root of profond's state: ``$PROFOND_HOME``, else a per-user data directory."""
    env = os.environ.get("PROFOND_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        home = (Path(xdg) if xdg else Path.home() / ".local" / "share") / "profond"
    home.mkdir(parents=True, exist_ok=True)
    return home


def cache_dir() -> Path:
    """Downloaded datasets live here, one folder per dataset."""
    path = profond_home() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoints_dir() -> Path:
    """Training checkpoints, one folder per run id."""
    path = profond_home() / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path
