import math

import numpy as np
import pytest

from profond.errors import ProfondError
from profond.scratch.initializers import init_dense


@pytest.mark.parametrize(
    ("init", "bound"),
    [
        ("default", 1 / math.sqrt(400)),
        ("xavier", math.sqrt(6 / (400 + 300))),
        ("glorot", math.sqrt(6 / (400 + 300))),
        ("he", math.sqrt(6 / 400)),
    ],
)
def test_uniform_bounds_and_variance(init, bound):
    weight, bias = init_dense(init, 400, 300, np.random.default_rng(0), np.float64)
    assert weight.shape == (300, 400) and bias.shape == (300,)
    assert np.abs(weight).max() <= bound
    # U(-a, a) has variance a²/3; 120 000 draws pin it to about 1 %.
    assert weight.var() == pytest.approx(bound**2 / 3, rel=0.03)
    if init == "default":
        assert np.abs(bias).max() <= bound and bias.std() > 0
    else:
        assert not bias.any()


def test_he_keeps_relu_activations_at_scale_where_default_shrinks_them():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 256))
    scales = {}
    for init in ("he", "default"):
        a = x
        for _ in range(10):
            weight, _ = init_dense(init, 256, 256, rng, np.float64)
            a = np.maximum(a @ weight.T, 0)
        scales[init] = np.sqrt(np.mean(a**2))
    assert 0.3 < scales["he"] < 3.0
    assert scales["default"] < 0.01


def test_dtype_and_seed():
    a, _ = init_dense("he", 5, 4, np.random.default_rng(7), np.float32)
    b, _ = init_dense("he", 5, 4, np.random.default_rng(7), np.float32)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_unknown_init():
    with pytest.raises(ProfondError, match="unknown init 'zeros'"):
        init_dense("zeros", 2, 2, np.random.default_rng(0), np.float32)
