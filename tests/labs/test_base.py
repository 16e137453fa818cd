import json
from dataclasses import dataclass

import pytest

from profond.errors import ProfondError
from profond.labs.base import Claim, Lab, Outcome
from profond.labs.protocol import decide


@dataclass(frozen=True)
class ToyConfig:
    seeds: int = 3
    threshold: float = 2.0


CLAIM = Claim("sum_grows", "the seed's sum exceeds the threshold", "Q1", "sum(range(seed+1))",
              "holds for a seed if the sum > threshold")  # fmt: skip


def experiment(ctx):
    sums = [sum(range(s + 1)) for s in ctx.seeds]  # a real computation that depends on the seed
    ok = [v > ctx.config.threshold for v in sums]
    return Outcome([decide(CLAIM, ok, {"sums": sums})])


def toy_lab(**changes):
    values = dict(name="toy", title="Toy", claims=(CLAIM,), setup="sums", config=ToyConfig(),
                  faithful=ToyConfig(seeds=5), experiment=experiment, keywords=("sum",))  # fmt: skip
    return Lab(**{**values, **changes})


def test_verdict_over_seeds_is_written_to_results_json(tmp_path):
    # seeds 0, 1, 2 give sums 0, 1, 3: one of three above 2 → inconclusive
    result = toy_lab().run(tmp_path / "a", seed=0)
    (verdict,) = result.verdicts
    assert result.seeds == (0, 1, 2) and verdict.seed_results == (False, False, True)
    assert verdict.status == "inconclusive"
    doc = json.loads((tmp_path / "a" / "results.json").read_text())
    assert doc["verdicts"][0]["status"] == "inconclusive" and doc["mode"] == "fast"
    assert doc["config"] == {"seeds": 3, "threshold": 2.0}
    # seeds 3..7 in faithful mode: sums 6..28, all above 2
    faithful = toy_lab().run(tmp_path / "b", seed=3, mode="faithful")
    assert faithful.seeds == (3, 4, 5, 6, 7) and faithful.verdicts[0].status == "holds"
    assert toy_lab().run(tmp_path / "c", seed=0, seeds=2).verdicts[0].status == "does not hold"


def test_run_checks_mode_seeds_and_that_verdicts_match_the_claims(tmp_path):
    with pytest.raises(ProfondError, match="unknown mode 'slow'"):
        toy_lab().run(tmp_path, mode="slow")
    with pytest.raises(ProfondError, match="at least 1"):
        toy_lab().run(tmp_path, seeds=0)
    other = Claim("other", "t", "Q1", "q", "r")
    with pytest.raises(ProfondError, match="do not match"):
        toy_lab(claims=(other,)).run(tmp_path)
    assert not (tmp_path / "results.json").exists()


def test_lab_validates_its_fields():
    with pytest.raises(ValueError, match="Received: name='Bad Name'"):
        toy_lab(name="Bad Name")
    with pytest.raises(ValueError, match="at least one keyword"):
        toy_lab(keywords=())
    with pytest.raises(ValueError, match="'Q5' or 'C42'"):
        toy_lab(answers=("question 5",))
    with pytest.raises(ValueError, match="duplicate claim ids"):
        toy_lab(claims=(CLAIM, CLAIM))
    with pytest.raises(ValueError, match="int 'seeds'"):
        toy_lab(config={"seeds": 2})
