"""What a lab is: an experiment that decides claims of the course by measurement.

A lab module defines one ``LAB = Lab(...)``: its claims (as data), a config dataclass per mode
(``fast``: seconds on a laptop, ``faithful``: closer to the cited paper) holding every size and
every threshold, and ``experiment(ctx) -> Outcome``. The experiment runs over ``ctx.seeds``, draws
its figures into ``ctx.outdir`` and returns one :class:`Verdict` per claim, each decided from
per-seed measurements by :mod:`profond.labs.protocol`. :meth:`Lab.run` writes ``results.json``.
A claim that does not hold is reported as such, never hidden.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profond.atomic import atomic_write_text
from profond.errors import ProfondError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REF = re.compile(r"^[QC][0-9]+$")
HOLDS = "holds"
FAILS = "does not hold"
INCONCLUSIVE = "inconclusive"
STATUSES = (HOLDS, FAILS, INCONCLUSIVE)
MODES = ("fast", "faithful")


@dataclass(frozen=True)
class Claim:
    """One statement of the course, and how a lab decides it.

    Attributes:
        id: short identifier, unique within its lab (``sigmoid_vanishes``).
        text: the claim, in profond's words.
        course: where the course says it: chapter section, lab sheet, question-bank ids
            (``"§44.1.2; Q5; C42"``).
        quantity: what is measured.
        rule: the decision rule with its thresholds (written from the lab's config).
        expected: what the literature leads one to expect (``holds``, ``does not hold`` or
            ``subtle``), so that a surprising verdict is visible; empty if unknown.
    """

    id: str
    text: str
    course: str
    quantity: str
    rule: str
    expected: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.id):
            raise ValueError(f"expected a lower-case identifier as claim id. Received: {self.id!r}")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict and the measurements it was decided from.

    Attributes:
        claim: the claim decided.
        status: ``holds``, ``does not hold`` or ``inconclusive``.
        seed_results: whether the rule held for each seed, in seed order (the verdict is
            :func:`profond.labs.protocol.over_seeds` of these with ``k``).
        k: how many seeds must agree (``None``: all of them).
        measured: the numbers behind it (per-seed lists and summaries), JSON-ready.
        summary: one sentence saying what was measured, with the numbers.
    """

    claim: Claim
    status: str
    seed_results: tuple[bool, ...]
    measured: dict[str, Any]
    k: int | None = None
    summary: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"expected status in {STATUSES}. Received: {self.status!r}")
        if not self.seed_results:
            raise ValueError("a verdict needs at least one per-seed result")

    @property
    def passed(self) -> bool:
        return self.status == HOLDS

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.claim.to_json(),
            "status": self.status,
            "seed_results": list(self.seed_results),
            "k": self.k,
            "measured": self.measured,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Outcome:
    """What an experiment returns to :meth:`Lab.run`."""

    verdicts: list[Verdict]
    figures: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class LabContext:
    """What an experiment is given: where to write, which seeds, which mode and config."""

    outdir: Path
    seeds: tuple[int, ...]
    mode: str
    config: Any

    def path(self, filename: str) -> Path:
        """A file in the run's folder (figures, tables)."""
        return self.outdir / filename


@dataclass(frozen=True)
class LabResult:
    """What a run produced: verdicts, figures, timing, and where it was written."""

    lab: Lab
    mode: str
    seeds: tuple[int, ...]
    verdicts: list[Verdict]
    figures: list[Path]
    seconds: float
    outdir: Path
    run_id: str | None = None

    @property
    def name(self) -> str:
        return self.lab.name

    @property
    def seed(self) -> int:
        return self.seeds[0]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def counts(self) -> dict[str, int]:
        return {s: sum(v.status == s for v in self.verdicts) for s in STATUSES}

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.lab.name,
            "title": self.lab.title,
            "setup": self.lab.setup,
            "answers": list(self.lab.answers),
            "mode": self.mode,
            "seeds": list(self.seeds),
            "config": _jsonable(dataclasses.asdict(self.lab.config_for(self.mode))),
            "verdicts": [v.to_json() for v in self.verdicts],
            "figures": [p.name for p in self.figures],
            "seconds": round(self.seconds, 3),
            "mlflow_run_id": self.run_id,
        }


