"""Layers of the NumPy engine: the base class, Dense, Dropout and BatchNorm.

Every layer works on a mini-batch at once: rows are examples, so the chapter's column vector
``z = W a + b`` (§44.2.2) becomes ``Z = A Wᵀ + b`` with ``A`` of shape ``(B, in_features)``.
Each ``backward`` receives ``∂J/∂output`` and returns ``∂J/∂input``; it sits right after its
``forward`` so the two can be read together.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from profond.errors import ProfondError
from profond.scratch.initializers import init_dense


class Layer:
    """A differentiable step of a network.

    Attributes:
        name: set by :class:`~profond.scratch.model.Sequential` (``"dense_0"``, ``"relu_1"``).
        params: trainable arrays by name (empty for activations).
        grads: ``∂J/∂param`` arrays, same names and shapes as ``params``, filled by ``backward``.
        buffers: non-trainable state saved with the model (BatchNorm's running statistics).
    """

    def __init__(self) -> None:
        self.name = type(self).__name__.lower()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Fill ``self.grads`` and return ``∂J/∂input`` (``None`` when ``input_grad`` is false:
        the first layer's input is the data, whose gradient nobody needs)."""
        raise NotImplementedError

    def output_features(self, in_features: int | None) -> int | None:
        """The width this layer outputs for an input of width ``in_features`` (``None``: any).

        Raises:
            ProfondError: the layer cannot take inputs of that width.
        """
        return in_features

    def get_config(self) -> dict[str, Any]:
        """JSON-compatible constructor arguments, to rebuild the layer when loading."""
        return {}


def _check_width(layer: Layer, x: np.ndarray, expected: int) -> None:
    if x.ndim != 2 or x.shape[1] != expected:
        raise ProfondError(
            f"layer {layer.name} expects inputs of shape (B, {expected}) but received "
            f"{tuple(x.shape)}; check the input size or the previous layer's width"
        )


class Dense(Layer):
    """Fully connected layer ``z = W a + b`` (§44.2.2), batched as ``Z = A Wᵀ + b``.

    Args:
        in_features: width of the input.
        out_features: number of neurons.
        init: ``"default"``, ``"xavier"``/``"glorot"`` or ``"he"`` (see ``initializers``).
        seed: seed of the initialization.
        dtype: floating dtype of the weights (``float32`` is fast, ``float64`` for checks).

    Shape:
        - Input: ``(B, in_features)``.
        - Output: ``(B, out_features)``.

    ``W`` has shape ``(out_features, in_features)``, the chapter's ``w_jk`` (row j = neuron of
    this layer, column k = neuron of the previous one), which is also PyTorch's layout.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str = "default",
        seed: int = 0,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ProfondError(f"Dense expects a positive integer {arg}; received {value!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        self.seed = seed
        self.dtype = np.dtype(dtype)
        weight, bias = init_dense(
            init, self.in_features, self.out_features, np.random.default_rng(seed), self.dtype
        )
        self.params = {"W": weight, "b": bias}
        self.grads = {"W": np.zeros_like(weight), "b": np.zeros_like(bias)}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        _check_width(self, x, self.in_features)
        self._x = x  # a^(l-1), needed by ∂J/∂w_jk = δ_j a_k
        z = x @ self.params["W"].T  # (B, out_features)
        z += self.params["b"]
        return z

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        # grad_output is δ^(l) = ∂J/∂z^(l), one row per example (§44.2.2, step 3).
        assert self._x is not None, "backward called before forward"
        x, weight = self._x, self.params["W"]
        # ∂J/∂w_jk = Σ_batch δ_j a_k  →  δᵀ A, written straight into the preallocated gradient.
        if grad_output.dtype == x.dtype == weight.dtype:
            np.dot(grad_output.T, x, out=self.grads["W"])
        else:
            self.grads["W"][...] = grad_output.T @ x
        # ∂J/∂b_j = δ_j, summed over the batch.
        np.sum(grad_output, axis=0, out=self.grads["b"])
        if not input_grad:
            return None
        # The "(W^(l+1))ᵀ δ^(l+1)" of the recurrence (step 2), in row form: δ W.
        return grad_output @ weight

    def output_features(self, in_features: int | None) -> int | None:
        if in_features is not None and in_features != self.in_features:
            raise ProfondError(
                f"layer {self.name} expects inputs of shape (B, {self.in_features}) but the "
                f"previous layer outputs (B, {in_features}); make the widths agree"
            )
        return self.out_features

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "init": self.init,
            "seed": self.seed,
        }


class Dropout(Layer):
    """Inverted dropout (§44.2.4): zero each unit with probability ``rate`` while training.

    The kept units are divided by ``1 - rate`` during training, so that the expected activation
    is unchanged and nothing needs rescaling at test time, where the layer is the identity.

    Args:
        rate: probability of dropping a unit, in ``[0, 1)``.
        seed: seed of the layer's own generator, so that runs repeat exactly.

    Shape:
        - Input: ``(B, *)``.
        - Output: same as the input.
    """

    def __init__(self, rate: float, seed: int = 0) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ProfondError(f"Dropout expects 0 <= rate < 1; received rate={rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        # One draw per forward; the same scaled mask serves forward and backward.
        draw_dtype = np.float32 if x.dtype == np.float32 else np.float64
        keep = self.rng.random(x.shape, dtype=draw_dtype)
        self._mask = (keep >= self.rate).astype(x.dtype)
        self._mask *= 1.0 / (1.0 - self.rate)
        return x * self._mask

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        # Dropped units took no part in the forward pass, so they get no gradient.
        if not input_grad:
            return None
        return grad_output if self._mask is None else grad_output * self._mask

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": self.seed}


class BatchNorm(Layer):
    """Batch normalization over the batch axis (Ioffe & Szegedy, 2015), like ``BatchNorm1d``.

    Training normalizes with the batch's mean and (biased) variance and updates running
    estimates; evaluation uses the running estimates. Then ``y = γ x̂ + β``.

    Args:
        num_features: width of the input.
        momentum: weight of the new batch in the running estimates (PyTorch's convention).
        eps: added to the variance before the square root.
        dtype: floating dtype of γ, β and the running statistics.

    Shape:
        - Input: ``(B, num_features)``, ``B >= 2`` while training.
        - Output: same as the input.
    """

    def __init__(
        self, num_features: int, momentum: float = 0.1, eps: float = 1e-5, dtype: Any = np.float32
    ) -> None:
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features <= 0:
            raise ProfondError(
                f"BatchNorm expects a positive integer num_features; received {num_features!r}"
            )
        if not 0.0 <= momentum <= 1.0:
            raise ProfondError(f"BatchNorm expects 0 <= momentum <= 1; received {momentum!r}")
        self.num_features = int(num_features)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.dtype = np.dtype(dtype)
        self.params = {
            "gamma": np.ones(num_features, dtype=self.dtype),
            "beta": np.zeros(num_features, dtype=self.dtype),
        }
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.buffers = {
            "running_mean": np.zeros(num_features, dtype=self.dtype),
            "running_var": np.ones(num_features, dtype=self.dtype),
        }
        self._x_hat: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None
        self._training = False

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        _check_width(self, x, self.num_features)
        self._training = training
        if training:
            batch = x.shape[0]
            if batch < 2:
                raise ProfondError(
                    f"layer {self.name} needs at least 2 examples per training batch; "
                    f"received {tuple(x.shape)}"
                )
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            m = self.momentum
            # The running variance is the unbiased estimate, as in PyTorch.
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * (batch / (batch - 1))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._x_hat = (x - mean) * self._inv_std  # (B, num_features)
        return self.params["gamma"] * self._x_hat + self.params["beta"]

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self._x_hat is not None and self._inv_std is not None, "backward before forward"
        x_hat, inv_std = self._x_hat, self._inv_std
        self.grads["gamma"][...] = np.sum(grad_output * x_hat, axis=0)
        self.grads["beta"][...] = np.sum(grad_output, axis=0)
        if not input_grad:
            return None
        grad_x_hat = grad_output * self.params["gamma"]
        if not self._training:
            # Running statistics are constants: the layer is affine.
            return grad_x_hat * inv_std
        # The batch mean and variance depend on every row, hence the two correction terms.
        batch = grad_output.shape[0]
        return (inv_std / batch) * (
            batch * grad_x_hat - grad_x_hat.sum(axis=0) - x_hat * np.sum(grad_x_hat * x_hat, axis=0)
        )

    def output_features(self, in_features: int | None) -> int | None:
        if in_features is not None and in_features != self.num_features:
            raise ProfondError(
                f"layer {self.name} expects inputs of shape (B, {self.num_features}) but the "
                f"previous layer outputs (B, {in_features}); make the widths agree"
            )
        return self.num_features

    def get_config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}
