import json

import pytest

from profond.labs.base import Lab, Outcome, Verdict


def measuring_lab(threshold: float) -> Lab:
    def experiment(outdir, seed):
        measured = sum(range(seed + 1))  # a real computation whose value depends on the seed
        return Outcome(
            [Verdict(f"sum exceeds {threshold}", measured > threshold, {"sum": measured})]
        )

    return Lab("toy", "Toy", "sums grow", ("sum",), True, experiment)


def test_failing_claim_is_reported_as_failing_in_results_json(tmp_path):
    result = measuring_lab(100).run(tmp_path, seed=3)
    assert not result.passed and result.verdicts[0].measured == {"sum": 6}
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["passed"] is False and doc["verdicts"][0]["passed"] is False
    assert measuring_lab(1).run(tmp_path / "b", seed=3).passed


def test_lab_validates_its_name_and_keywords():
    with pytest.raises(ValueError, match="Received: name='Bad Name'"):
        Lab("Bad Name", "t", "c", ("k",), True, lambda o, s: Outcome([]))
    with pytest.raises(ValueError, match="at least one keyword"):
        Lab("ok", "t", "c", (), True, lambda o, s: Outcome([]))
