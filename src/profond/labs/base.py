"""What a lab is: an experiment that tests claims of the course and says whether they held.

A lab module defines one ``LAB = Lab(...)``. Its ``experiment(outdir, seed)`` measures, draws
its figure into ``outdir`` and returns the verdicts; :meth:`Lab.run` then writes
``results.json`` next to the figure. A claim that failed is reported as failed, never hidden.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profond.atomic import atomic_write_text

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Verdict:
    """One claim and whether the measurement bore it out."""

    claim: str
    passed: bool
    measured: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"claim": self.claim, "passed": self.passed, "measured": self.measured}


@dataclass(frozen=True)
class LabResult:
    """What a run produced: verdicts, the figures written and how long it took."""

    name: str
    seed: int
    verdicts: list[Verdict]
    figures: list[Path]
    seconds: float
    outdir: Path

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.name,
            "seed": self.seed,
            "passed": self.passed,
            "verdicts": [v.to_json() for v in self.verdicts],
            "figures": [str(p.name) for p in self.figures],
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Outcome:
    """What an experiment function returns to :meth:`Lab.run`."""

    verdicts: list[Verdict]
    figures: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Lab:
    """An experiment behind one or more claims of the course.

    Attributes:
        name: the ``profond lab run NAME`` name (lower case, digits, underscores).
        title: one line for ``profond lab list``.
        claim: the claim tested, in one sentence.
        keywords: words that link a study card to this lab (matched case-insensitively).
        fast: whether it runs in under about 20 s on 2 CPU cores (the quiz offers only these).
        experiment: ``experiment(outdir, seed) -> Outcome``; imports heavy libraries itself, so
            listing labs stays instant.
    """

    name: str
    title: str
    claim: str
    keywords: tuple[str, ...]
    fast: bool
    experiment: Callable[[Path, int], Outcome]

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"expected a lower-case identifier as lab name. Received: name={self.name!r}"
            )
        if not self.keywords:
            raise ValueError(f"expected at least one keyword. Received: keywords={self.keywords!r}")

    def run(self, outdir: Path, seed: int = 0) -> LabResult:
        """Run the experiment into ``outdir`` and write ``results.json`` there.

        Returns:
            a :class:`LabResult` with one verdict per claim tested.
        """
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        outcome = self.experiment(outdir, seed)
        result = LabResult(
            name=self.name,
            seed=seed,
            verdicts=outcome.verdicts,
            figures=outcome.figures,
            seconds=time.perf_counter() - start,
            outdir=outdir,
        )
        atomic_write_text(outdir / "results.json", json.dumps(result.to_json(), indent=2) + "\n")
        return result

    def describe(self) -> dict[str, Any]:
        """The ``profond lab list --json`` entry."""
        return {
            "name": self.name,
            "title": self.title,
            "claim": self.claim,
            "keywords": list(self.keywords),
            "fast": self.fast,
        }
