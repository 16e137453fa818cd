"""Lab: momentum on an ill-conditioned quadratic — from ~κ iterations to ~√κ.

Course §44.2.3 and Tableau 44.2 (momentum accelerates along consistent directions and damps
oscillations), TP Q2, Q34 (momentum is half of Adam). The lab minimizes random rotated quadratics
``f(w) = ½ wᵀ A w`` whose Hessian ``A`` has condition number κ, with profond's optimizers
(:func:`profond.train.optim.build_optimizer`: plain SGD and SGD with momentum, both at their
optimal constant settings for the quadratic), and counts the iterations to divide ``f`` by 10⁶.
It also checks that the chapter's two momentum formulas give the same iterates once the learning
rate is rescaled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 3
    dim: int = 20
    kappas: tuple[float, ...] = (10.0, 100.0, 1000.0)
    tolerance: float = 1e-6  # stop when f(w) < tolerance × f(w0)
    max_steps: int = 50_000
    slope_tolerance: float = 0.15  # log-log slopes: GD 1 ± this, momentum 0.5 ± this
    formula_beta: float = 0.9
    formula_lr: float = 0.05  # the EMA form's lr; the other form uses lr × (1 − β)
    formula_steps: int = 200
    same_below: float = 1e-10  # float64 iterates of the two forms


CONFIG = Config()
FAITHFUL = Config(seeds=10, dim=100, kappas=(10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0))
CLAIMS = (
    Claim("gd_iterations_grow_with_kappa",
          "On an ill-conditioned problem gradient descent needs many iterations: about κ.",
          "§44.2.3; Tableau 44.2", "iterations to divide f by 10⁶ for plain SGD (full gradient) "
          "at its optimal step 2/(L + μ), κ = 10, 100, 1000",
          f"per seed: log-log slope of iterations vs κ within 1 ± {CONFIG.slope_tolerance:g}",
          expected="holds"),
    Claim("momentum_iterations_grow_with_sqrt_kappa",
          "Momentum accelerates convergence on ill-conditioned problems: about √κ iterations.",
          "§44.2.3; TP Q2; Q34", "the same count for SGD with momentum (heavy ball) at its "
          "optimal lr and β", f"per seed: slope within 0.5 ± {CONFIG.slope_tolerance:g} and fewer "
          "iterations than GD at every κ ≥ 100", expected="holds"),
    Claim("two_momentum_formulas_agree",
          "The chapter's two momentum formulas (v ← βv + (1−β)∇J and v ← βv + ∇J) are the same "
          "method up to a rescaled learning rate.", "§44.2.3; Tableau 44.2",
          f"largest distance between the iterates of both forms over {CONFIG.formula_steps} steps, "
          "lr × (1 − β) in the second", f"per seed: below {CONFIG.same_below:g} (relative)",
          expected="holds"),
)  # fmt: skip


def _quadratic(dim: int, kappa: float, seed: int):
    """A random rotated positive-definite ``A`` with eigenvalues from 1/κ to 1, and a start."""
    import torch

    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    eig = torch.logspace(0, -math.log10(kappa), dim, dtype=torch.float64)
    a = q @ torch.diag(eig) @ q.T
    start = torch.randn(dim, generator=g, dtype=torch.float64)
    return a, start


def _iterations(a, start, optimizer: str, lr: float, beta: float, c: Config) -> int:
    """Steps of profond's optimizer until f(w) < tolerance × f(w0)."""
    import torch

    from profond.train.config import TrainConfig
    from profond.train.optim import build_optimizer

    w = torch.nn.Parameter(start.clone())
    opt = build_optimizer([w], TrainConfig(optimizer=optimizer, lr=lr, momentum=beta))
    target = c.tolerance * float(0.5 * start @ a @ start)
    for step in range(1, c.max_steps + 1):
        opt.zero_grad()
        with torch.no_grad():
            w.grad = a @ w  # ∇f(w) = A w
        opt.step()
        with torch.no_grad():
            if float(0.5 * w @ a @ w) < target:
                return step
    return c.max_steps


