"""Spaced repetition with FSRS: one card's memory state in, a grade, the next state out.

The ``fsrs`` package does the scheduling; this module only converts between its ``Card`` and
the plain values kept in SQLite, so that the store never pickles anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from fsrs import Card, Rating, Scheduler, State

# The four grades of a review, by the key a person presses.
GRADES: dict[str, Rating] = {
    "1": Rating.Again,
    "2": Rating.Hard,
    "3": Rating.Good,
    "4": Rating.Easy,
}


@dataclass(frozen=True)
class ScheduleConfig:
    desired_retention: float = 0.9  # probability of recall FSRS aims for when a card is due
    maximum_interval: int = 36500  # days; FSRS's own default (a century)
    enable_fuzzing: bool = True  # spread review dates a little so cards learnt together part

    def __post_init__(self) -> None:
        if not 0.0 < self.desired_retention < 1.0:
            raise ValueError(
                f"expected 0 < desired_retention < 1. Received: desired_retention={self.desired_retention}"
            )
        if self.maximum_interval <= 0:
            raise ValueError(
                f"expected a positive maximum_interval. Received: maximum_interval={self.maximum_interval}"
            )


@dataclass(frozen=True)
class MemoryState:
    """What FSRS knows of one card, as stored in a row (times are Unix seconds, UTC).

    ``state`` is None for a card never reviewed.
    """

    state: int | None
    step: int | None
    stability: float | None
    difficulty: float | None
    due: float
    last_review: float | None


def _to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class Reviewer:
    """Applies a grade to a card's memory state.

    Args:
        config: a :class:`ScheduleConfig`.
    """

    def __init__(self, config: ScheduleConfig | None = None) -> None:
        self.config = config or ScheduleConfig()
        self._scheduler = Scheduler(
            desired_retention=self.config.desired_retention,
            maximum_interval=self.config.maximum_interval,
            enable_fuzzing=self.config.enable_fuzzing,
        )

    def review(self, memory: MemoryState, rating: Rating, now: float) -> MemoryState:
        """The state after grading the card ``rating`` at ``now`` (Unix seconds)."""
        if memory.state is None:
            card = Card(card_id=0, due=_to_datetime(now))
        else:
            card = Card(
                card_id=0,
                state=State(memory.state),
                step=memory.step,
                stability=memory.stability,
                difficulty=memory.difficulty,
                due=_to_datetime(memory.due),
                last_review=None
                if memory.last_review is None
                else _to_datetime(memory.last_review),
            )
        card, _log = self._scheduler.review_card(card, rating, review_datetime=_to_datetime(now))
        assert card.last_review is not None  # review_card always sets it
        return MemoryState(
            state=int(card.state),
            step=card.step,
            stability=card.stability,
            difficulty=card.difficulty,
            due=card.due.timestamp(),
            last_review=card.last_review.timestamp(),
        )
