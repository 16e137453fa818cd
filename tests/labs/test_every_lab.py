"""Every registered lab, run in fast mode: verdicts come from per-seed measurements, figures exist.

The two quickest labs run in the default suite; the others are marked slow (``-m slow``).
``PROFOND_LAB_BUDGET_SCALE`` loosens the 60 s budget on a machine shared with other jobs.
"""

import os

import pytest

from profond.labs.base import STATUSES
from profond.labs.protocol import over_seeds
from profond.labs.registry import get_lab, lab_names

FAST_BUDGET_S = 60.0
SMOKE = ("activation_gradients", "backprop_worked_example")


def _params():
    return [
        pytest.param(name, marks=() if name in SMOKE else pytest.mark.slow, id=name)
        for name in lab_names()
    ]


@pytest.mark.parametrize("name", _params())
def test_lab_decides_its_claims_from_measurements_in_fast_mode(name, tmp_path):
    lab = get_lab(name)
    result = lab.run(tmp_path, seed=0, mode="fast")
    assert len(result.seeds) >= 2, "a fast-mode lab decides over at least 2 seeds"
    assert [v.claim.id for v in result.verdicts] == [c.id for c in lab.claims]
    for verdict in result.verdicts:
        assert verdict.status in STATUSES
        assert len(verdict.seed_results) == len(result.seeds), verdict.claim.id
        assert verdict.status == over_seeds(verdict.seed_results, verdict.k)
        assert verdict.measured and verdict.summary, verdict.claim.id
    assert result.figures, "every lab draws its figure"
    for figure in result.figures:
        assert figure.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "results.json").is_file()
    budget = FAST_BUDGET_S * float(os.environ.get("PROFOND_LAB_BUDGET_SCALE", "1"))
    assert result.seconds < budget, f"{name} took {result.seconds:.1f} s in fast mode"


def test_every_lab_links_to_course_items_and_topics():
    for name in lab_names():
        lab = get_lab(name)
        assert lab.answers and lab.keywords, name
        assert all(c.course and c.rule and c.quantity for c in lab.claims), name
