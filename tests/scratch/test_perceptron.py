import numpy as np
import pytest

from profond.errors import ProfondError
from profond.scratch.perceptron import Perceptron

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
GATES = {
    "and": np.array([0, 0, 0, 1]),
    "or": np.array([0, 1, 1, 1]),
    "nand": np.array([1, 1, 1, 0]),
}


@pytest.mark.parametrize("gate", sorted(GATES))
def test_learns_linearly_separable_gates_to_full_accuracy(gate):
    perceptron = Perceptron(2, max_epochs=50)
    result = perceptron.fit(INPUTS, GATES[gate])
    assert result.converged
    assert result.errors_per_epoch[-1] == 0
    assert result.epochs == len(result.errors_per_epoch) < 50
    np.testing.assert_array_equal(perceptron.predict(INPUTS), GATES[gate])


@pytest.mark.parametrize("shuffle", [False, True])
def test_xor_never_converges_and_stops_at_the_epoch_limit(shuffle):
    perceptron = Perceptron(2, max_epochs=40, shuffle=shuffle, seed=3)
    result = perceptron.fit(INPUTS, np.array([0, 1, 1, 0]))
    assert not result.converged
    assert result.epochs == 40
    assert min(result.errors_per_epoch) > 0
    assert np.mean(perceptron.predict(INPUTS) == np.array([0, 1, 1, 0])) < 1.0


def test_update_follows_the_rosenblatt_rule():
    perceptron = Perceptron(2, lr=0.5, max_epochs=1)
    # From zero weights, z = 0 so ŷ = 0; a positive example adds η x to w and η to b.
    perceptron.fit(np.array([[2.0, -1.0]]), np.array([1]))
    np.testing.assert_allclose(perceptron.weight, [1.0, -0.5])
    assert perceptron.bias == 0.5


def test_bad_input_is_a_clear_error():
    perceptron = Perceptron(2)
    with pytest.raises(ProfondError, match=r"\(N, 2\)"):
        perceptron.fit(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ProfondError, match="0 or 1"):
        perceptron.fit(INPUTS, np.array([0, 2, 1, 0]))
    with pytest.raises(ProfondError, match="NaN"):
        perceptron.predict(np.array([[np.nan, 0.0]]))
    with pytest.raises(ProfondError, match="in_features"):
        Perceptron(0)
