"""Deciding a claim from measurements over seeds: the rules every lab shares.

A claim **holds** only if its rule holds for every seed (or for a stated ``k`` of the ``n``
seeds), **does not hold** if the rule fails for every seed (or ``k`` of them), and is
**inconclusive** otherwise. A difference between two arms counts only beyond the seeds' spread
(``k_std`` × the pooled standard deviation) or a stated margin, whichever is larger.

Pure Python and NumPy: no torch, so the rules are cheap to test with synthetic numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from profond.labs.base import FAILS, HOLDS, INCONCLUSIVE, Claim, Verdict, jsonable


def over_seeds(results: Sequence[bool], k: int | None = None) -> str:
    """The verdict of per-seed rule results.

    Args:
        results: whether the rule held, one entry per seed.
        k: how many seeds must agree (default: all). Must be more than half of them, so that
            a claim cannot both hold and not hold.

    Returns:
        ``holds`` if at least ``k`` seeds pass, ``does not hold`` if at least ``k`` fail,
        ``inconclusive`` otherwise.
    """
    n = len(results)
    if n == 0:
        raise ValueError("expected at least one per-seed result")
    k = n if k is None else k
    if not n / 2 < k <= n:
        raise ValueError(f"expected n/2 < k <= n. Received: k={k}, n={n}")
    passed = sum(bool(r) for r in results)
    if passed >= k:
        return HOLDS
    if n - passed >= k:
        return FAILS
    return INCONCLUSIVE


def decide(
    claim: Claim,
    results: Sequence[bool],
    measured: dict[str, Any],
    *,
    k: int | None = None,
    summary: str = "",
) -> Verdict:
    """A :class:`Verdict` for ``claim`` from its per-seed rule ``results``.

    ``measured`` should hold the per-seed numbers the results were computed from.
    """
    results = tuple(bool(r) for r in results)
    return Verdict(
        claim=claim,
        status=over_seeds(results, k),
        seed_results=results,
        measured=jsonable(measured),
        k=k,
        summary=summary,
    )


def rule_per_seed(values: Sequence[Any], rule: Callable[[Any], bool]) -> list[bool]:
    """``rule`` applied to each seed's value (a number, a dict of numbers, ...)."""
    return [bool(rule(v)) for v in values]


def pooled_std(*groups: Sequence[float]) -> float:
    """The square root of the mean of the groups' sample variances (0 for single values)."""
    variances = [float(np.var(g, ddof=1)) for g in groups if len(g) > 1]
    return math.sqrt(sum(variances) / len(variances)) if variances else 0.0


@dataclass(frozen=True)
class Comparison:
    """Arm ``a`` against arm ``b``, measured on the same seeds.

    Attributes:
        a, b: the per-seed values.
        diffs: ``a[i] - b[i]`` per seed.
        mean_diff: mean of ``diffs``.
        spread: pooled standard deviation of the two arms over seeds.
        threshold: what a difference must exceed to count: ``max(margin, k_std * spread)``.
    """

    a: tuple[float, ...]
    b: tuple[float, ...]
    diffs: tuple[float, ...]
    mean_diff: float
    spread: float
    threshold: float

    def greater(self) -> list[bool]:
        """Per seed: does ``a`` exceed ``b`` by more than the threshold?"""
        return [d > self.threshold for d in self.diffs]

    def less(self) -> list[bool]:
        """Per seed: is ``a`` below ``b`` by more than the threshold?"""
        return [d < -self.threshold for d in self.diffs]

    def similar(self, tolerance: float | None = None) -> list[bool]:
        """Per seed: is ``|a - b|`` within ``tolerance`` (default: the threshold)?"""
        tol = self.threshold if tolerance is None else tolerance
        return [abs(d) <= tol for d in self.diffs]

    def to_json(self) -> dict[str, Any]:
        return {
            "a": list(self.a),
            "b": list(self.b),
            "diffs": list(self.diffs),
            "mean_diff": self.mean_diff,
            "spread": self.spread,
            "threshold": self.threshold,
        }


def compare(
    a_by_seed: Sequence[float],
    b_by_seed: Sequence[float],
    *,
    margin: float = 0.0,
    k_std: float = 2.0,
) -> Comparison:
    """Compare two arms seed by seed; an effect counts beyond ``max(margin, k_std·spread)``.

    Args:
        a_by_seed, b_by_seed: one value per seed, same seeds in the same order.
        margin: the smallest difference that matters, in the values' unit (fixed in the config).
        k_std: how many pooled seed standard deviations a difference must exceed.
    """
    if len(a_by_seed) != len(b_by_seed) or not a_by_seed:
        raise ValueError(
            f"expected two equally long, non-empty per-seed lists. Received: "
            f"{len(a_by_seed)} and {len(b_by_seed)} values"
        )
    a = tuple(float(v) for v in a_by_seed)
    b = tuple(float(v) for v in b_by_seed)
    diffs = tuple(x - y for x, y in zip(a, b, strict=True))
    spread = pooled_std(a, b)
    return Comparison(a, b, diffs, float(np.mean(diffs)), spread, max(margin, k_std * spread))


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (no ties correction needed for distinct values)."""
    from scipy.stats import spearmanr

    # rounded: float noise must not turn an exact -0.8 into -0.7999999999999999
    return round(float(spearmanr(x, y).statistic), 10)


def log_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log(y)`` against ``x`` (natural log)."""
    return float(np.polyfit(np.asarray(x, float), np.log(np.asarray(y, float)), 1)[0])


def fmt_seeds(values: Sequence[float], digits: int = 3) -> str:
    """``"0.912, 0.934"``: per-seed values for a summary sentence."""
    return ", ".join(f"{v:.{digits}g}" for v in values)