def _formulas(c: Config, seed: int) -> float:
    """Relative distance between the EMA form and the sum form with lr × (1 − β)."""
    a, start = _quadratic(c.dim, 100.0, seed)
    w1, v1, w2, v2 = start.clone(), start * 0, start.clone(), start * 0
    b, worst = c.formula_beta, 0.0
    for _ in range(c.formula_steps):
        v1 = b * v1 + (1 - b) * (a @ w1)
        w1 = w1 - c.formula_lr * v1
        v2 = b * v2 + a @ w2
        w2 = w2 - c.formula_lr * (1 - b) * v2
        worst = max(worst, float((w1 - w2).norm() / start.norm()))
    return worst


def _seed(c: Config, seed: int) -> dict:
    import numpy as np

    gd, hb = [], []
    for kappa in c.kappas:
        a, start = _quadratic(c.dim, kappa, seed)
        big, small = 1.0, 1.0 / kappa
        gd.append(_iterations(a, start, "sgd", 2 / (big + small), 0.0, c))
        lr = 4 / (math.sqrt(big) + math.sqrt(small)) ** 2
        beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
        hb.append(_iterations(a, start, "momentum", lr, beta, c))
    logk = np.log(c.kappas)
    return {
        "gd": gd, "momentum": hb,
        "gd_slope": float(np.polyfit(logk, np.log(gd), 1)[0]),
        "momentum_slope": float(np.polyfit(logk, np.log(hb), 1)[0]),
        "formula_distance": _formulas(c, seed),
    }  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    runs = [_seed(c, s) for s in ctx.seeds]
    faster = [all(m < g for k, g, m in zip(c.kappas, r["gd"], r["momentum"], strict=True) if k >= 100) for r in runs]  # fmt: skip
    figure = _plot(c, runs, ctx)
    gd_s, hb_s = [r["gd_slope"] for r in runs], [r["momentum_slope"] for r in runs]
    return Outcome([
        decide(CLAIMS[0], [abs(s - 1) <= c.slope_tolerance for s in gd_s], {"per_seed": runs},
               summary=f"GD iterations at κ = {list(c.kappas)}: {runs[0]['gd']} (first seed); slopes {fmt_seeds(gd_s)}"),
        decide(CLAIMS[1], [abs(s - 0.5) <= c.slope_tolerance and f for s, f in zip(hb_s, faster, strict=True)],
               {"per_seed": runs, "faster_than_gd": faster},
               summary=f"momentum iterations: {runs[0]['momentum']} (first seed); slopes {fmt_seeds(hb_s)}"),
        decide(CLAIMS[2], [r["formula_distance"] < c.same_below for r in runs], {"distance": [r["formula_distance"] for r in runs]},
               summary=f"largest relative distance between the two forms: {fmt_seeds([r['formula_distance'] for r in runs])}"),
    ], [figure])  # fmt: skip


def _plot(c: Config, runs: list[dict], ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=5.5)
    seed_lines(
        ax, list(c.kappas), [r["gd"] for r in runs], "gradient descent", "tab:gray", log=True
    )
    seed_lines(ax, list(c.kappas), [r["momentum"] for r in runs], "momentum", "tab:blue", log=True)
    ax.set_xscale("log")
    ax.set(xlabel="condition number κ", ylabel="iterations to divide f by 10⁶")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, ctx.path("momentum.png"), "GD vs momentum on quadratics, every seed")


LAB = Lab(
    name="momentum_ill_conditioned",
    title="Momentum on ill-conditioned quadratics: iterations ~κ become ~√κ",
    claims=CLAIMS,
    setup="Random rotated 20-dimensional quadratics with Hessian eigenvalues log-spaced from 1/κ "
    "to 1 (κ = 10, 100, 1000), minimized with profond's optimizers (plain SGD at step 2/(L+μ); "
    "SGD with momentum at the heavy-ball optimum) on the exact gradient, in float64; the two "
    "momentum formulas of the chapter iterated side by side.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("momentum", "moment", "conditionnement", "ill-conditioned", "oscillations"),
    answers=("Q34",),
    fast=True,
)
