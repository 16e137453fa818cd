"""The ``profond`` command: it lists the sub-commands and turns errors into one line.

Each sub-command lives in its own module (see :mod:`profond.commands`). Commands defined by
other packages are plugged in by name: their module is imported only when that command runs,
so ``profond --help`` stays fast whatever they import.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from profond import __version__
from profond.errors import ProfondError

COMMANDS = (
    "profond.commands.train",
    "profond.commands.evaluate",
    "profond.commands.predict",
    "profond.commands.runs",
    "profond.commands.data",
    "profond.commands.generate",
    "profond.commands.compress",
    "profond.commands.attack",
    "profond.commands.export",
)

# Commands that other packages define: name → (module, function adding the parser, help).
PLUGGED: dict[str, tuple[str, str, str]] = {
    "serve": ("profond.serve.commands", "add_serve_parser",
              "serve a trained model behind an HTTP API"),
    "study": ("profond.study.commands", "add_study_parser",
              "spaced-repetition quiz over markdown Q&A banks"),
    "lab": ("profond.labs.commands", "add_lab_parser",
            "run the experiments behind the course's claims"),
}  # fmt: skip


class UsageError(ProfondError):
    """A command line that argparse refused."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are raised, then shown as one ``error:`` line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(argv).parse_args(argv)
        if not hasattr(args, "func"):
            build_parser(argv).print_help()
            return 0
        return int(args.func(args) or 0)
    except ProfondError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The full parser; a plugged command's own parser is built only when it is in ``argv``."""
    parser = Parser(
        prog="profond",
        description="Train, track, serve and explain the networks of a deep-learning course.",
    )
    parser.add_argument("--version", action="version", version=f"profond {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).add_parser(sub)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, function, help_text) in PLUGGED.items():
        if name == wanted:
            getattr(importlib.import_module(module), function)(sub)
        else:  # listed in --help; never parsed, since the command line names another
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text
