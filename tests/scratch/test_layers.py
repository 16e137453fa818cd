import numpy as np
import pytest
import torch
import torch.nn.functional as F

from profond.errors import ProfondError
from profond.scratch.gradcheck import check_layer
from profond.scratch.layers import BatchNorm, Dense, Dropout


def test_dense_gradients_match_finite_differences():
    layer = Dense(6, 4, init="xavier", seed=1, dtype=np.float64)
    layer.params["b"][...] = np.random.default_rng(2).standard_normal(4)  # not all zero
    x = np.random.default_rng(0).standard_normal((5, 6))
    errors = check_layer(layer, x)
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-6, errors


def test_dense_matches_torch_linear_and_autograd():
    layer = Dense(6, 4, seed=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    x, grad_out = rng.standard_normal((5, 6)), rng.standard_normal((5, 4))
    z = layer.forward(x)
    grad_x = layer.backward(grad_out)
    xt = torch.tensor(x, requires_grad=True)
    weight = torch.tensor(layer.params["W"], requires_grad=True)
    bias = torch.tensor(layer.params["b"], requires_grad=True)
    zt = F.linear(xt, weight, bias)
    zt.backward(torch.tensor(grad_out))
    np.testing.assert_allclose(z, zt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], bias.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_dense_skips_the_input_gradient_when_asked():
    layer = Dense(3, 2)
    layer.forward(np.ones((4, 3), np.float32))
    assert layer.backward(np.ones((4, 2), np.float32), input_grad=False) is None
    np.testing.assert_allclose(layer.grads["W"], 4.0)
    assert layer.grads["W"].dtype == np.float32


def test_dense_names_itself_and_the_shapes_on_a_wrong_input():
    layer = Dense(3, 2)
    layer.name = "dense_0"
    with pytest.raises(ProfondError, match=r"dense_0 .*\(B, 3\).*\(4, 5\)"):
        layer.forward(np.ones((4, 5), np.float32))
    with pytest.raises(ProfondError, match="out_features"):
        Dense(3, 0)


def test_dropout_gradient_with_a_fixed_mask():
    layer = Dropout(0.3, seed=4)
    x = np.random.default_rng(0).standard_normal((6, 5))

    def same_mask():
        layer.rng = np.random.default_rng(4)

    assert check_layer(layer, x, before_forward=same_mask)["x"] < 1e-6


def test_dropout_is_inverted_seeded_and_identity_at_test_time():
    x = np.ones((400, 250), np.float32)
    out = Dropout(0.2, seed=0).forward(x, training=True)
    kept = out != 0
    assert out.dtype == np.float32
    assert kept.mean() == pytest.approx(0.8, abs=0.01)
    np.testing.assert_allclose(out[kept], 1 / 0.8, rtol=1e-6)  # expectation preserved
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    np.testing.assert_array_equal(out, Dropout(0.2, seed=0).forward(x, training=True))
    layer = Dropout(0.2, seed=0)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    grad = np.random.default_rng(1).standard_normal((400, 250)).astype(np.float32)
    mask = layer.forward(x, training=True)  # x is all ones: the output is the scaled mask
    np.testing.assert_allclose(layer.backward(grad), grad * mask)
    with pytest.raises(ProfondError, match="rate=1.0"):
        Dropout(1.0)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_match_finite_differences(training):
    layer = BatchNorm(4, dtype=np.float64)
    rng = np.random.default_rng(0)
    layer.params["gamma"][...] = rng.uniform(0.5, 1.5, 4)
    layer.params["beta"][...] = rng.standard_normal(4)
    layer.buffers["running_mean"][...] = rng.standard_normal(4)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, 4)
    x = rng.standard_normal((8, 4)) * 3 + 1
    if training:
        # Each forward updates the running statistics; freeze them for the check.
        layer.momentum = 0.0
    errors = check_layer(layer, x, training=training)
    assert max(errors.values()) < 1e-6, errors


def test_batchnorm_matches_torch_in_training_and_evaluation():
    rng = np.random.default_rng(0)
    x, grad_out = rng.standard_normal((8, 4)) * 2 + 3, rng.standard_normal((8, 4))
    layer = BatchNorm(4, dtype=np.float64)
    reference = torch.nn.BatchNorm1d(4).double()
    xt = torch.tensor(x, requires_grad=True)
    out_t = reference(xt)
    out_t.backward(torch.tensor(grad_out))
    out = layer.forward(x, training=True)
    grad_x = layer.backward(grad_out)
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(grad_x, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], reference.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], reference.bias.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_mean"], reference.running_mean.numpy())
    np.testing.assert_allclose(layer.buffers["running_var"], reference.running_var.numpy())
    reference.eval()
    np.testing.assert_allclose(
        layer.forward(x), reference(torch.tensor(x)).detach().numpy(), atol=1e-12
    )


def test_batchnorm_rejects_a_single_example_batch():
    with pytest.raises(ProfondError, match="at least 2"):
        BatchNorm(3).forward(np.ones((1, 3), np.float32), training=True)
