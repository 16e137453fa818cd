"""A question-and-answer card as read from a bank, and the key that names it across files."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")


def deck_path(parts: list[str]) -> str:
    """Join deck parts into one ``A/B/C`` path.

    A ``/`` inside a part would read as a deeper level, so it becomes ``-``; empty parts go.
    """
    cleaned = [_SPACES.sub(" ", part.replace("/", "-")).strip() for part in parts]
    return "/".join(part for part in cleaned if part)


def card_key(deck: str, question: str) -> str:
    """A stable identity for a card: hash of its deck and question, whitespace-insensitive.

    It does not depend on the file or the line, so moving a card between files, or editing
    its answer, keeps its review history.
    """
    norm = _SPACES.sub(" ", f"{deck}\n{question}".casefold()).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class ParsedCard:
    """One card found in a bank.

    Attributes:
        deck: ``Title/Section`` or ``Topic/Subtopic`` path.
        question: markdown text of the question.
        answer: markdown text of the answer.
        source: the file it was read from.
        line: 1-based line of the question in that file.
    """

    deck: str
    question: str
    answer: str
    source: str
    line: int

    @property
    def key(self) -> str:
        return card_key(self.deck, self.question)


@dataclass(frozen=True)
class Problem:
    """Something in a bank that could not be read as a card, with where it is (1-based line)."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"
