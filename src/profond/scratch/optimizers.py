"""Optimizers of §44.2.3, table 44.2: SGD, SGD with momentum and Adam, with an L2 penalty.

An optimizer updates a list of parameter arrays in place from the matching list of
gradients. The L2 penalty of §44.2.4, ``λ/(2m) Σ w²`` added to the cost, adds ``(λ/m) w`` to
each gradient; ``weight_decay`` is that coefficient ``λ/m``. As in ``torch.optim`` it applies to
every parameter, biases included, so both engines follow the same trajectory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from profond.errors import ProfondError


class Optimizer:
    """Base class: ``step(params, grads)`` changes ``params`` in place.

    Args:
        lr: learning rate η.
        weight_decay: L2 coefficient added to the gradient as ``weight_decay * θ``.
    """

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        if not lr > 0:
            raise ProfondError(f"expected a positive learning rate; received lr={lr!r}")
        if weight_decay < 0:
            raise ProfondError(
                f"expected weight_decay >= 0; received weight_decay={weight_decay!r}"
            )
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.steps = 0  # t, counted from 1 at the first update

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Apply one update to every parameter (the same order of arrays at each call)."""
        if len(params) != len(grads):
            raise ProfondError(f"got {len(params)} parameters but {len(grads)} gradients")
        self.steps += 1
        for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
            if self.weight_decay:
                grad = grad + self.weight_decay * param  # ∇(J + λ/(2m) Σ w²)
            self._update(index, param, grad)

    def _update(self, index: int, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Gradient descent on a mini-batch: ``θ ← θ - η ∇J``."""

    def _update(self, index: int, param: np.ndarray, grad: np.ndarray) -> None:
        param -= self.lr * grad


class Momentum(Optimizer):
    """SGD with momentum, as table 44.2 writes it: ``v ← βv + ∇J``, ``θ ← θ - ηv``.

    The body of §44.2.3 writes the velocity as an average, ``v ← βv + (1-β)∇J``; that only
    rescales η by ``1-β``. The table's form is the one ``torch.optim.SGD(momentum=β)`` uses.

    Args:
        lr: η.
        momentum: β in ``[0, 1)``; 0.9 is the usual value.
        weight_decay: L2 coefficient.
    """

    def __init__(self, lr: float, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay)
        if not 0.0 <= momentum < 1.0:
            raise ProfondError(f"expected 0 <= momentum < 1; received momentum={momentum!r}")
        self.momentum = float(momentum)
        self.velocity: dict[int, np.ndarray] = {}

    def _update(self, index: int, param: np.ndarray, grad: np.ndarray) -> None:
        v = self.velocity.get(index)
        if v is None:
            v = self.velocity[index] = grad.copy()  # v₀ = 0, so v₁ = ∇J
        else:
            v *= self.momentum
            v += grad
        param -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), ``θ ← θ - η m̂ / (√v̂ + ε)`` of table 44.2.

    ``m`` and ``v`` are running averages of the gradient and of its square; both start at 0,
    so early averages are biased towards 0, which ``m̂ = m/(1-β₁ᵗ)`` and ``v̂ = v/(1-β₂ᵗ)``
    correct. ε is added after the square root, as in the paper and ``torch.optim.Adam``.

    Args:
        lr: η.
        betas: ``(β₁, β₂)``, decay rates of the two averages.
        eps: ε.
        weight_decay: L2 coefficient (added to the gradient, like ``torch.optim.Adam``).
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr, weight_decay)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ProfondError(f"expected two betas in [0, 1); received betas={betas!r}")
        if not eps > 0:
            raise ProfondError(f"expected a positive eps; received eps={eps!r}")
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = float(eps)
        self.m: dict[int, np.ndarray] = {}
        self.v: dict[int, np.ndarray] = {}
        self._work: dict[int, np.ndarray] = {}

    def _update(self, index: int, param: np.ndarray, grad: np.ndarray) -> None:
        if index not in self.m:
            self.m[index] = np.zeros_like(param)
            self.v[index] = np.zeros_like(param)
            self._work[index] = np.empty_like(param)
        # Every operation writes into m, v or one work array: no temporary per step.
        m, v, work = self.m[index], self.v[index], self._work[index]
        m *= self.beta1
        np.multiply(grad, 1 - self.beta1, out=work)
        m += work  # m_t = β₁ m + (1-β₁) g
        v *= self.beta2
        np.multiply(grad, grad, out=work)
        work *= 1 - self.beta2
        v += work  # v_t = β₂ v + (1-β₂) g²
        t = self.steps
        # η m̂/(√v̂ + ε) with m̂, v̂ expanded: the scalars fold into one step size.
        step_size = self.lr / (1 - self.beta1**t)
        np.sqrt(v, out=work)
        work /= math.sqrt(1 - self.beta2**t)
        work += self.eps  # √v̂ + ε
        np.divide(m, work, out=work)
        work *= step_size
        param -= work


OPTIMIZERS = ("sgd", "momentum", "adam")


def make_optimizer(
    name: str,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> Optimizer:
    """Build an optimizer by name.

    Args:
        name: ``"sgd"``, ``"momentum"`` or ``"adam"``.
        lr: learning rate η.
        momentum: β of ``"momentum"`` (ignored by the others).
        weight_decay: L2 coefficient, for all three.
        betas: Adam's ``(β₁, β₂)``.
        eps: Adam's ε.

    Returns:
        The optimizer.

    Raises:
        ProfondError: unknown name or invalid hyperparameter.
    """
    if name == "sgd":
        return SGD(lr, weight_decay=weight_decay)
    if name == "momentum":
        return Momentum(lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return Adam(lr, betas=betas, eps=eps, weight_decay=weight_decay)
    raise ProfondError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
