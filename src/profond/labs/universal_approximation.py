"""Lab: one hidden layer approximates a continuous function on a compact as it widens — and the
theorem says nothing about outside the compact, about training finding the net, or about
generalizing from few points.

Course Q123 (one hidden layer, enough neurons, any continuous function on a compact), Q124 (it
says nothing about the size needed, trainability or generalization), §44.1.2 (an existence
theorem), TP Q1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, spearman


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    widths: tuple[int, ...] = (2, 8, 32, 128)
    epochs: int = 1500  # full-batch Adam steps (one per epoch)
    lr: float = 0.01
    rho_at_most: float = -0.8  # Spearman(width, in-domain MSE) must be at most this
    mse_at_widest: float = 5e-3  # in-domain MSE the widest net must reach
    # pre-registered rule (fixed before the first run): MSE on [π, 2π] over MSE on [−π, π]
    # exceeds this at every width of the sweep
    outside_factor: float = 100.0
    small_width: int = 8  # hand-built vs trained ReLU net at this width
    few_points: int = 20
    noise: float = 0.3
    overfit_factor: float = 3.0  # few-point fit: test MSE over train MSE at least this


CONFIG = Config()
FAITHFUL = Config(seeds=5, widths=(2, 4, 8, 16, 32, 64, 128, 256), epochs=4000, mse_at_widest=1e-3)
COURSE = "Q123; Q124; §44.1.2; TP Q1"
CLAIMS = (
    Claim("approximates_on_compact",
          "One hidden layer with enough neurons approximates a continuous function on a compact.",
          COURSE, "test MSE on [−π, π] of tanh nets of growing width fit to sin 3x + 0.3x²",
          f"per seed: Spearman(width, MSE) ≤ {CONFIG.rho_at_most:g} and the widest net's MSE < "
          f"{CONFIG.mse_at_widest:g}", expected="holds"),
    Claim("only_on_the_compact",
          "The guarantee is on the compact only: it says nothing outside it.", "Q123; Q124",
          "MSE on [π, 2π] (outside the training interval) over MSE on [−π, π]",
          f"per seed: the ratio exceeds {CONFIG.outside_factor:g} at every width", expected="holds"),
    Claim("existence_not_trainability",
          "The theorem says nothing about whether training finds the approximation.", "Q124; §44.1.2",
          f"MSE of a hand-built {CONFIG.small_width}-unit ReLU interpolant vs a trained ReLU net of "
          "the same width", "per seed: the hand-built net's MSE is lower", expected="holds"),
    Claim("existence_not_generalization",
          "The theorem says nothing about generalization from few samples.", "Q124",
          f"train vs test MSE of the widest net fit to {CONFIG.few_points} noisy points",
          f"per seed: test MSE > {CONFIG.overfit_factor:g} × train MSE", expected="holds"),
)  # fmt: skip


def target(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x) + 0.3 * x**2


def _fit(width: int, activation: str, train: tuple, seed: int, c: Config):
    import torch
    from torch import nn

    from profond.labs import small_train as st
    from profond.labs.toy import regression_bundle, regression_task

    grid = np.linspace(-math.pi, math.pi, 1000)[:, None]
    data = regression_bundle("target", train, (grid, target(grid)))
    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]

    def net(_data, s):
        torch.manual_seed(s)
        return nn.Sequential(nn.Linear(1, width), act(), nn.Linear(width, 1))

    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=len(train[0]))
    run = st.train(setting, data, seed, model=net, task=regression_task)
    return run


def _mse(model, lo: float, hi: float) -> float:
    import torch

    x = np.linspace(lo, hi, 1000)[:, None]
    with torch.no_grad():
        pred = model(torch.as_tensor(x, dtype=torch.float32)).numpy()
    return float(np.mean((pred - target(x)) ** 2))


def _interpolant_mse(units: int) -> float:
    """A ReLU net with ``units`` hidden units can be built to be the piecewise-linear
    interpolant of f at ``units + 1`` evenly spaced knots (one unit per kink)."""
    knots = np.linspace(-math.pi, math.pi, units + 1)
    x = np.linspace(-math.pi, math.pi, 1000)
    return float(np.mean((np.interp(x, knots, target(knots)) - target(x)) ** 2))


def _seed(seed: int, c: Config) -> dict:
    rng = np.random.default_rng(seed)
    x = np.linspace(-math.pi, math.pi, 256)[:, None]
    inside, outside = [], []
    for width in c.widths:
        model = _fit(width, "tanh", (x, target(x)), seed, c).model
        inside.append(_mse(model, -math.pi, math.pi))
        outside.append(_mse(model, math.pi, 2 * math.pi))
    relu = _mse(_fit(c.small_width, "relu", (x, target(x)), seed, c).model, -math.pi, math.pi)
    xs = rng.uniform(-math.pi, math.pi, (c.few_points, 1))
    ys = target(xs) + c.noise * rng.standard_normal(xs.shape)
    few = _fit(c.widths[-1], "tanh", (xs, ys), seed, c)
    xt = rng.uniform(-math.pi, math.pi, (1000, 1))
    yt = target(xt) + c.noise * rng.standard_normal(xt.shape)
    import torch

    with torch.no_grad():
        test_mse = float(
            np.mean((few.model(torch.as_tensor(xt, dtype=torch.float32)).numpy() - yt) ** 2)
        )
    return {"inside": inside, "outside": outside, "relu_trained": relu,
            "few_train": few.history["train_loss"][-1], "few_test": test_mse}  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    runs = [_seed(s, c) for s in ctx.seeds]
    built = _interpolant_mse(c.small_width)
    rhos = [spearman(c.widths, r["inside"]) for r in runs]
    ratios = [[o / i for o, i in zip(r["outside"], r["inside"], strict=True)] for r in runs]
    figure = _plot(runs, ctx)
    return Outcome([
        decide(CLAIMS[0], [rho <= c.rho_at_most and r["inside"][-1] < c.mse_at_widest for rho, r in zip(rhos, runs, strict=True)],
               {"widths": c.widths, "mse_inside": [r["inside"] for r in runs], "spearman": rhos},
               summary=f"in-domain MSE by width {list(c.widths)}: " + "; ".join(
                   "[" + ", ".join(f"{v:.1e}" for v in r["inside"]) + "]" for r in runs) + f"; Spearman {rhos}"),
        decide(CLAIMS[1], [min(rs) > c.outside_factor for rs in ratios], {"outside_over_inside": ratios},
               summary=f"outside/inside MSE ratio, smallest over the widths {list(c.widths)}: {[f'{min(rs):.0f}' for rs in ratios]}"),
        decide(CLAIMS[2], [built < r["relu_trained"] for r in runs],
               {"hand_built": built, "trained": [r["relu_trained"] for r in runs]},
               summary=f"{c.small_width} ReLU units: hand-built interpolant MSE {built:.2e} vs trained "
               + ", ".join(f"{r['relu_trained']:.2e}" for r in runs)),
        decide(CLAIMS[3], [r["few_test"] > c.overfit_factor * r["few_train"] for r in runs],
               {"train": [r["few_train"] for r in runs], "test": [r["few_test"] for r in runs]},
               summary=f"{c.few_points} noisy points, width {c.widths[-1]}: train MSE "
               + ", ".join(f"{r['few_train']:.3f}" for r in runs) + " vs test "
               + ", ".join(f"{r['few_test']:.3f}" for r in runs)),
    ], [figure])  # fmt: skip


def _plot(runs, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    c: Config = ctx.config
    fig, (ax,) = new_figure(width=6.0)
    seed_lines(ax, list(c.widths), [r["inside"] for r in runs], "on [−π, π] (trained)", log=True)
    seed_lines(ax, list(c.widths), [r["outside"] for r in runs], "on [π, 2π] (outside)", log=True)
    ax.axhline(_interpolant_mse(c.small_width), color="gray", linestyle="--",
               label=f"hand-built {c.small_width}-unit ReLU")  # fmt: skip
    ax.set(xscale="log", xlabel="hidden units", ylabel="MSE to sin 3x + 0.3x²")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return finish(
        fig, ctx.path("approximation.png"), "One hidden layer: error vs width, every seed"
    )


LAB = Lab(
    name="universal_approximation",
    title="Universal approximation: on a compact, with enough units — and nothing more",
    claims=CLAIMS,
    setup="Tanh nets with one hidden layer of 2…128 units fit to sin 3x + 0.3x² on 256 points of "
    "[−π, π] (full-batch Adam, 1 500 steps at lr 0.01, profond's Trainer with a regression task); error measured inside "
    "and outside the interval; a hand-built 8-unit ReLU interpolant vs a trained one; the widest "
    "net fit to 20 noisy points.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "approximation universelle",
        "universal approximation",
        "couche cachée",
        "hidden layer",
        "compact",
    ),  # fmt: skip
    answers=("Q123", "Q124"),
    fast=False,
)
