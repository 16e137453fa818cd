import numpy as np
import pytest

from profond.labs.base import FAILS, HOLDS, INCONCLUSIVE, Claim
from profond.labs.protocol import compare, decide, log_slope, over_seeds, pooled_std

CLAIM = Claim("toy", "a toy claim", "Q1", "a number", "above 1")


@pytest.mark.parametrize(
    ("results", "k", "status"),
    [
        ([True, True, True], None, HOLDS),
        ([False, False, False], None, FAILS),
        ([True, False, True], None, INCONCLUSIVE),
        ([True, False, True], 2, HOLDS),
        ([False, False, True], 2, FAILS),
        ([True, False, True, False], 3, INCONCLUSIVE),
        ([True], None, HOLDS),
    ],
)
def test_over_seeds_needs_every_seed_or_k_of_n(results, k, status):
    assert over_seeds(results, k) == status


def test_over_seeds_refuses_k_that_lets_a_claim_hold_and_fail():
    with pytest.raises(ValueError, match="n/2 < k <= n"):
        over_seeds([True, False, True, False], 2)
    with pytest.raises(ValueError, match="at least one"):
        over_seeds([])


def test_compare_counts_an_effect_only_beyond_twice_the_pooled_spread():
    # a beats b by 0.5 on every seed; the spread of each arm is 1.0 → threshold 2.0
    a, b = [10.0, 11.0, 12.0], [9.5, 10.5, 11.5]
    result = compare(a, b)
    assert result.spread == pytest.approx(1.0)
    assert result.threshold == pytest.approx(2.0)
    assert result.diffs == pytest.approx((0.5, 0.5, 0.5))
    assert over_seeds(result.greater()) == FAILS  # real direction, but within noise
    assert over_seeds(result.similar()) == HOLDS
    tight = compare([1.0, 1.01], [0.5, 0.52])  # tiny spread, big gap
    assert over_seeds(tight.greater()) == HOLDS and over_seeds(tight.less()) == FAILS


def test_compare_margin_wins_over_a_smaller_spread_and_mixed_seeds_are_inconclusive():
    result = compare([0.90, 0.97], [0.88, 0.90], margin=0.03)
    assert result.threshold == pytest.approx(max(0.03, 2 * pooled_std([0.90, 0.97], [0.88, 0.90])))
    mixed = compare([1.0, 1.2, 1.0], [1.0, 1.0, 1.0], margin=0.1)
    assert mixed.greater() == [False, True, False]
    assert over_seeds(mixed.greater(), k=2) == FAILS
    with pytest.raises(ValueError, match="equally long"):
        compare([1.0], [1.0, 2.0])


def test_decide_keeps_per_seed_results_and_makes_numbers_json_ready():
    verdict = decide(CLAIM, [np.True_, True], {"v": (np.float64(1.5), 2.0)}, summary="1.5, 2")
    assert verdict.status == HOLDS and verdict.passed
    assert verdict.seed_results == (True, True)
    assert verdict.to_json()["measured"] == {"v": [1.5, 2.0]}
    assert type(verdict.to_json()["measured"]["v"][0]) is float


def test_log_slope_recovers_an_exponential_rate():
    x = [1, 2, 3, 4]
    assert log_slope(x, [np.exp(0.7 * t) for t in x]) == pytest.approx(0.7)
