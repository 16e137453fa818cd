"""``python -m profond.study …``: the study commands on their own (same as ``profond study …``)."""

from __future__ import annotations

import argparse
import sys

from profond.errors import ProfondError
from profond.study.commands import add_study_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m profond.study")
    add_study_parser(parser.add_subparsers(dest="command", required=True))
    # Accept both "python -m profond.study quiz" and "python -m profond.study study quiz".
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "study":
        argv = ["study", *argv]
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ProfondError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