@dataclass(frozen=True)
class Lab:
    """An experiment behind one or more claims of the course.

    Attributes:
        name: the ``profond lab run NAME`` name (lower case, digits, underscores).
        title: one line for ``profond lab list``.
        claims: the claims it decides, in the order of its verdicts.
        setup: one paragraph: data, models, protocol (what a reader needs to judge it).
        config: the fast-mode config, a frozen dataclass with a ``seeds`` field (the default
            number of seeds) and every size and threshold the rules use.
        faithful: the faithful-mode config (same class).
        experiment: ``experiment(ctx) -> Outcome``; imports heavy libraries itself, so that
            listing labs stays instant.
        keywords: course topics; a study card mentioning one links to this lab.
        answers: ids of the bank questions (``Q…``) and quiz cards (``C…``) whose answer it measures.
        fast: quick enough (fast mode, a few seconds) to offer during a quiz.
    """

    name: str
    title: str
    claims: tuple[Claim, ...]
    setup: str
    config: Any
    faithful: Any
    experiment: Callable[[LabContext], Outcome]
    keywords: tuple[str, ...]
    answers: tuple[str, ...] = ()
    fast: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"expected a lower-case identifier as lab name. Received: name={self.name!r}"
            )
        if not self.keywords:
            raise ValueError(f"expected at least one keyword. Received: keywords={self.keywords!r}")
        if not self.claims:
            raise ValueError(f"lab {self.name} decides no claim")
        ids = [c.id for c in self.claims]
        if len(set(ids)) != len(ids):
            raise ValueError(f"lab {self.name} has duplicate claim ids: {ids}")
        bad = [a for a in self.answers if not _REF.match(a)]
        if bad:
            raise ValueError(f"expected answers like 'Q5' or 'C42'. Received: {bad}")
        for cfg in (self.config, self.faithful):
            if not dataclasses.is_dataclass(cfg) or not isinstance(
                getattr(cfg, "seeds", None), int
            ):
                raise ValueError(f"lab {self.name}: a config must be a dataclass with int 'seeds'")

    @property
    def claim(self) -> str:
        """The claims' texts in one line (``profond lab list``)."""
        return " · ".join(c.text for c in self.claims)

    def config_for(self, mode: str) -> Any:
        if mode not in MODES:
            raise ProfondError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        return self.config if mode == "fast" else self.faithful

    def run(
        self, outdir: Path, seed: int = 0, *, mode: str = "fast", seeds: int | None = None
    ) -> LabResult:
        """Run the experiment over seeds ``seed, seed+1, …`` and write ``results.json``.

        Args:
            seeds: how many seeds (default: the mode's config ``seeds``).
        """
        config = self.config_for(mode)
        n = config.seeds if seeds is None else seeds
        if n < 1:
            raise ProfondError(f"--seeds must be at least 1, got {n}")
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        ctx = LabContext(outdir, tuple(range(seed, seed + n)), mode, config)
        start = time.perf_counter()
        outcome = self.experiment(ctx)
        check_claims(outcome.verdicts, self.claims)
        result = LabResult(
            self, mode, ctx.seeds, outcome.verdicts, outcome.figures,
            time.perf_counter() - start, outdir,
        )  # fmt: skip
        write_results(result)
        return result

    def describe(self) -> dict[str, Any]:
        """The ``profond lab list --json`` entry."""
        return {
            "name": self.name,
            "title": self.title,
            "claim": self.claim,
            "claims": [c.to_json() for c in self.claims],
            "keywords": list(self.keywords),
            "answers": list(self.answers),
            "fast": self.fast,
            "seeds": {"fast": self.config.seeds, "faithful": self.faithful.seeds},
        }


def write_results(result: LabResult) -> Path:
    """(Re)write ``results.json`` of a run; returns its path."""
    path = result.outdir / "results.json"
    atomic_write_text(path, json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    """Tuples → lists, numpy scalars → Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (tuples, numpy and torch scalars converted)."""
    return _jsonable(value)


def check_claims(verdicts: Sequence[Verdict], claims: Sequence[Claim]) -> None:
    """Fail loudly if an experiment's verdicts do not match its lab's claims one for one."""
    got, want = [v.claim.id for v in verdicts], [c.id for c in claims]
    if got != want:
        raise ProfondError(f"verdicts {got} do not match the lab's claims {want}")
