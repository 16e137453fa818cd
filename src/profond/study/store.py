"""The study state: cards and their review history in one SQLite file.

SQLite in WAL mode, each grade committed on its own, so that quitting (or a crash) at any
moment loses nothing already graded. Times are Unix seconds (UTC). A card is never-reviewed
(``is_new = 1``) until its first grade; the index on ``(is_new, due, seq)`` makes picking the
next card one index probe whatever the size of the bank.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fsrs import Rating

from profond.errors import ProfondError
from profond.paths import profond_home, writable_dir
from profond.study.cards import ParsedCard
from profond.study.schedule import MemoryState, Reviewer

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    key TEXT PRIMARY KEY,          -- card_key(deck, question): independent of file and line
    deck TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    source TEXT NOT NULL,          -- where it was last imported from
    line INTEGER NOT NULL,
    seq INTEGER NOT NULL,          -- import order: new cards are shown in the banks' order
    added_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    is_new INTEGER NOT NULL DEFAULT 1,
    due REAL NOT NULL,
    state INTEGER,                 -- fsrs.State once reviewed: 1 learning, 2 review, 3 relearning
    step INTEGER,
    stability REAL,
    difficulty REAL,
    last_review REAL,
    reps INTEGER NOT NULL DEFAULT 0,
    lapses INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS cards_by_due ON cards (is_new, due, seq);
CREATE INDEX IF NOT EXISTS cards_by_deck ON cards (deck);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY,
    card_key TEXT NOT NULL REFERENCES cards (key),
    rating INTEGER NOT NULL,       -- 1 again, 2 hard, 3 good, 4 easy
    reviewed_at REAL NOT NULL,
    state_before INTEGER,          -- NULL: the card's first review
    due_after REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_card ON reviews (card_key);
"""
_CARD_COLUMNS = (
    "key, deck, question, answer, source, line, is_new, due, state, step, stability, "
    "difficulty, last_review, reps, lapses"
)


@dataclass(frozen=True)
class StoredCard:
    """A card as the store holds it: its text, where it came from and its memory state."""

    key: str
    deck: str
    question: str
    answer: str
    source: str
    line: int
    is_new: bool
    memory: MemoryState
    reps: int
    lapses: int


@dataclass(frozen=True)
class ImportCounts:
    """How an import changed the store."""

    added: int
    updated: int  # question or answer text changed; review history kept
    unchanged: int


@dataclass(frozen=True)
class DeckSummary:
    deck: str
    cards: int
    due: int  # reviewed cards whose review date has come
    new: int  # cards never reviewed


@dataclass(frozen=True)
class StudyStats:
    cards: int
    new: int
    due_now: int
    due_next_day: int  # reviewed cards coming due within 24 hours (due now included)
    reviews: int
    reviews_last_day: int
    recall_rate: float | None  # share of reviews of already-learnt cards not graded "again"


def default_db_path() -> Path:
    """``profond_home()/study.db``."""
    return writable_dir(profond_home(), "the study database's folder") / "study.db"


def _deck_clause(deck: str | None) -> tuple[str, list[object]]:
    """SQL that keeps a deck and its sub-decks (``A`` keeps ``A`` and ``A/B``, not ``AB``)."""
    if not deck:
        return "", []
    deck = deck.strip("/")
    return " AND (deck = ? OR substr(deck, 1, ?) = ?)", [deck, len(deck) + 1, deck + "/"]


