"""Lab: exploding gradients come from products of Jacobians, not from a too-large learning rate;
clipping the gradient norm tames them.

Course §44.3.2 (if the recurrent matrix's singular values exceed 1, the product explodes), Q103
(gradients become very large, unstable updates), C10 (the "explosive gradient problem" defined as
a too-high learning rate making the loss increase uncontrollably), C17, C18.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, log_slope


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    radii: tuple[float, ...] = (0.5, 1.0, 1.5)  # spectral radius of the recurrent matrix
    hidden: int = 16
    horizon: int = 60  # longest sequence for the Jacobian product
    fit_from: int = 20  # fit the log-norm slope on T in [fit_from, horizon]
    slope_tol: float = 0.15  # |slope − log ρ| must be within this
    length: int = 30  # training sequences for the clipping arm
    radius_train: float = 1.5
    clip: float = 1.0
    lr: float = 0.05  # SGD, small for a recurrent net
    epochs: int = 8
    solved_below: float = 1.0  # clipped run: final training MSE (targets have variance 1)
    high_lr: float = 30.0  # the digits MLP at a far too large SGD learning rate
    small_grad: float = 10.0  # "well-behaved" initial gradient norm
    exploded: float = 1e3  # gradient growth over ``horizon`` steps at ρ = 1.5, with no lr at all


CONFIG = Config()
FAITHFUL = Config(seeds=5, hidden=64, horizon=100, epochs=20)
CLAIMS = (
    Claim("jacobian_product_explodes",
          "Through time, the gradient is a product of Jacobians: it explodes when the recurrent "
          "matrix's scale exceeds 1 and vanishes below.", "§44.3.2; Q103",
          "slope of log ‖∂L/∂h₀‖ against the sequence length T for a linear RNN with spectral "
          "radius ρ", f"per seed: |slope − log ρ| ≤ {CONFIG.slope_tol:g} for every ρ in {CONFIG.radii}",
          expected="holds"),
    Claim("clipping_tames_explosion",
          "Clipping the gradient norm keeps training stable despite exploding gradients.",
          "Q103; C17", f"a linear RNN with ρ = {CONFIG.radius_train:g} on T = {CONFIG.length} "
          "sequences, SGD with and without clipping at norm 1",
          f"per seed: the unclipped run diverges and the clipped one ends below MSE {CONFIG.solved_below:g}",
          expected="holds"),
    Claim("exploding_gradient_is_high_lr",
          "The exploding-gradient problem is a too-high learning rate making the loss increase "
          "uncontrollably.", "C10; C17; C18",
          f"gradient growth with T at ρ = 1.5 (no learning rate involved), and a digits MLP at "
          f"lr {CONFIG.high_lr:g}: initial gradient norm and divergence",
          "per seed: does NOT hold if the gradient explodes with no lr involved (growth > "
          f"{CONFIG.exploded:g}) while the high-lr run diverges from an initial gradient norm < "
          f"{CONFIG.small_grad:g} (two different phenomena)", expected="does not hold"),
)  # fmt: skip


def radius_matrix(n: int, rho: float, generator) -> np.ndarray:
    """A random ``n×n`` matrix rescaled to spectral radius ``rho``."""
    w = generator.standard_normal((n, n))
    return w * (rho / np.max(np.abs(np.linalg.eigvals(w))))


def jacobian_norms(rho: float, seed: int, c: Config) -> list[float]:
    """‖∂(r·h_T)/∂h₀‖ for T = 1..horizon with h_t = W h_{t−1}."""
    rng = np.random.default_rng((seed, int(rho * 1000)))
    w, r = radius_matrix(c.hidden, rho, rng), rng.standard_normal(c.hidden)
    norms, g = [], r.copy()
    for _ in range(c.horizon):
        g = w.T @ g  # back-propagating one step multiplies by the Jacobian Wᵀ
        norms.append(float(np.linalg.norm(g)))
    return norms


class LinearRNN:
    """Factory of ``h_t = W h_{t−1} + U x_t``, output ``V h_T`` with W at a set spectral radius."""

    def __init__(self, c: Config) -> None:
        self.c = c

    def __call__(self, data, seed: int):
        import torch
        from torch import nn

        c = self.c

        class Net(nn.Module):
            """Shape: ``(B, T)`` → ``(B, 1)``."""

            def __init__(self) -> None:
                super().__init__()
                rng = np.random.default_rng(seed)
                w = radius_matrix(c.hidden, c.radius_train, rng)
                self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32))
                self.u = nn.Parameter(torch.as_tensor(rng.standard_normal((c.hidden, 1)) / 4, dtype=torch.float32))  # fmt: skip
                self.v = nn.Linear(c.hidden, 1)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                h = x.new_zeros(len(x), c.hidden)
                for t in range(x.shape[1]):
                    h = h @ self.w.T + x[:, t : t + 1] @ self.u.T
                return self.v(h)

        torch.manual_seed(seed)
        return Net()


def _clipping(seed: int, c: Config) -> dict[str, Any]:
    from profond.labs import small_train as st
    from profond.labs.toy import regression_bundle, regression_task

    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((n, c.length)) for n in (512, 256)]
    data = regression_bundle(
        "sums", *[(x, x.sum(1, keepdims=True) / math.sqrt(c.length)) for x in xs]
    )
    setting = st.Setting(optimizer="sgd", lr=c.lr, epochs=c.epochs, batch_size=32)
    out: dict[str, Any] = {}  # per arm: diverged (bool), final loss (float), curve (list)
    for name, clip in (("unclipped", None), ("clipped", c.clip)):
        run = st.train(
            setting.but(clip_grad_norm=clip), data, seed, model=LinearRNN(c), task=regression_task
        )
        out[f"{name}_diverged"] = run.diverged
        out[f"{name}_loss"] = run.last("train_loss")
        out[f"{name}_curve"] = run.history.get("train_loss", [])
    return out


class _HighLr(TypedDict):
    initial_grad_norm: float
    diverged: bool
    final_loss: float


def _high_lr(seed: int, c: Config) -> _HighLr:
    import torch
    import torch.nn.functional as F

    from profond.labs import small_train as st

    data = st.digits()
    setting = st.Setting(optimizer="sgd", lr=c.high_lr, epochs=2,
                         model_options={"hidden_sizes": (64, 64), "dropout": 0.0})  # fmt: skip
    model = st.build_model(setting, data, seed)
    F.cross_entropy(model(data.x_train[:64]), data.y_train[:64]).backward()
    parts = []
    for p in model.parameters():
        assert p.grad is not None  # backward() reached every parameter
        parts.append(p.grad.reshape(-1))
    grad = torch.cat(parts).norm().item()
    run = st.train(setting, data, seed)
    diverged = run.diverged or not run.last("train_loss") < math.log(10)
    return {"initial_grad_norm": grad, "diverged": diverged, "final_loss": run.last("train_loss")}


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    norms = {rho: [jacobian_norms(rho, s, c) for s in ctx.seeds] for rho in c.radii}
    ts = list(range(1, c.horizon + 1))
    slopes = {
        rho: [log_slope(ts[c.fit_from - 1 :], n[c.fit_from - 1 :]) for n in ns]
        for rho, ns in norms.items()
    }
    growth = [n[-1] / n[0] for n in norms[max(c.radii)]]
    clip = [_clipping(s, c) for s in ctx.seeds]
    high = [_high_lr(s, c) for s in ctx.seeds]
    figure = _plot(norms, clip, ctx)
    slope_ok = [
        all(abs(slopes[rho][i] - math.log(rho)) <= c.slope_tol for rho in c.radii)
        for i in range(len(ctx.seeds))
    ]
    conflated = [
        g > c.exploded and h["diverged"] and h["initial_grad_norm"] < c.small_grad
        for g, h in zip(growth, high, strict=True)
    ]
    return Outcome([
        decide(CLAIMS[0], slope_ok, {"slopes": {str(r): v for r, v in slopes.items()}, "log_rho": [math.log(r) for r in c.radii]},
               summary="slope of log-norm vs T: " + "; ".join(f"ρ={r:g}: {[round(v, 3) for v in slopes[r]]} (log ρ = {math.log(r):.3f})" for r in c.radii)),
        decide(CLAIMS[1], [r["unclipped_diverged"] and not r["clipped_diverged"] and r["clipped_loss"] < c.solved_below for r in clip],
               {"runs": [{k: v for k, v in r.items() if not k.endswith("curve")} for r in clip]},
               summary="unclipped diverged " + str([r["unclipped_diverged"] for r in clip]) + "; clipped final MSE "
               + str([round(r["clipped_loss"], 4) for r in clip])),
        decide(CLAIMS[2], [not x for x in conflated], {"growth_rho_max": growth, "high_lr": high},
               summary=f"at ρ = {max(c.radii):g} the gradient grows ×{growth[0]:.2g} over {c.horizon} steps "
               f"with no lr; at lr {c.high_lr:g} the MLP diverged {[h['diverged'] for h in high]} from "
               f"initial gradient norms {[round(h['initial_grad_norm'], 2) for h in high]}"),
    ], [figure])  # fmt: skip


def _plot(norms, clip, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_n, ax_c) = new_figure(ncols=2, width=5.5)
    for rho, ns in norms.items():
        seed_lines(ax_n, list(range(1, len(ns[0]) + 1)), ns, f"ρ = {rho:g}", log=True)
    ax_n.set(xlabel="sequence length T", ylabel="‖∂L/∂h₀‖")
    ax_n.legend(fontsize=7)
    curves = [r["clipped_curve"] for r in clip if r["clipped_curve"]]
    if curves:
        seed_lines(ax_c, list(range(1, len(curves[0]) + 1)), curves, "clipped at norm 1", log=True)
    ax_c.set(xlabel="epoch", ylabel="training MSE",
             title=f"unclipped: diverged in {sum(r['unclipped_diverged'] for r in clip)}/{len(clip)} seeds")  # fmt: skip
    ax_c.legend(fontsize=7)
    for ax in (ax_n, ax_c):
        ax.grid(True, which="both", alpha=0.3)
    return finish(fig, ctx.path("exploding.png"), "Exploding gradients and clipping, every seed")


LAB = Lab(
    name="exploding_gradients_clipping",
    title="Exploding gradients: products of Jacobians (not a too-high lr), tamed by clipping",
    claims=CLAIMS,
    setup="A linear recurrence h_t = W h_{t−1} with W rescaled to spectral radius 0.5/1/1.5: "
    "‖∂L/∂h₀‖ for T = 1…60 (no training, no lr); a linear RNN (ρ = 1.5) trained by profond's "
    "Trainer on T = 30 running sums with SGD, with and without clip_grad_norm = 1; a 64-64 digits "
    "MLP at SGD lr 30.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "exploding gradient",
        "explosion du gradient",
        "gradient clipping",
        "clipping",
        "rnn",
    ),  # fmt: skip
    answers=("Q103", "C10", "C17", "C18"),
)
