"""Lab: random search against grid search, and why weights are not searched on a grid.

Course C5 (grid search is unsuitable for a model's parameters: too much computation) and C31
(hyper-parameters are found by trial and error, comparing models). Following Bergstra and
Bengio (2012), the same budget of trials explores learning rate, width and weight decay of an
MLP on digits (profond's family and Trainer, Adam) either on a 3×3×3 grid or at random
log-uniform points; only some of these settings matter, and a grid repeats the same few values
of each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    lr_range: tuple[float, float] = (1e-4, 1e-1)
    width_range: tuple[int, int] = (8, 256)
    decay_range: tuple[float, float] = (1e-6, 1e-2)
    per_axis: int = 3  # grid points per hyper-parameter: 3³ = 27 trials, and 27 random ones
    epochs: int = 3
    near_best: float = 0.005  # "good": validation accuracy within 0.5 point of the best found
    weight_grid_points: int = 10  # values per weight in a hypothetical grid over the weights
    infeasible_log10: float = 30.0  # more than 10^30 grid points: never computable


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=10, per_axis=4)
CLAIMS = (
    Claim("random_search_finds_faster",
          "Random search finds good hyper-parameters in fewer trials than grid search.", "C31; C5",
          "trials until the best-so-far validation accuracy is within "
          f"{CONFIG.near_best:g} of the best either search found (grid in a random order)",
          "per seed: random search needs fewer trials", expected="holds"),
    Claim("weights_cannot_be_grid_searched",
          "A grid search over a network's parameters (weights) needs far too much computation.",
          "C5", f"log10 of the number of points of a {CONFIG.weight_grid_points}-value grid over "
          "every parameter of a 64-64 MLP for digits",
          f"per seed: more than 10^{CONFIG.infeasible_log10:g} points", expected="holds"),
)  # fmt: skip


def _log_points(low: float, high: float, n: int) -> list[float]:
    return [math.exp(math.log(low) + i * (math.log(high) - math.log(low)) / (n - 1)) for i in range(n)]  # fmt: skip


def _trial(c: Config, data, seed: int, lr: float, width: int, decay: float) -> float:
    from profond.labs import small_train as st

    setting = st.Setting(optimizer="adam", lr=lr, epochs=c.epochs, weight_decay=decay,
                         model_options={"hidden_sizes": (width, width), "dropout": 0.0})  # fmt: skip
    run = st.train(setting, data, seed, task=sweeps.lean_task)
    return 0.0 if run.diverged else run.last("val_accuracy")


def _search(c: Config, data, seed: int) -> dict:
    import itertools

    import numpy as np

    rng = np.random.default_rng(seed)
    axes = (_log_points(*c.lr_range, c.per_axis),
            [round(w) for w in _log_points(*c.width_range, c.per_axis)],
            _log_points(*c.decay_range, c.per_axis))  # fmt: skip
    grid = list(itertools.product(*axes))
    grid = [grid[i] for i in rng.permutation(len(grid))]
    lo, hi = np.log(c.lr_range), np.log(c.width_range)
    dlo = np.log(c.decay_range)
    random = [(float(np.exp(rng.uniform(*lo))), round(float(np.exp(rng.uniform(*hi)))),
               float(np.exp(rng.uniform(*dlo)))) for _ in grid]  # fmt: skip
    scores = {name: [_trial(c, data, seed, *p) for p in points] for name, points in (("grid", grid), ("random", random))}  # fmt: skip
    best = max(max(v) for v in scores.values())
    needed = {k: next(i + 1 for i, _ in enumerate(v) if max(v[: i + 1]) >= best - c.near_best) if max(v) >= best - c.near_best else math.inf for k, v in scores.items()}  # fmt: skip
    return {"scores": scores, "needed": needed, "points": {"grid": grid, "random": random},
            "distinct_lr": {"grid": len({p[0] for p in grid}), "random": len({p[0] for p in random})}}  # fmt: skip


def _weight_grid_log10(c: Config, data) -> float:
    from profond.labs import small_train as st

    model = st.build_model(st.Setting(model_options={"hidden_sizes": (64, 64), "dropout": 0.0}), data, 0)  # fmt: skip
    params = sum(p.numel() for p in model.parameters())
    return params * math.log10(c.weight_grid_points)


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    runs = [_search(c, data, s) for s in ctx.seeds]
    log10 = _weight_grid_log10(c, data)
    figure = _plot(c, runs, ctx)
    needed = {k: [r["needed"][k] for r in runs] for k in ("grid", "random")}
    return Outcome([
        decide(CLAIMS[0], [r < g for r, g in zip(needed["random"], needed["grid"], strict=True)],
               {"needed": needed, "distinct_lr": [r["distinct_lr"] for r in runs],
                "best": [{k: max(v) for k, v in r["scores"].items()} for r in runs]},
               summary=f"trials to come within {c.near_best:g} of the best: random {fmt_seeds(needed['random'])} vs grid "
               f"{fmt_seeds(needed['grid'])}; distinct learning rates tried: {runs[0]['distinct_lr']}"),
        decide(CLAIMS[1], [log10 > c.infeasible_log10] * len(ctx.seeds), {"log10_points": log10},
               summary=f"a {c.weight_grid_points}-value grid over the 64-64 MLP's weights has 10^{log10:.0f} points"),
    ], [figure])  # fmt: skip


def _plot(c: Config, runs: list[dict], ctx: LabContext):
    import numpy as np

    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_b, ax_p) = new_figure(ncols=2, width=5.5)
    for name, color in (("grid", "tab:gray"), ("random", "tab:blue")):
        curves = [list(np.maximum.accumulate(r["scores"][name])) for r in runs]
        seed_lines(ax_b, list(range(1, len(curves[0]) + 1)), curves, f"{name} search", color)
        pts = runs[0]["points"][name]
        ax_p.scatter([p[0] for p in pts], [p[1] for p in pts], c=runs[0]["scores"][name], cmap="viridis",
                     vmin=0.5, vmax=1.0, marker="s" if name == "grid" else "o", label=name, edgecolors="k")  # fmt: skip
    ax_b.set(xlabel="trials", ylabel="best validation accuracy so far")
    ax_b.set_ylim(0.8, 1.0)
    ax_b.grid(True, alpha=0.3)
    ax_b.legend(fontsize=8)
    ax_p.set_xscale("log")
    ax_p.set_yscale("log")
    ax_p.set(xlabel="learning rate", ylabel="width (first seed; colour: val. accuracy)")
    ax_p.legend(fontsize=8)
    return finish(fig, ctx.path("random_vs_grid.png"), "Random vs grid search, every seed")


LAB = Lab(
    name="random_vs_grid_search",
    title="Random search beats grid search at equal trials; weights cannot be grid-searched",
    claims=CLAIMS,
    setup="Standardized digits, an MLP with two hidden layers of the same width from profond's "
    "family, Adam for 3 epochs (profond's Trainer). 27 trials per search: a 3×3×3 grid over "
    "learning rate (1e-4…0.1), width (8…256) and weight decay (1e-6…1e-2), all log-spaced and "
    "visited in a random order, or 27 log-uniform random points; the score is the validation "
    "accuracy after the last epoch.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "grid search",
        "recherche par grille",
        "random search",
        "hyperparamètres",
        "hyper-parameters",
        "hyperparameters",
    ),  # fmt: skip
    answers=("C5", "C31"),
)
