"""Argument types and options shared by several sub-commands.

Each type turns a bad value into an ``argparse.ArgumentTypeError``, which the command line
prints as one ``error:`` line (exit status 2) before anything runs.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from profond.errors import ProfondError

# The tracking URI schemes MLflow answers (a bare path is a local file store).
TRACKING_SCHEMES = (
    "http", "https", "sqlite", "file", "postgresql", "mysql", "mssql", "databricks",
)  # fmt: skip
TRACKING_URI_HELP = (
    "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the SQLite store "
    "$PROFOND_HOME/mlflow.db)"
)


def positive_int(text: str) -> int:
    """An integer > 0 (``--epochs 0``, ``--limit -1`` and ``--seed 1e23`` are refused)."""
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def float_pair(text: str) -> tuple[float, float]:
    """Two numbers separated by a comma, e.g. ``0.9,0.999``."""
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected two numbers such as 0.9,0.999, got {text!r}")
    first, second = (finite_float(part.strip()) for part in parts)
    return first, second


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    if any(ord(c) < 32 for c in text):
        raise argparse.ArgumentTypeError(f"must not hold control characters, got {text!r}")
    return text


def one_of(kind: str, names: Sequence[str]) -> Callable[[str], str]:
    """A type accepting only ``names``, with the valid list in the error."""

    def check(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {text!r}; choose one of: {', '.join(names)}"
            )
        return text

    check.__name__ = kind
    return check


def tracking_uri_arg(text: str) -> str:
    """A tracking URI with a scheme MLflow knows, or a local path."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    if "://" in text or text.split(":", 1)[0] in TRACKING_SCHEMES:
        scheme = text.split(":", 1)[0].split("+", 1)[0].lower()
        if scheme not in TRACKING_SCHEMES:
            raise argparse.ArgumentTypeError(
                f"unsupported scheme {scheme!r} in {text!r}; use one of: "
                f"{', '.join(TRACKING_SCHEMES)} (or a folder path)"
            )
    return text


def readable_file(text: str) -> Path:
    """An existing file this process can read."""
    path = Path(text).expanduser()
    check_readable(path)
    return path


def check_readable(path: Path) -> None:
    if not path.exists():
        raise ProfondError(f"{path}: no such file")
    if path.is_dir():
        raise ProfondError(f"{path} is a folder; give a file")
    if not os.access(path, os.R_OK):
        raise ProfondError(f"{path}: permission denied (the file is not readable)")


def output_folder(text: str) -> Path:
    """A folder to write into: it may not exist yet, but it must not be a file."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is a file; give a folder (nothing is overwritten)"
        )
    return path


def new_file(text: str) -> Path:
    """A file to create: it must not exist (nothing is overwritten), its folder must."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    path = Path(text).expanduser()
    if path.exists():
        raise argparse.ArgumentTypeError(f"{text} exists; choose another (nothing is overwritten)")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: folder {path.parent} does not exist")
    return path


def add_tracking_uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri", type=tracking_uri_arg, default=None, help=TRACKING_URI_HELP
    )


def add_run_ref(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run",
        metavar="RUN",
        type=non_empty,
        help="a run id, a unique id prefix, a run name, runs:/ID or models:/NAME/VERSION|@ALIAS",
    )


def resolve(args: argparse.Namespace) -> str:
    """The full run id behind ``args.run`` (imports mlflow)."""
    from profond.track.resolve import resolve_run

    return resolve_run(args.run, args.tracking_uri)


def print_json(value: Any) -> None:
    import json

    print(json.dumps(value))


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def stdout_to_stderr() -> AbstractContextManager[Any]:
    """Send what libraries print to stdout (MLflow's "View run" lines) to stderr instead.

    Stdout then carries only profond's own output, so ``--json`` stays valid JSON.
    """
    import contextlib
    import sys

    return contextlib.redirect_stdout(sys.stderr)
