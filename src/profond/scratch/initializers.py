"""Weight initializations for dense layers: PyTorch's default, Xavier/Glorot and He.

Each initializer draws a ``(out_features, in_features)`` weight matrix and a ``(out_features,)``
bias. The aim of the two named schemes is to keep the variance of the signal roughly constant
from layer to layer, so that the gradients of §44.2.2 neither vanish nor explode.
"""

from __future__ import annotations

import math

import numpy as np

from profond.errors import ProfondError

INITS = ("default", "xavier", "glorot", "he")


def init_dense(
    init: str, in_features: int, out_features: int, rng: np.random.Generator, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the weight and bias of a dense layer.

    Args:
        init: ``"default"`` (PyTorch's ``nn.Linear``: W and b ~ U(±1/√fan_in)), ``"xavier"`` or
            its other name ``"glorot"`` (W ~ U(±√(6/(fan_in+fan_out))), b = 0), or ``"he"``
            (W ~ U(±√(6/fan_in)), b = 0, made for ReLU).
        in_features: fan-in.
        out_features: fan-out.
        rng: the generator to draw from (seeded by the caller).
        dtype: floating dtype of the arrays.

    Returns:
        ``(weight, bias)`` with shapes ``(out_features, in_features)`` and ``(out_features,)``.
    """
    if init in ("xavier", "glorot"):
        # Glorot & Bengio (2010): equal variance forwards and backwards for tanh/sigmoid.
        bound = math.sqrt(6.0 / (in_features + out_features))
        bias_bound = 0.0
    elif init == "he":
        # He et al. (2015): ReLU zeroes half the signal, so the variance is doubled: 2/fan_in.
        bound = math.sqrt(6.0 / in_features)
        bias_bound = 0.0
    elif init == "default":
        # Same law as torch.nn.Linear.reset_parameters, so both engines start alike.
        bound = 1.0 / math.sqrt(in_features)
        bias_bound = bound
    else:
        raise ProfondError(f"unknown init {init!r}; expected one of {', '.join(INITS)}")
    weight = rng.uniform(-bound, bound, size=(out_features, in_features)).astype(dtype)
    if bias_bound > 0:
        bias = rng.uniform(-bias_bound, bias_bound, size=out_features).astype(dtype)
    else:
        bias = np.zeros(out_features, dtype=dtype)
    return weight, bias
