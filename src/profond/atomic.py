"""Atomic file writes: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:  # Linux: no set-and-restore, so no window where another thread sees umask 0
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: ``0o666`` less the umask."""
    return 0o666 & ~current_umask()


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` onto ``path``.

    A reader never sees a half-written file, and a crash leaves the old file intact. The file
    gets the mode of any new file (``0o666`` less the umask), not the ``0600`` of a temporary
    file, so that a model folder mounted read-only for another user stays readable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, default_file_mode())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def remove_stale_temp_files(folder: str | Path, older_than_s: float = 600.0) -> list[Path]:
    """Delete the temporary files :func:`atomic_write` left in ``folder`` when killed.

    A process killed during a write (``kill -9``, power loss) leaves ``.NAME.XXXX.tmp``; only
    those older than ``older_than_s`` are removed, so a write under way elsewhere is untouched.

    Returns:
        the paths removed.
    """
    import time

    folder = Path(folder)
    if not folder.is_dir():
        return []
    limit = time.time() - older_than_s
    removed = []
    for path in folder.glob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # removed meanwhile by another cleaner
            continue
    return removed


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
