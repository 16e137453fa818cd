import numpy as np
import pytest
import torch

from profond.errors import ProfondError
from profond.scratch.activations import (
    ACTIVATIONS,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    sigmoid,
    softmax,
)
from profond.scratch.gradcheck import check_layer

TORCH_TWINS = {
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradients_match_finite_differences(name):
    x = np.random.default_rng(0).standard_normal((5, 7)) * 2
    errors = check_layer(ACTIVATIONS[name](), x)
    assert errors["x"] < 1e-6, errors


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_and_backward_match_torch_autograd(name):
    rng = np.random.default_rng(1)
    x, grad_out = rng.standard_normal((5, 7)) * 3, rng.standard_normal((5, 7))
    layer = ACTIVATIONS[name]()
    out = layer.forward(x)
    grad_x = layer.backward(grad_out)
    xt = torch.tensor(x, requires_grad=True)
    out_t = TORCH_TWINS[name](xt)
    out_t.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_values_from_the_chapter_table():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(ReLU().forward(z), [[0, 0, 3]])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(z), [[-0.2, 0, 3]])
    np.testing.assert_allclose(Sigmoid().forward(z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(Tanh().forward(z), 2 * sigmoid(2 * z) - 1)  # tanh = 2σ(2z) - 1
    probs = Softmax().forward(z)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert np.all(np.diff(probs) > 0)


def test_stable_for_extreme_inputs():
    z = np.array([[-1000.0, 0.0, 1000.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(sigmoid(z), [[0, 0.5, 1]])
        np.testing.assert_allclose(softmax(z), [[0, 0, 1]])


def test_saturation_makes_sigmoid_gradient_vanish_but_not_relu():
    z = np.array([[20.0]])
    sig, relu = Sigmoid(), ReLU()
    sig.forward(z)
    relu.forward(z)
    assert sig.backward(np.ones((1, 1)))[0, 0] < 1e-8
    assert relu.backward(np.ones((1, 1)))[0, 0] == 1.0


def test_leaky_relu_validates_alpha():
    with pytest.raises(ProfondError, match="alpha=-1"):
        LeakyReLU(-1)
