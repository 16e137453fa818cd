"""Activation functions as layers (§44.1.2): ReLU, Leaky ReLU, sigmoid, tanh and softmax.

In the chapter's notation ``a = σ(z)``; each backward multiplies the incoming ``∂J/∂a`` by
``σ'(z)`` element by element, the ``⊙ σ'(z^(l))`` of the backpropagation recurrence (§44.2.2).
The derivative is computed from what the forward pass kept (the output or a mask), never by
evaluating the function again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from profond.errors import ProfondError
from profond.scratch.layers import Layer


class ReLU(Layer):
    """``max(0, z)``; its derivative is 1 where ``z > 0`` and 0 elsewhere.

    Shape:
        - Input: ``(B, *)``.
        - Output: same as the input.
    """

    def __init__(self) -> None:
        super().__init__()
        self._active: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._active = x > 0  # the mask is σ'(z), kept for backward
        return np.maximum(x, 0)

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self._active is not None, "backward called before forward"
        return grad_output * self._active if input_grad else None


class LeakyReLU(Layer):
    """``max(αz, z)``: a small slope α for ``z < 0`` so that no unit stops learning for good.

    Args:
        alpha: slope on the negative side, in ``[0, 1)`` (0.01 as in the chapter and PyTorch).

    Shape:
        - Input: ``(B, *)``.
        - Output: same as the input.
    """

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        if not 0.0 <= alpha < 1.0:
            raise ProfondError(f"LeakyReLU expects 0 <= alpha < 1; received alpha={alpha!r}")
        self.alpha = float(alpha)
        self._slope: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._slope = np.where(x > 0, 1.0, self.alpha).astype(x.dtype)  # σ'(z)
        return x * self._slope

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self._slope is not None, "backward called before forward"
        return grad_output * self._slope if input_grad else None

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class Sigmoid(Layer):
    """``1 / (1 + e^{-z})``; derivative ``σ(z)(1 - σ(z))`` (table of §44.1.2).

    Shape:
        - Input: ``(B, *)``.
        - Output: same as the input, values in ``(0, 1)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._out: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._out = sigmoid(x)
        return self._out

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self._out is not None, "backward called before forward"
        return grad_output * self._out * (1 - self._out) if input_grad else None


class Tanh(Layer):
    """``tanh(z)``; derivative ``1 - tanh²(z)`` (table of §44.1.2).

    Shape:
        - Input: ``(B, *)``.
        - Output: same as the input, values in ``(-1, 1)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._out: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._out = np.tanh(x)
        return self._out

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self._out is not None, "backward called before forward"
        return grad_output * (1 - self._out * self._out) if input_grad else None


class Softmax(Layer):
    """``softmax(z)_j = e^{z_j} / Σ_k e^{z_k}`` over the last axis.

    As a layer of its own its backward needs the full Jacobian product
    ``s ⊙ (g - Σ_k g_k s_k)``; a classifier should rather leave the softmax to the loss, whose
    fused gradient is the simpler ``(ŷ - y)/B`` (see ``losses``).

    Shape:
        - Input: ``(B, C)``.
        - Output: ``(B, C)``, each row sums to 1.
    """

    def __init__(self) -> None:
        super().__init__()
        self._out: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._out = softmax(x)
        return self._out

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self._out is not None, "backward called before forward"
        if not input_grad:
            return None
        s = self._out
        return s * (grad_output - np.sum(grad_output * s, axis=-1, keepdims=True))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, written so that ``exp`` never overflows for large ``|x|``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; subtracting the row maximum changes nothing but overflow."""
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    e /= e.sum(axis=-1, keepdims=True)
    return e


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}
