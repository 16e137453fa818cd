"""Time the import of a generated 10 000-card bank and the pick of the next due card.

Run: ``python benchmarks/study_import.py [--cards N]``. Prints seconds for a first import, a
re-import (all unchanged) and the mean time of ``next_card`` once every card has a review date.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path


def generate_bank(num_cards: int, seed: int = 0) -> str:
    """A bank mixing both layouts: half sectioned questions, half flat blocks with comments."""
    rng = random.Random(seed)
    half = num_cards // 2
    parts = ["# Generated bank", ""]
    for i in range(half):
        if i % 50 == 0:
            parts += [f"## {i // 50 + 1}. Section {i // 50}", ""]
        parts += [
            f"### Q{i + 1}. What is item {i} of topic {rng.randint(0, 99)}?",
            "",
            "**Réponse :**",
            f"- point $x_{{{i}}}$",
            "- second point",
            "",
            "---",
            "",
        ]
    for i in range(num_cards - half):
        parts += [
            f"Question : Topic{i % 7} - Sub{i % 13} - flat question {i}?",
            f"Answer : answer {i}",
            "<!-- Question : Fake - Fake - never a card",
            "Answer : no -->",
        ]
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=10_000)
    args = parser.parse_args()

    from profond.study.importer import import_banks
    from profond.study.schedule import GRADES
    from profond.study.store import StudyStore

    with tempfile.TemporaryDirectory() as tmp:
        bank = Path(tmp) / "bank.md"
        bank.write_text(generate_bank(args.cards), encoding="utf-8")
        store = StudyStore(Path(tmp) / "study.db")
        start = time.perf_counter()
        report = import_banks(store, [bank], time.time())
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = import_banks(store, [bank], time.time())
        second = time.perf_counter() - start
        print(
            f"cards: {report.counts.added} added, problems: {sum(len(f.problems) for f in report.files)}"
        )
        print(f"first import:  {first:.3f} s")
        print(f"re-import:     {second:.3f} s ({again.counts.unchanged} unchanged)")
        # Review 200 cards so that both queries (due, then new) have work to do.
        now = time.time()
        for _ in range(200):
            card = store.next_card(now)
            store.grade(card.key, GRADES["3"], now)
        picks = 200
        start = time.perf_counter()
        for _ in range(picks):
            store.next_card(now + 86400 * 3)
        pick_ms = (time.perf_counter() - start) / picks * 1000
        print(f"next_card:     {pick_ms:.3f} ms per pick")
        store.close()


if __name__ == "__main__":
    main()
