"""Reading cards out of a markdown question bank.

Two layouts are understood, and may be mixed in one file:

1. Sectioned course questions: a ``# Title``, numbered sections (``# 13. Topic`` or
   ``## 2. Topic``), questions as headings (``## Q28. …?`` or ``### Q5. …``) followed by a bold
   answer marker (``**Réponse :**``, ``**Réponse attendue :**``, ``**Answer:**``). The answer
   runs to a ``---`` rule or the next heading of the question's level or above. Deck:
   ``Title/Section``.
2. Flat quiz blocks: ``Question : Topic - Subtopic - text`` (possibly over several lines), then
   ``Answer : text`` or ``Answer :`` and a multi-line answer, blocks separated by HTML comments.
   Deck: ``Topic/Subtopic``.

HTML comments are never cards (see :mod:`profond.study.comments`), nor is anything in a fenced
code block mistaken for a heading or a marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from profond.study.cards import ParsedCard, Problem, deck_path
from profond.study.comments import is_fence, strip_comments

# Every pattern below is linear on long runs of whitespace: no two adjacent quantifiers can
# share the same spaces, and an unanchored search may start only at the first space of a run,
# so a line of 80 KB of spaces is read in milliseconds (not minutes of backtracking).
_HEADING = re.compile(r"^(#{1,6})\s+")
_QUESTION_HEADING = re.compile(r"^Q\s*\d+\s*[.:)-]?\s*(.*)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^\d+(?:\.\d+)*\s*[.)]?\s+(.+)$")
# The colon may sit inside or outside the bold: "**Réponse :**" and "**Réponse** :" both occur.
_ANSWER_MARKER = re.compile(
    r"^\s*\*\*\s*+(?:r[ée]ponse(?:\s++attendue)?|answer|expected\s++answer)\s*+(?::\s*+)?\*\*"
    r"\s*+(?::\s?)?(.*)$",
    re.IGNORECASE,
)
_FLAT_QUESTION = re.compile(r"^\s*Question\s*:\s?(.*)$")
_FLAT_ANSWER = re.compile(r"^\s*Answer\s*:\s?(.*)$")
_RULE = re.compile(r"^ {0,3}(?:-{3,}|\*{3,}|_{3,})\s*$")
_TOPIC_SEPARATOR = re.compile(r"(?<!\s)\s++[-–—]\s+")
# Left by chat exports: ":contentReference[oaicite:3]{index=3}".
_ARTEFACT = re.compile(r"(?:(?<!\s)\s++)?:?contentReference\[[^\]]*\](?:\{[^}]*\})?")


@dataclass(frozen=True)
class BankParse:
    """What one bank holds: its cards and what could not be read (with 1-based lines)."""

    cards: list[ParsedCard]
    problems: list[Problem]


@dataclass
class _OpenCard:
    """A card being read: its question lines, then its answer lines once the marker is seen."""

    level: int  # heading level of a sectioned question; 0 for a flat block
    deck: str
    line: int
    question: list[str]
    answer: list[str] | None = None

    def append(self, text: str) -> None:
        (self.question if self.answer is None else self.answer).append(text)


def split_topic(text: str) -> tuple[list[str], str]:
    """Split ``Topic - Subtopic - question`` into ``(["Topic", "Subtopic"], "question")``.

    At most two leading parts are a deck, so dashes later in the question stay in it.
    """
    parts = _TOPIC_SEPARATOR.split(text.strip(), maxsplit=2)
    return parts[:-1], parts[-1]


def clean_text(lines: list[str]) -> str:
    """Join lines, drop export artefacts and trailing spaces, trim blank lines at both ends."""
    text = "\n".join(_ARTEFACT.sub("", line).rstrip() for line in lines)
    return text.strip("\n").strip()


def parse_bank(text: str, source: str) -> BankParse:
    """Read every card of a bank.

    Args:
        text: the whole file, already decoded.
        source: its path, used in problems and as the deck when a file has no title.

    Returns:
        a :class:`BankParse`; a question without an answer, an empty answer or an unterminated
        comment is a problem, and reading goes on after it.
    """
    stripped = strip_comments(text.splitlines())
    reader = _Reader(source)
    reader.problems += [Problem(source, line, message) for line, message in stripped.problems]
    in_fence = False
    for index, line in enumerate(stripped.lines):
        if in_fence or is_fence(line):
            in_fence = in_fence != is_fence(line)
            if reader.current is not None:
                reader.current.append(line)
            continue
        # A comment at the start of a line separates flat blocks; it ends a flat answer.
        current = reader.current
        if index in stripped.comment_starts and current is not None:
            if current.level == 0 and current.answer is not None:
                reader.finish()
        reader.read(line, index + 1)
    reader.finish()
    return BankParse(reader.cards, sorted(reader.problems, key=lambda p: p.line))


class _Reader:
    """The state of reading one bank: cards so far, the title and section, the open card."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.cards: list[ParsedCard] = []
        self.problems: list[Problem] = []
        self.fallback_title = PurePath(source).stem
        self.title: str | None = None
        self.section: str | None = None
        self.current: _OpenCard | None = None

    def finish(self) -> None:
        if self.current is not None:
            _finish(self.current, self.source, self.cards, self.problems)
        self.current = None

    def _deck(self) -> str:
        return deck_path([self.title or self.fallback_title, self.section or ""])

    def read(self, line: str, number: int) -> None:
        """One line outside code fences (1-based ``number``)."""
        heading = _HEADING.match(line)
        if heading:
            self._heading(line, len(heading.group(1)), heading.end(), number)
            return
        if _RULE.match(line):
            self.finish()
            return
        flat = _FLAT_QUESTION.match(line)
        if flat:
            self.finish()
            topics, question_text = split_topic(flat.group(1))
            deck = deck_path(topics) or self._deck()
            self.current = _OpenCard(0, deck, number, [question_text])
            return
        if self.current is None:
            return
        if self.current.answer is None:
            marker = _ANSWER_MARKER.match(line) or _FLAT_ANSWER.match(line)
            if marker:
                self.current.answer = [marker.group(1)]
                return
        self.current.append(line)

    def _heading(self, line: str, level: int, text_start: int, number: int) -> None:
        if self.current is not None and level > max(self.current.level, 2):
            self.current.append(line)  # a sub-heading inside a question or an answer
            return
        self.finish()
        # Closing hashes and spaces are dropped by string methods, not by a regex.
        text = line[text_start:].rstrip().rstrip("#").rstrip()
        question = _QUESTION_HEADING.match(text)
        numbered = _NUMBERED.match(text)
        if question:
            self.current = _OpenCard(level, self._deck(), number, [question.group(1)])
        elif level == 1 and not numbered:
            self.title, self.section = text, None
        elif level <= 2:
            self.section = numbered.group(1) if numbered else text


def _finish(card: _OpenCard, source: str, cards: list[ParsedCard], problems: list[Problem]) -> None:
    question = clean_text(card.question)
    if not question:
        problems.append(Problem(source, card.line, "empty question"))
    elif card.answer is None:
        expected = "'Answer :'" if card.level == 0 else "a bold '**Réponse :**' or '**Answer:**'"
        problems.append(
            Problem(
                source,
                card.line,
                f"question has no answer (expected {expected}): {question[:60]!r}",
            )
        )
    else:
        answer = clean_text(card.answer)
        if not answer:
            problems.append(Problem(source, card.line, f"answer is empty: {question[:60]!r}"))
        else:
            cards.append(ParsedCard(card.deck, question, answer, source, card.line))
