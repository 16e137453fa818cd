"""The quiz in a terminal: question, Enter, answer, grade 1-4 (q quits), next card.

Each grade is committed by the store before the next card is shown, so quitting at any prompt,
or closing the terminal, loses nothing already graded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel

from profond.labs.base import Lab
from profond.study.links import linked_labs
from profond.study.schedule import GRADES
from profond.study.store import StoredCard, StudyStore

GRADE_PROMPT = "grade: 1 again, 2 hard, 3 good, 4 easy (q to quit)"

# A bank is text from anywhere: a card holding ESC sequences (``\x1b]0;title\x07``,
# ``\x1b[2J``), C1 controls or bidirectional overrides could retitle, clear or rewrite the
# terminal. Each becomes a visible stand-in: C0 controls their Unicode "control picture"
# (ESC → ␛), the others ``<U+XXXX>``. Newlines and tabs stay.
_INERT = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\n\t"}
_INERT[0x7F] = "\u2421"
_INERT.update({code: f"<U+{code:04X}>" for code in range(0x80, 0xA0)})
_INERT.update(
    {code: f"<U+{code:04X}>" for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
)


def inert(text: str) -> str:
    """``text`` with every terminal control character replaced by a visible stand-in."""
    return text.translate(_INERT)


@dataclass(frozen=True)
class QuizOptions:
    deck: str | None = None  # only this deck and its sub-decks
    new_limit: int = 20  # never-reviewed cards introduced in one session
    due_only: bool = False  # review due cards only, no new ones
    with_labs: bool = False  # offer to run a linked fast lab after the answer

    def __post_init__(self) -> None:
        if self.new_limit < 0:
            raise ValueError(f"expected new_limit >= 0. Received: new_limit={self.new_limit}")


class _Quit(Exception):
    """The person asked to stop (q, end of input or Ctrl-C)."""


class QuizSession:
    """One sitting of the quiz.

    Args:
        store: where cards and their schedule live.
        options: a :class:`QuizOptions`.
        labs: labs a card may link to.
        console: where to print (rich).
        read: reads one line from the person (``input`` by default).
        clock: current Unix time.
        run_lab: ``run_lab(name, console)`` runs a lab when the person accepts.
    """

    def __init__(
        self,
        store: StudyStore,
        options: QuizOptions,
        labs: Sequence[Lab] = (),
        console: Console | None = None,
        read: Callable[[str], str] = input,
        clock: Callable[[], float] = time.time,
        run_lab: Callable[[str, Console], object] | None = None,
    ) -> None:
        self.store, self.options, self.labs = store, options, list(labs)
        self.console = console or Console()
        self._read, self._clock, self._run_lab = read, clock, run_lab
        self.graded = 0

    def _ask(self, prompt: str) -> str:
        try:
            answer = self._read(prompt + " ").strip().lower()
        except (EOFError, KeyboardInterrupt):
            raise _Quit from None
        if answer in ("q", "quit"):
            raise _Quit
        return answer

    def run(self) -> int:
        """Show cards until none is left or the person quits. Returns the number graded."""
        new_shown = 0
        try:
            while True:
                allow_new = not self.options.due_only and new_shown < self.options.new_limit
                card = self.store.next_card(self._clock(), self.options.deck, new=allow_new)
                if card is None:
                    self._say_done()
                    break
                new_shown += card.is_new
                self._show(card)
        except _Quit:
            self.console.print("\nstopped; every grade given is saved.")
        self.console.print(f"{self.graded} card(s) graded this session.")
        return self.graded

    def _show(self, card: StoredCard) -> None:
        label = "new" if card.is_new else "review"
        title = escape(inert(f"{card.deck}  [{label}]"))  # a deck name is text, not markup
        self.console.print(Panel(Markdown(inert(card.question)), title=title, title_align="left"))
        self._ask("Enter to show the answer (q to quit)")
        self.console.print(Panel(Markdown(inert(card.answer)), title="answer", title_align="left"))
        links = linked_labs(f"{card.question}\n{card.answer}", self.labs)
        for lab in links:
            self.console.print(f"→ profond lab run {lab.name}")
        while True:
            key = self._ask(GRADE_PROMPT)
            if key in GRADES:
                break
            self.console.print("please type 1, 2, 3, 4 or q")
        updated = self.store.grade(card.key, GRADES[key], self._clock())
        self.graded += 1
        due = datetime.fromtimestamp(updated.memory.due).strftime("%Y-%m-%d %H:%M")
        self.console.print(f"[dim]next review: {due}[/dim]")
        if self.options.with_labs and self._run_lab is not None:
            for lab in links:
                if lab.fast and self._ask(f"run lab {lab.name} now? [y/N]") in (
                    "y",
                    "yes",
                    "o",
                    "oui",
                ):
                    self._run_lab(lab.name, self.console)

    def _say_done(self) -> None:
        upcoming = self.store.next_due_time(self.options.deck)
        message = "nothing more to study now."
        if upcoming is not None and upcoming > self._clock():
            message += (
                f" next card due {datetime.fromtimestamp(upcoming).strftime('%Y-%m-%d %H:%M')}."
            )
        self.console.print(message)
