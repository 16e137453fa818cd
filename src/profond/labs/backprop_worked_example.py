"""Lab: backpropagation is the chain rule — the quiz's worked example, gradient checks, the
gradient as steepest ascent, and the cross-entropy identities.

Course C23 (a worked backprop step on one sigmoid neuron), C15 and §44.2.2 (backprop computes
the gradients with the chain rule), C3 (the gradient points to the greatest increase), Q64 and
C49–C51 (binary, categorical and sparse categorical cross-entropy). The hand-written engine
``profond.scratch`` is the point here, so it is used beside torch's autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide

# C23: one input x = 2, w = 0.5, b = 0, target y = 1, J = ½(y − ŷ)², one SGD step at lr 0.1.
# These inputs are the ones that reproduce every number of the card.
C23_INPUTS = {"x": 2.0, "w": 0.5, "b": 0.0, "y": 1.0, "lr": 0.1}
C23_CARD = {"z": 1.0, "y_hat": 0.731, "J": 0.036, "w_new": 0.5105, "b_new": 0.0052}


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    gradcheck_tol: float = 1e-6  # relative error, float64 central differences
    directions: int = 1000  # random unit directions the gradient must beat
    identity_tol: float = 1e-6
    hidden_sizes: tuple[int, ...] = (16, 16)


CONFIG = Config()
FAITHFUL = Config(seeds=10, directions=10_000, hidden_sizes=(32, 32, 32))
CLAIMS = (
    Claim("c23_numbers",
          "The quiz's worked backprop step (z = 1, ŷ = 0.731, J = 0.036, w → 0.5105, b → 0.0052) "
          "is right.", "C23",
          "the same step by torch autograd and by profond.scratch",
          "per seed: both engines agree to 1e-12, and each card value is within one unit of its "
          "last printed digit of the exact value", expected="holds"),
    Claim("backprop_is_chain_rule",
          "Backpropagation computes the exact gradient by the chain rule.", "C15; §44.2.2; Q6",
          "relative error of profond.scratch's backprop vs central finite differences on a "
          "sigmoid MLP, float64",
          f"per seed: every parameter's relative error < {CONFIG.gradcheck_tol:g}", expected="holds"),
    Claim("gradient_steepest_ascent",
          "The gradient points in the direction of greatest increase of the loss.", "C3; C16",
          f"directional derivative along ∇J/‖∇J‖ vs {CONFIG.directions} random unit directions",
          "per seed: the gradient's directional derivative exceeds every random one",
          expected="holds"),
    Claim("cross_entropy_identities",
          "Categorical CE on one-hot targets equals sparse CE on class ids; binary CE on σ(z) "
          "equals 2-class CE on logits [0, z].", "Q64; C49; C50; C51; TP Q1",
          "largest absolute difference of the paired losses on random logits",
          f"per seed: both differences < {CONFIG.identity_tol:g}", expected="holds"),
)  # fmt: skip


def c23_step() -> dict[str, dict[str, float]]:
    """The card's step computed by torch autograd and by the scratch engine."""
    import torch

    from profond.scratch.activations import Sigmoid
    from profond.scratch.layers import Dense

    v = C23_INPUTS
    w = torch.tensor(v["w"], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(v["b"], dtype=torch.float64, requires_grad=True)
    z = w * v["x"] + b
    y_hat = torch.sigmoid(z)
    loss = 0.5 * (v["y"] - y_hat) ** 2
    loss.backward()
    assert w.grad is not None and b.grad is not None  # backward() just filled both
    auto = {"z": z.item(), "y_hat": y_hat.item(), "J": loss.item(),
            "w_new": v["w"] - v["lr"] * w.grad.item(), "b_new": v["b"] - v["lr"] * b.grad.item()}  # fmt: skip

    dense, act = Dense(1, 1, dtype=np.float64), Sigmoid()
    dense.params["W"][...] = v["w"]
    dense.params["b"][...] = v["b"]
    x = np.array([[v["x"]]])
    z_s = dense.forward(x)
    out = act.forward(z_s)
    # J = ½(y − ŷ)² so ∂J/∂ŷ = ŷ − y; each layer then applies its local derivative
    grad_z = act.backward(out - v["y"])
    assert grad_z is not None  # input_grad defaults to True
    dense.backward(grad_z, input_grad=False)
    scratch = {"z": float(z_s[0, 0]), "y_hat": float(out[0, 0]), "J": float(0.5 * (v["y"] - out[0, 0]) ** 2),
               "w_new": v["w"] - v["lr"] * float(dense.grads["W"][0, 0]),
               "b_new": v["b"] - v["lr"] * float(dense.grads["b"][0])}  # fmt: skip
    return {"autograd": auto, "scratch": scratch}


def _card_ok(exact: dict[str, float]) -> tuple[bool, dict[str, float]]:
    errors, ok = {}, True
    for key, shown in C23_CARD.items():
        text = f"{shown}"
        unit = 10.0 ** -(len(text.split(".")[1]) if "." in text else 0)
        errors[key] = abs(exact[key] - shown)
        ok &= errors[key] < unit
    return ok, errors


def _gradcheck(seed: int, c: Config) -> float:
    from profond.scratch.gradcheck import numerical_gradient, relative_error
    from profond.scratch.model import build_mlp

    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    model = build_mlp(5, c.hidden_sizes, 3, "sigmoid", 0.0, "xavier", seed, dtype=np.float64)
    criterion = model.loss
    assert criterion is not None

    def loss() -> float:
        return criterion.forward(model.forward(x), y)

    loss()
    model.backward(criterion.backward())
    analytic = [g.copy() for g in model.gradients()]
    return max(relative_error(g, numerical_gradient(loss, p))
               for g, p in zip(analytic, model.parameters(), strict=True))  # fmt: skip


def _steepest(seed: int, c: Config) -> dict[str, float]:
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    torch.nn.functional.cross_entropy(net(x), y).backward()
    parts = []
    for p in net.parameters():
        assert p.grad is not None  # backward() reached every parameter
        parts.append(p.grad.reshape(-1))
    grad = torch.cat(parts).double()
    random = torch.randn(c.directions, grad.numel(), dtype=torch.float64)
    random /= random.norm(dim=1, keepdim=True)
    return {"along_gradient": grad.norm().item(), "best_random": (random @ grad).max().item()}


def _identities(seed: int) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    logits, ids = (
        torch.randn(64, 10, generator=g, dtype=torch.float64) * 3,
        torch.randint(0, 10, (64,), generator=g),
    )
    categorical = -(F.one_hot(ids, 10) * F.log_softmax(logits, 1)).sum(1).mean()
    z = torch.randn(64, generator=g, dtype=torch.float64) * 3
    t = torch.randint(0, 2, (64,), generator=g).double()
    binary = F.binary_cross_entropy(torch.sigmoid(z), t)
    two_class = F.cross_entropy(torch.stack([torch.zeros_like(z), z], 1), t.long())
    return {"categorical_vs_sparse": abs((categorical - F.cross_entropy(logits, ids)).item()),
            "binary_vs_two_class": abs((binary - two_class).item())}  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    steps = [c23_step() for _ in ctx.seeds]  # deterministic: the same on every seed
    agree = [max(abs(s["autograd"][k] - s["scratch"][k]) for k in C23_CARD) for s in steps]
    card = [_card_ok(s["autograd"]) for s in steps]
    checks = [_gradcheck(s, c) for s in ctx.seeds]
    steep = [_steepest(s, c) for s in ctx.seeds]
    ident = [_identities(s) for s in ctx.seeds]
    exact = steps[0]["autograd"]
    figure = _plot(checks, steep, ctx)
    return Outcome([
        decide(CLAIMS[0], [a < 1e-12 and ok for a, (ok, _) in zip(agree, card, strict=True)],
               {"exact": exact, "card": C23_CARD, "card_errors": card[0][1], "engines_differ": agree},
               summary="exact: " + ", ".join(f"{k} = {v:.7g}" for k, v in exact.items())
               + "; the card truncates w and b (rounding would print 0.5106 and 0.0053)"),
        decide(CLAIMS[1], [e < c.gradcheck_tol for e in checks], {"max_relative_error": checks},
               summary="largest relative error per seed: " + ", ".join(f"{e:.1e}" for e in checks)),
        decide(CLAIMS[2], [s["along_gradient"] > s["best_random"] for s in steep], {"runs": steep},
               summary="‖∇J‖ vs best random direction: " + "; ".join(
                   f"{s['along_gradient']:.4f} vs {s['best_random']:.4f}" for s in steep)),
        decide(CLAIMS[3], [max(i.values()) < c.identity_tol for i in ident], {"runs": ident},
               summary="largest differences: " + "; ".join(
                   ", ".join(f"{k} {v:.1e}" for k, v in i.items()) for i in ident)),
    ], [figure])  # fmt: skip


def _plot(checks, steep, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_g, ax_s) = new_figure(ncols=2, width=5.0)
    seed_dots(ax_g, {"scratch vs finite diff.": checks}, "largest relative error", log=True)
    ax_g.axhline(ctx.config.gradcheck_tol, color="red", linestyle="--", label="tolerance")
    ax_g.legend(fontsize=7)
    seed_dots(ax_s, {"along ∇J": [s["along_gradient"] for s in steep],
                     "best random": [s["best_random"] for s in steep]}, "directional derivative")  # fmt: skip
    return finish(fig, ctx.path("backprop_checks.png"), "Backprop checks, every seed")


LAB = Lab(
    name="backprop_worked_example",
    title="Backpropagation: the worked example, gradient checks and loss identities",
    claims=CLAIMS,
    setup="C23's neuron (x = 2, w = 0.5, b = 0, y = 1, J = ½(y − ŷ)², lr 0.1) by torch autograd "
    "and profond.scratch; scratch backprop vs finite differences on a 5-16-16-3 sigmoid MLP in "
    "float64; the gradient vs random directions on a small tanh net; CE identities on random logits.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "backpropagation",
        "rétropropagation",
        "règle de la chaîne",
        "chain rule",
        "cross-entropy",
        "entropie croisée",
    ),  # fmt: skip
    answers=("Q6", "Q64", "C3", "C15", "C16", "C23", "C49", "C50", "C51"),
    fast=True,
)