class StudyStore:
    """Cards and reviews in a SQLite file.

    Args:
        path: the database file; created with its folder if missing.
        reviewer: schedules grades; the default uses FSRS's default parameters.
    """

    def __init__(self, path: str | Path, reviewer: Reviewer | None = None) -> None:
        self.path = Path(path)
        self.reviewer = reviewer or Reviewer()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # A generous busy timeout: concurrent commands queue on the write lock, not fail.
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._enable_wal()
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._transaction():
                self._create_schema()
        except sqlite3.DatabaseError as error:
            raise ProfondError(
                f"cannot open the study database {self.path}: {error}; move it away to start afresh"
            ) from None

    def _enable_wal(self, timeout_s: float = 30.0) -> None:
        """Switch to write-ahead logging. The switch needs the database to itself, and SQLite
        answers "locked" at once (no busy wait) while another process opens a new file: retry."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _create_schema(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ProfondError(
                f"{self.path} was written by a newer profond (schema {version}); upgrade profond"
            )
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StudyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- importing ---------------------------------------------------------------------------

    def import_cards(self, cards: Sequence[ParsedCard], now: float) -> ImportCounts:
        """Add new cards and update changed ones in one transaction; reviews are kept.

        Args:
            cards: parsed cards with distinct keys.
            now: the import time (Unix seconds); new cards become available from then.
        """
        # The plan is made from what the store holds once the write lock is taken: reading
        # first and writing later lets two imports of one bank both plan the same inserts.
        with self._transaction():
            inserts, content_updates, location_updates = self._plan_import(cards, now)
            self._db.executemany(
                "INSERT INTO cards (key, deck, question, answer, source, line, seq, added_at, "
                "updated_at, due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
            self._db.executemany(
                "UPDATE cards SET question = ?, answer = ?, source = ?, line = ?, updated_at = ? "
                "WHERE key = ?",
                content_updates,
            )
            self._db.executemany(
                "UPDATE cards SET source = ?, line = ? WHERE key = ?", location_updates
            )
        return ImportCounts(
            added=len(inserts),
            updated=len(content_updates),
            unchanged=len(cards) - len(inserts) - len(content_updates),
        )

    def _plan_import(
        self, cards: Sequence[ParsedCard], now: float
    ) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """Rows to insert, content to update and locations to update; call inside a transaction."""
        existing = {
            row[0]: row[1:]
            for row in self._db.execute("SELECT key, question, answer, source, line FROM cards")
        }
        seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM cards").fetchone()[0]
        inserts: list[tuple] = []
        content_updates: list[tuple] = []
        location_updates: list[tuple] = []
        for card in cards:
            old = existing.get(card.key)
            if old is None:
                seq += 1
                inserts.append((card.key, card.deck, card.question, card.answer, card.source,
                                card.line, seq, now, now, now))  # fmt: skip
            elif (card.question, card.answer) != old[:2]:
                content_updates.append(
                    (card.question, card.answer, card.source, card.line, now, card.key)
                )
            elif (card.source, card.line) != old[2:]:
                location_updates.append((card.source, card.line, card.key))
        return inserts, content_updates, location_updates

    # -- reviewing ---------------------------------------------------------------------------

    def next_card(
        self, now: float, deck: str | None = None, new: bool = True, due: bool = True
    ) -> StoredCard | None:
        """The card to show now: the most overdue reviewed card, else the first new card.

        Args:
            now: current time (Unix seconds).
            deck: keep only this deck and its sub-decks.
            new: whether never-reviewed cards may be picked.
            due: whether reviewed cards whose date has come may be picked.
        """
        clause, params = _deck_clause(deck)
        if due:
            row = self._db.execute(
                f"SELECT {_CARD_COLUMNS} FROM cards WHERE is_new = 0 AND due <= ?{clause} "
                "ORDER BY due LIMIT 1",
                [now, *params],
            ).fetchone()
            if row:
                return _card_from_row(row)
        if new:
            row = self._db.execute(
                f"SELECT {_CARD_COLUMNS} FROM cards WHERE is_new = 1{clause} ORDER BY due, seq LIMIT 1",
                params,
            ).fetchone()
            if row:
                return _card_from_row(row)
        return None

    def next_due_time(self, deck: str | None = None) -> float | None:
        """When the earliest reviewed card comes due (None if no card was ever reviewed)."""
        clause, params = _deck_clause(deck)
        row = self._db.execute(
            f"SELECT MIN(due) FROM cards WHERE is_new = 0{clause}", params
        ).fetchone()
        return row[0]

    def get(self, key: str) -> StoredCard:
        row = self._db.execute(f"SELECT {_CARD_COLUMNS} FROM cards WHERE key = ?", [key]).fetchone()
        if row is None:
            raise ProfondError(f"no card with key {key!r}; import its bank first")
        return _card_from_row(row)

    def grade(self, key: str, rating: Rating, now: float) -> StoredCard:
        """Schedule the card after a grade, and commit it with its review log at once."""
        card = self.get(key)
        memory = self.reviewer.review(card.memory, rating, now)
        # A lapse: a card already learnt (review state) that was forgotten.
        lapse = int(card.memory.state == 2 and rating == Rating.Again)
        with self._transaction():
            self._db.execute(
                "UPDATE cards SET is_new = 0, due = ?, state = ?, step = ?, stability = ?, "
                "difficulty = ?, last_review = ?, reps = reps + 1, lapses = lapses + ? WHERE key = ?",
                [
                    memory.due,
                    memory.state,
                    memory.step,
                    memory.stability,
                    memory.difficulty,
                    memory.last_review,
                    lapse,
                    key,
                ],
            )
            self._db.execute(
                "INSERT INTO reviews (card_key, rating, reviewed_at, state_before, due_after) "
                "VALUES (?, ?, ?, ?, ?)",
                [key, int(rating), now, card.memory.state, memory.due],
            )
        return self.get(key)

    # -- summaries ---------------------------------------------------------------------------

    def decks(self, now: float) -> list[DeckSummary]:
        """Every deck with its card count, cards due now and new cards, sorted by name."""
        rows = self._db.execute(
            "SELECT deck, COUNT(*), SUM(is_new = 0 AND due <= ?), SUM(is_new) FROM cards "
            "GROUP BY deck ORDER BY deck",
            [now],
        )
        return [DeckSummary(deck, count, due or 0, new or 0) for deck, count, due, new in rows]

    def stats(self, now: float) -> StudyStats:
        cards, new, due_now, due_day = self._db.execute(
            "SELECT COUNT(*), SUM(is_new), SUM(is_new = 0 AND due <= ?), "
            "SUM(is_new = 0 AND due <= ?) FROM cards",
            [now, now + 86400],
        ).fetchone()
        reviews, last_day, recalled, learnt = self._db.execute(
            "SELECT COUNT(*), SUM(reviewed_at >= ?), SUM(state_before = 2 AND rating > 1), "
            "SUM(state_before = 2) FROM reviews",
            [now - 86400],
        ).fetchone()
        return StudyStats(
            cards=cards,
            new=new or 0,
            due_now=due_now or 0,
            due_next_day=due_day or 0,
            reviews=reviews,
            reviews_last_day=last_day or 0,
            recall_rate=(recalled / learnt) if learnt else None,
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:  # another process held the lock too long
            raise ProfondError(
                f"the study database is busy ({error}); another profond study command is "
                "writing to it: try again when it has finished"
            ) from None

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def _card_from_row(row: tuple) -> StoredCard:
    (key, deck, question, answer, source, line, is_new, due, state, step, stability,
     difficulty, last_review, reps, lapses) = row  # fmt: skip
    memory = MemoryState(state, step, stability, difficulty, due, last_review)
    return StoredCard(key, deck, question, answer, source, line, bool(is_new), memory, reps, lapses)
