"""``profond study import | decks | quiz | stats``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from profond.errors import ProfondError
from profond.study.importer import import_banks
from profond.study.session import QuizOptions, QuizSession, inert
from profond.study.store import StudyStore, default_db_path


def add_study_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``study`` command and its sub-commands to ``subparsers``."""
    study = subparsers.add_parser("study", help="spaced-repetition quiz over markdown Q&A banks")
    commands = study.add_subparsers(
        dest="study_command", metavar="{import,decks,quiz,stats}", required=True
    )

    imp = commands.add_parser("import", help="import (or re-import) markdown banks")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="bank files or folders")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(func=_import)

    decks = commands.add_parser("decks", help="decks with their card and due counts")
    decks.add_argument("--json", action="store_true", help="print JSON")
    decks.set_defaults(func=_decks)

    quiz = commands.add_parser("quiz", help="study due and new cards in the terminal")
    quiz.add_argument(
        "--deck", default=None, metavar="PATH", help="only this deck and its sub-decks"
    )
    quiz.add_argument(
        "--new", type=int, default=20, metavar="N", help="new cards to introduce (default 20)"
    )
    quiz.add_argument("--due", action="store_true", help="only cards due for review, no new ones")
    quiz.add_argument(
        "--with-labs", action="store_true", help="offer to run a linked fast lab after the answer"
    )
    quiz.set_defaults(func=_quiz)

    stats = commands.add_parser("stats", help="cards, reviews and recall")
    stats.set_defaults(func=_stats)


def _text(value: str) -> str:
    """``value`` safe to print with rich: markup escaped, control characters made visible."""
    return escape(inert(value))


def _open() -> StudyStore:
    return StudyStore(default_db_path())


def _import(args: argparse.Namespace) -> int:
    with _open() as store:
        report = import_banks(store, list(args.paths), time.time())
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        return 0
    console = Console()
    for file in report.files:
        # Paths and bank text are shown as text: never rich markup, never terminal controls.
        console.print(f"{_text(file.path)}: {file.cards} card(s)", highlight=False)
        for problem in file.problems:
            console.print(f"  [yellow]{_text(str(problem))}[/yellow]", highlight=False)
    c = report.counts
    console.print(f"added {c.added}, updated {c.updated}, unchanged {c.unchanged}")
    return 0


def _decks(args: argparse.Namespace) -> int:
    with _open() as store:
        decks = store.decks(time.time())
    if args.json:
        rows = [{"deck": d.deck, "cards": d.cards, "due": d.due, "new": d.new} for d in decks]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not decks:
        Console().print("no cards yet: run `profond study import PATH`")
        return 0
    table = Table("deck", "cards", "due", "new")
    for d in decks:
        table.add_row(_text(d.deck), str(d.cards), str(d.due), str(d.new))
    Console().print(table)
    return 0


def _quiz(args: argparse.Namespace) -> int:
    if args.new < 0:
        raise ProfondError(f"--new must be 0 or more, got {args.new}")
    from profond.labs.commands import run_lab
    from profond.labs.registry import all_labs

    def start_lab(name: str, console: Console) -> object:
        return run_lab(name, None, 0, console)

    options = QuizOptions(
        deck=args.deck, new_limit=args.new, due_only=args.due, with_labs=args.with_labs
    )
    with _open() as store:
        if args.deck and not any(
            d.deck == args.deck.strip("/") or d.deck.startswith(args.deck.strip("/") + "/")
            for d in store.decks(time.time())
        ):
            raise ProfondError(f"no deck {args.deck!r}; see `profond study decks`")
        QuizSession(store, options, labs=all_labs(), run_lab=start_lab).run()
    return 0


def _stats(args: argparse.Namespace) -> int:
    with _open() as store:
        s = store.stats(time.time())
    recall = "n/a" if s.recall_rate is None else f"{100 * s.recall_rate:.0f}%"
    table = Table("", "", show_header=False)
    for name, value in [
        ("cards", s.cards),
        ("never reviewed", s.new),
        ("due now", s.due_now),
        ("due within 24 h", s.due_next_day),
        ("reviews", s.reviews),
        ("reviews in the last 24 h", s.reviews_last_day),
        ("recall of learnt cards", recall),
    ]:
        table.add_row(name, str(value))
    Console().print(table)
    return 0
