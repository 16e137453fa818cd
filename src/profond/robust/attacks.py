"""Two adversarial attacks on a classifier, written out: FGSM and PGD (L∞).

- FGSM (fast gradient sign method): one step of size ``eps`` in the direction of the sign of
  the loss gradient with respect to the input, ``x' = x + eps * sign(∇x L(f(x), y))``. For a
  linear model the gradient's sign does not depend on ``x``, and the step moves every logit
  difference by exactly ``eps * ||w_i - w_j||_1``: a change of ``eps`` per input adds up over
  all the input dimensions, which is why a small ``eps`` is enough on images.
- PGD (projected gradient descent, here ascent): ``steps`` FGSM-like steps of size ``alpha``
  from a random point of the ``eps`` ball, each followed by a projection back into the ball
  (and into the valid input range). It is the stronger attack: it searches where FGSM guesses.

Both work in the model's input space (after preprocessing): ``eps`` is measured in those units
(for images scaled to [0, 1], a fraction of the pixel range), and ``bounds`` keeps the
examples inside the range the data takes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError

METHODS = ("fgsm", "pgd")
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def input_gradient(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Loss = F.cross_entropy
) -> torch.Tensor:
    """``∇x loss(model(x), y)``, without touching the parameters' ``.grad``. Shape: as ``x``."""
    x = x.detach().clone().requires_grad_(True)
    loss = loss_fn(model(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    return grad


def _clamp(x: torch.Tensor, bounds: tuple[float, float] | None) -> torch.Tensor:
    return x if bounds is None else x.clamp(bounds[0], bounds[1])


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    bounds: tuple[float, float] | None = None,
    loss_fn: Loss = F.cross_entropy,
) -> torch.Tensor:
    """FGSM adversarial examples.

    Args:
        model: a classifier ``(B, *input_shape) → (B, K)`` logits (used as it is: put it in eval
            mode first for inference-time attacks).
        x: inputs ``(B, *input_shape)``.
        y: true classes ``(B,)`` int64.
        eps: L∞ size of the perturbation, ``>= 0``.
        bounds: ``(low, high)`` of valid inputs; None: no clamping.
        loss_fn: the loss whose increase is sought (cross-entropy).

    Returns:
        ``x'`` ``(B, *input_shape)``, detached, with ``|x' - x| <= eps`` everywhere.
    """
    check_eps(eps)
    if eps == 0:
        return x.detach().clone()
    grad = input_gradient(model, x, y, loss_fn)
    return _clamp(x.detach() + eps * grad.sign(), bounds).detach()


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    alpha: float | None = None,
    steps: int = 10,
    bounds: tuple[float, float] | None = None,
    random_start: bool = True,
    generator: torch.Generator | None = None,
    loss_fn: Loss = F.cross_entropy,
) -> torch.Tensor:
    """PGD adversarial examples in the L∞ ball of radius ``eps`` around ``x``.

    Args:
        model, x, y, eps, bounds, loss_fn: as :func:`fgsm`.
        alpha: step size; None: ``2.5 * eps / steps`` (enough to cross the ball and come back).
        steps: gradient steps, ``>= 1``.
        random_start: start from a uniform point of the ball rather than from ``x``.
        generator: seeds the random start.

    Returns:
        ``x'`` ``(B, *input_shape)``, detached, with ``|x' - x| <= eps`` everywhere.
    """
    check_eps(eps)
    if steps < 1:
        raise ProfondError(f"--steps must be at least 1, got {steps}")
    if eps == 0:
        return x.detach().clone()
    alpha = 2.5 * eps / steps if alpha is None else alpha
    if not alpha > 0:
        raise ProfondError(f"--alpha (the PGD step) must be positive, got {alpha}")
    x = x.detach()
    adv = x.clone()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        adv = _clamp(x + (2 * noise - 1) * eps, bounds)
    for _ in range(steps):
        grad = input_gradient(model, adv, y, loss_fn)
        adv = adv + alpha * grad.sign()
        adv = _clamp(torch.max(torch.min(adv, x + eps), x - eps), bounds).detach()
    return adv


def attack(
    method: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, **options
) -> torch.Tensor:
    """:func:`fgsm` or :func:`pgd` by name; ``options`` go to the attack (``bounds``, ``steps``...)."""
    check_method(method)
    if method == "fgsm":
        options = {k: v for k, v in options.items() if k in ("bounds", "loss_fn")}
        return fgsm(model, x, y, eps, **options)
    return pgd(model, x, y, eps, **options)


def check_method(method: str) -> str:
    """``method`` if known; a one-line :class:`ProfondError` otherwise."""
    if method not in METHODS:
        raise ProfondError(f"unknown attack {method!r}; choose one of: {', '.join(METHODS)}")
    return method


def check_eps(eps: float) -> float:
    """``eps`` if it is a finite number ``>= 0``; a one-line :class:`ProfondError` otherwise."""
    if not (eps >= 0 and eps < float("inf")):
        raise ProfondError(f"--eps values must be finite and >= 0, got {eps}")
    return eps


def accuracy_under_attack(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    method: str,
    eps_values: list[float],
    batch_size: int = 256,
    seed: int = 0,
    **options,
) -> dict[float, float]:
    """Accuracy on adversarial versions of ``(x, y)`` for each ``eps``.

    Args:
        model: the classifier (put in eval mode here).
        x: ``(N, *input_shape)``; y: ``(N,)``.
        method: ``"fgsm"`` or ``"pgd"``.
        eps_values: the radii to try (0 gives the clean accuracy).
        batch_size: samples attacked at once.
        seed: seeds PGD's random starts.
        options: passed to the attack (``bounds``, ``steps``, ``alpha``).

    Returns:
        ``{eps: accuracy}``.
    """
    check_method(method)
    model.eval()
    out = {}
    for eps in eps_values:
        check_eps(eps)
        generator = torch.Generator().manual_seed(seed)
        if method == "pgd":
            options["generator"] = generator
        correct = 0
        for i in range(0, len(x), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            adv = attack(method, model, xb, yb, eps, **options)
            with torch.no_grad():
                correct += int((model(adv).argmax(dim=1) == yb).sum())
        out[eps] = correct / max(len(x), 1)
    return out


def input_bounds(x: torch.Tensor) -> tuple[float, float]:
    """``(min, max)`` of the training inputs: the range adversarial inputs stay in."""
    return float(x.min()), float(x.max())
