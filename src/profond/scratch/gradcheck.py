"""Gradient checking: backpropagation's gradients against central finite differences.

``∂f/∂θ_i ≈ (f(θ + h e_i) - f(θ - h e_i)) / 2h`` has an error of order ``h²``; in float64 with
``h = 1e-6`` it agrees with a correct analytic gradient to about ``1e-9`` in relative terms.
Run checks in float64: float32's rounding error is far larger than the differences measured.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from profond.scratch.layers import Layer
from profond.scratch.losses import Loss


def numerical_gradient(f: Callable[[], float], array: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of ``f()`` with respect to every entry of ``array``.

    ``array`` is changed in place one entry at a time and restored; ``f`` must read it.

    Returns:
        An array of ``array``'s shape.
    """
    grad = np.zeros_like(array, dtype=np.float64)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        plus = f()
        flat[i] = saved - h
        minus = f()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-10) -> float:
    """``‖a - n‖ / max(‖a‖ + ‖n‖, floor)``: a scale-free distance between two gradients.

    The floor makes a gradient that is exactly zero in theory (a bias followed by batch
    normalization) and ~1e-18 from rounding count as equal to its finite-difference zero.
    """
    denominator = max(float(np.linalg.norm(analytic) + np.linalg.norm(numeric)), floor)
    return float(np.linalg.norm(analytic - numeric) / denominator)


def check_layer(
    layer: Layer,
    x: np.ndarray,
    training: bool = True,
    seed: int = 0,
    before_forward: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Relative errors of a layer's backward for its input and each parameter.

    The scalar checked is ``Σ r ⊙ layer(x)`` for a fixed random ``r``, whose gradient with
    respect to the output is ``r``: every output entry gets a distinct weight.

    Args:
        layer: the layer, with float64 parameters.
        x: a float64 input.
        training: the mode of every forward.
        seed: seed of ``r``.
        before_forward: called before each forward, e.g. to reset a dropout generator so that
            every evaluation draws the same mask.

    Returns:
        ``{"x": error, "<param>": error, ...}``.
    """
    x = np.array(x, dtype=np.float64)

    def forward() -> np.ndarray:
        if before_forward is not None:
            before_forward()
        return layer.forward(x, training)

    # A stream of its own: r drawn like x would make r ∝ x and hide BatchNorm's gradient.
    r = np.random.default_rng((seed, 0x5EED)).standard_normal(forward().shape)

    def f() -> float:
        return float(np.sum(r * forward()))

    forward()
    grad_x = layer.backward(r)
    assert grad_x is not None
    errors = {"x": relative_error(grad_x, numerical_gradient(f, x))}
    analytic = {name: grad.copy() for name, grad in layer.grads.items()}
    for name, param in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(f, param))
    return errors


def check_loss(loss: Loss, outputs: np.ndarray, y: np.ndarray) -> float:
    """Relative error of ``loss.backward()`` against finite differences of ``loss.forward``."""
    outputs = np.array(outputs, dtype=np.float64)
    loss.forward(outputs, y)
    analytic = loss.backward().copy()
    numeric = numerical_gradient(lambda: loss.forward(outputs, y), outputs)
    return relative_error(analytic, numeric)
