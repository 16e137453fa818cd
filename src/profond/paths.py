"""Where profond keeps its state: the tracking store, the dataset cache, checkpoints, study state.

Reading commands work on a read-only home; a command that must write asks for its folder
through :func:`writable_dir` (or :func:`writable_home`), which says in one line what cannot
be written, where, and what to do, instead of a ``PermissionError`` deep in a library.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from profond.errors import ProfondError


def profond_home() -> Path:
    """The root of profond's state: ``$PROFOND_HOME``, else a per-user data directory."""
    env = os.environ.get("PROFOND_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        home = (Path(xdg) if xdg else Path.home() / ".local" / "share") / "profond"
    if not home.is_dir():
        _make_dir(home, "profond's home (PROFOND_HOME)")
    return home


def writable_dir(path: Path, what: str) -> Path:
    """``path`` created if missing and checked writable.

    Args:
        path: the folder a command is about to write into.
        what: what it holds, for the message (e.g. ``"the dataset cache"``).

    Raises:
        ProfondError: it cannot be created or written (read-only file system, permissions).
    """
    _make_dir(path, what)
    if not os.access(path, os.W_OK | os.X_OK):
        raise ProfondError(_message(path, what, "it is not writable"))
    return path


def writable_home() -> Path:
    """:func:`profond_home`, checked writable (for commands that record runs or state)."""
    return writable_dir(profond_home(), "profond's home (PROFOND_HOME)")


def cache_dir() -> Path:
    """Downloaded datasets live here, one folder per dataset."""
    return writable_dir(profond_home() / "datasets", "the dataset cache")


def checkpoints_dir() -> Path:
    """Training checkpoints, one folder per run id."""
    return writable_dir(profond_home() / "checkpoints", "the checkpoints folder")


def _make_dir(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ProfondError(_message(path, what, "a file stands where a folder is needed")) from None
    except OSError as exc:
        reason = "the file system is read-only" if exc.errno == errno.EROFS else exc.strerror
        raise ProfondError(_message(path, what, f"it cannot be created ({reason})")) from None


def _message(path: Path, what: str, problem: str) -> str:
    return (
        f"cannot write {what} at {path}: {problem}; set PROFOND_HOME to a folder you can "
        "write to, or fix its permissions"
    )
