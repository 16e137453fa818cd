import numpy as np
import pytest
import torch
from torch import nn

from profond.errors import ProfondError
from profond.scratch.model import build_mlp
from profond.scratch.optimizers import SGD, Adam, Momentum, make_optimizer


def _twins(seed=0):
    """A float64 scratch MLP and a torch copy of it with the very same weights."""
    model = build_mlp(20, (16, 12), 5, "tanh", 0.0, "default", seed=seed, dtype=np.float64)
    dense = [layer for layer in model.layers if "W" in layer.params]
    reference = nn.Sequential(
        nn.Linear(20, 16), nn.Tanh(), nn.Linear(16, 12), nn.Tanh(), nn.Linear(12, 5)
    ).double()
    linears = [m for m in reference if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer, linear in zip(dense, linears, strict=True):
            linear.weight.copy_(torch.from_numpy(layer.params["W"]))
            linear.bias.copy_(torch.from_numpy(layer.params["b"]))
    return model, dense, reference, linears


CASES = {
    "sgd": (
        lambda: make_optimizer("sgd", lr=0.1),
        lambda p: torch.optim.SGD(p, lr=0.1),
    ),
    "sgd_l2": (
        lambda: make_optimizer("sgd", lr=0.1, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01),
    ),
    "momentum_l2": (
        lambda: make_optimizer("momentum", lr=0.05, momentum=0.9, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
    ),
    "adam": (
        lambda: make_optimizer("adam", lr=1e-2),
        lambda p: torch.optim.Adam(p, lr=1e-2),
    ),
    "adam_l2": (
        lambda: make_optimizer("adam", lr=1e-2, weight_decay=0.01, betas=(0.8, 0.99), eps=1e-6),
        lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.01, betas=(0.8, 0.99), eps=1e-6),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_epoch_gives_the_same_weights_as_torch_optim(case):
    make_ours, make_torch = CASES[case]
    model, dense, reference, linears = _twins()
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((200, 20)), rng.integers(0, 5, 200)
    model.compile(make_ours())
    history = model.fit(x, y, epochs=1, batch_size=32, shuffle=True, seed=7)

    optimizer = make_torch(reference.parameters())
    order = np.random.default_rng(7).permutation(200)  # the order fit drew
    losses = []
    for start in range(0, 200, 32):
        index = order[start : start + 32]
        loss = nn.functional.cross_entropy(
            reference(torch.from_numpy(x[index])), torch.from_numpy(y[index])
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item() * len(index))
    for layer, linear in zip(dense, linears, strict=True):
        moved = np.abs(layer.params["W"] - linear.weight.detach().numpy()).max()
        assert moved < 1e-10
        np.testing.assert_allclose(
            layer.params["b"], linear.bias.detach().numpy(), rtol=0, atol=1e-10
        )
    assert history["train_loss"][0] == pytest.approx(sum(losses) / 200, rel=1e-10)
    # The weights did move: the equality is not that of two idle copies.
    assert np.abs(dense[0].params["W"] - _twins()[1][0].params["W"]).max() > 1e-3


def test_adam_bias_correction_makes_the_first_step_lr_sized():
    param = np.array([1.0, -2.0, 3.0])
    grad = np.array([1e-3, -50.0, 0.2])
    Adam(lr=0.01).step([param], [grad])
    # m̂ = g and v̂ = g², so the first step is lr * g / (|g| + ε) ≈ lr * sign(g).
    np.testing.assert_allclose(param, [1.0 - 0.01, -2.0 + 0.01, 3.0 - 0.01], rtol=1e-6)


def test_momentum_accumulates_a_constant_gradient():
    param, grad = np.zeros(1), np.ones(1)
    optimizer = Momentum(lr=1.0, momentum=0.5)
    for _ in range(3):
        optimizer.step([param], [grad])
    # Velocities 1, 1.5, 1.75: the step grows towards 1/(1 - β) = 2.
    np.testing.assert_allclose(param, [-(1 + 1.5 + 1.75)])


def test_l2_shrinks_weights_without_gradient():
    param = np.array([2.0])
    SGD(lr=0.1, weight_decay=0.5).step([param], [np.zeros(1)])
    np.testing.assert_allclose(param, [2.0 * (1 - 0.1 * 0.5)])


def test_bad_arguments_are_named():
    with pytest.raises(ProfondError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", lr=0.1)
    with pytest.raises(ProfondError, match="lr=0"):
        make_optimizer("sgd", lr=0)
    with pytest.raises(ProfondError, match="momentum=1.0"):
        make_optimizer("momentum", lr=0.1, momentum=1.0)
    with pytest.raises(ProfondError, match="betas"):
        make_optimizer("adam", lr=0.1, betas=(0.9, 1.5))
    with pytest.raises(ProfondError, match="weight_decay=-1"):
        make_optimizer("adam", lr=0.1, weight_decay=-1)
