"""Importing banks into the store: read files, parse them, report what was found and what was not.

Importing is idempotent: a card is known by its deck and question, so importing the same banks
again changes nothing, and an edited answer updates the card without losing its reviews.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profond.errors import ProfondError
from profond.study.cards import ParsedCard, Problem
from profond.study.parse import parse_bank
from profond.study.store import ImportCounts, StudyStore

BANK_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class FileReport:
    path: str
    cards: int
    problems: list[Problem]


@dataclass(frozen=True)
class ImportReport:
    """The result of an import: per file, the cards read and the problems met; overall counts."""

    files: list[FileReport]
    counts: ImportCounts

    def to_json(self) -> dict[str, Any]:
        """The ``profond study import --json`` document."""
        return {
            "files": [
                {
                    "path": f.path,
                    "cards": f.cards,
                    "problems": [{"line": p.line, "message": p.message} for p in f.problems],
                }
                for f in self.files
            ],
            "added": self.counts.added,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
        }


def bank_files(paths: list[Path]) -> list[Path]:
    """The files named, and the bank files (``.md``, ``.markdown``, ``.txt``) under folders named.

    Raises:
        ProfondError: a path does not exist, or a folder holds no bank file.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in BANK_SUFFIXES
            )
            if not found:
                raise ProfondError(f"no .md, .markdown or .txt file under {path}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ProfondError(f"no such file or folder: {path}")
    return files


def read_bank(path: Path) -> tuple[str | None, list[Problem]]:
    """The text of a bank, or None and a problem that says where it is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        message = (
            f"not UTF-8: byte 0x{data[error.start]:02x} at column {column}; "
            "save the file as UTF-8 and import it again (file skipped)"
        )
        return None, [Problem(str(path), line, message)]


def import_banks(store: StudyStore, paths: list[Path], now: float) -> ImportReport:
    """Parse every bank under ``paths`` and bring the store up to date in one transaction.

    Args:
        store: the study store.
        paths: files or folders.
        now: import time (Unix seconds).

    Returns:
        an :class:`ImportReport`. A question asked twice (same deck and question) is kept once
        and the repeat reported where it stands.
    """
    reports: list[FileReport] = []
    cards: list[ParsedCard] = []
    first_seen: dict[str, ParsedCard] = {}
    for path in bank_files(paths):
        text, problems = read_bank(path)
        kept = 0
        if text is not None:
            parsed = parse_bank(text, str(path))
            problems = list(parsed.problems)
            for card in parsed.cards:
                earlier = first_seen.get(card.key)
                if earlier is not None:
                    problems.append(
                        Problem(
                            str(path),
                            card.line,
                            f"same deck and question as {earlier.source}:{earlier.line}; kept that one",
                        )
                    )
                    continue
                first_seen[card.key] = card
                cards.append(card)
                kept += 1
            problems.sort(key=lambda p: p.line)
        reports.append(FileReport(str(path), kept, problems))
    counts = store.import_cards(cards, now)
    return ImportReport(reports, counts)
