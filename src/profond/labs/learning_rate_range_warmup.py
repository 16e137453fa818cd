"""Lab: the learning-rate range — too small crawls, too large diverges — and warm-up.

Course Q35 and §44.2.1 (too large a learning rate overshoots and diverges, too small converges
very slowly; scheduling or warm-up help), C7, C9 (too small "converges slowly or may not
converge at all"), C17/C18 (plot the cost against iterations). A 64-64 MLP on digits trains
with plain SGD (profond's Trainer) for a fixed budget at learning rates from 1e-4 to 10; the
rates that diverge are retried with one epoch of linear warm-up (the ``warmup`` schedule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 3
    hidden_sizes: tuple[int, ...] = (64, 64)
    lr_grid: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0)
    epochs: int = 5
    slow_ratio: float = 2.0  # the smallest lr's final loss at least this × the best lr's
    warmup_epochs: int = 1


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=20, warmup_epochs=2)
CLAIMS = (
    Claim("lr_u_shape",
          "Too small a learning rate converges very slowly, too large a one diverges.",
          "Q35; §44.2.1; C9", f"final training loss after {CONFIG.epochs} epochs of plain SGD at "
          "11 learning rates from 1e-4 to 10 (diverged: loss NaN, exploded gradients or above "
          "the initial loss)",
          f"per seed: the smallest lr's loss > {CONFIG.slow_ratio:g}× the best one's and the "
          "largest lr diverges", expected="holds"),
    Claim("small_lr_may_not_converge",
          "Too small a learning rate may not converge at all.", "C9",
          "the training loss per epoch at the smallest learning rate (1e-4)",
          "per seed: it fails to decrease at some epoch (a loss that keeps decreasing converges, "
          "slowly)", expected="does not hold"),
    Claim("warmup_raises_stable_lr",
          "Warm-up lets training start at learning rates that otherwise diverge.", "Q35",
          f"the diverging learning rates retried with {CONFIG.warmup_epochs} epoch(s) of linear "
          "warm-up", "per seed: at least one of them no longer diverges", expected="subtle"),
)  # fmt: skip


def _final(run, initial: float) -> float:
    """The last epoch's training loss, ``inf`` if the run diverged or ended above its start."""
    loss = run.last("train_loss")
    return loss if math.isfinite(loss) and loss < initial else math.inf


def _initial_loss(setting, data, seed: int) -> float:
    """Training cross-entropy of the seed's network before any step."""
    from profond.labs import small_train as st

    model = st.build_model(setting, data, seed)
    return float(
        sweeps.lean_task(data).evaluate(model.eval(), data.x_train, data.y_train, 1024)["loss"]
    )


def _seed(c: Config, data, seed: int) -> dict:
    from profond.labs import small_train as st

    base = st.Setting(optimizer="sgd", epochs=c.epochs, warmup_epochs=c.warmup_epochs,
                      model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    initial = _initial_loss(base, data, seed)
    runs = sweeps.grid_runs(base, data, seed, c.lr_grid, task=sweeps.lean_task)
    final = [_final(r, initial) for r in runs]
    diverged = [lr for lr, f in zip(c.lr_grid, final, strict=True) if not math.isfinite(f)]
    warm = sweeps.grid_runs(
        base.but(schedule="warmup"), data, seed, diverged, task=sweeps.lean_task
    )
    rescued = [
        lr for lr, r in zip(diverged, warm, strict=True) if math.isfinite(_final(r, initial))
    ]
    return {
        "final": final,
        "smallest_curve": runs[0].history["train_loss"],
        "diverged": diverged,
        "warm_final": [_final(r, initial) for r in warm],
        "rescued": rescued,
        "initial_loss": initial,
    }


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    per_seed = [_seed(c, data, s) for s in ctx.seeds]
    best = [min(r["final"]) for r in per_seed]
    smallest = [r["final"][0] for r in per_seed]
    u_shape = [s > c.slow_ratio * b and not math.isfinite(r["final"][-1]) for s, b, r in zip(smallest, best, per_seed, strict=True)]  # fmt: skip
    stalls = [any(b >= a for a, b in zip(r["smallest_curve"], r["smallest_curve"][1:], strict=False)) for r in per_seed]  # fmt: skip
    figure = _plot(c, per_seed, ctx)
    return Outcome([
        decide(CLAIMS[0], u_shape, {"lr_grid": c.lr_grid, "final_loss": [r["final"] for r in per_seed]},
               summary=f"final loss at lr 1e-4: {fmt_seeds(smallest)}; best: {fmt_seeds(best)}; lrs diverging: "
               f"{[r['diverged'] for r in per_seed]}"),
        decide(CLAIMS[1], stalls, {"curves": [r["smallest_curve"] for r in per_seed]},
               summary="training loss per epoch at lr 1e-4 (first seed): " + ", ".join(f"{v:.4f}" for v in per_seed[0]["smallest_curve"])),
        decide(CLAIMS[2], [bool(r["rescued"]) for r in per_seed],
               {"diverged": [r["diverged"] for r in per_seed], "rescued": [r["rescued"] for r in per_seed],
                "warm_final": [r["warm_final"] for r in per_seed]},
               summary=f"diverging lrs rescued by warm-up: {[r['rescued'] for r in per_seed]} (of {[r['diverged'] for r in per_seed]})"),
    ], [figure])  # fmt: skip


def _plot(c: Config, per_seed: list[dict], ctx: LabContext):
    import numpy as np

    from profond.labs.figures import finish, new_figure

    fig, (ax,) = new_figure(width=6.5)
    top = max(f for r in per_seed for f in r["final"] if math.isfinite(f)) * 1.5
    for i, r in enumerate(per_seed):
        shown = [f if math.isfinite(f) else top for f in r["final"]]
        ax.plot(
            c.lr_grid,
            shown,
            "o-",
            color="tab:blue",
            alpha=0.6,
            label="constant lr" if i == 0 else None,
        )
        for lr, f in zip(r["diverged"], r["warm_final"], strict=True):
            ax.plot(lr, f if math.isfinite(f) else top, "s", color="tab:orange", alpha=0.7,
                    label="with warm-up" if i == 0 and lr == r["diverged"][0] else None)  # fmt: skip
    ax.axhline(top, color="tab:red", linestyle=":", linewidth=0.8)
    ax.text(c.lr_grid[0], top * 1.02, "diverged", color="tab:red", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=top * 1.3, bottom=np.nanmin([min(r["final"]) for r in per_seed]) / 1.5)
    ax.set(
        xlabel="learning rate", ylabel=f"training loss after {c.epochs} epochs (one line per seed)"
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, ctx.path("lr_range.png"), "Learning-rate range (plain SGD), every seed")


LAB = Lab(
    name="learning_rate_range_warmup",
    title="Learning rate: too small crawls, too large diverges; warm-up and the edge of stability",
    claims=CLAIMS,
    setup="Standardized digits, a 64-64 ReLU MLP from profond's family, plain SGD with batches "
    "of 64 for 5 epochs (profond's Trainer) at 11 learning rates from 1e-4 to 10; every rate "
    "that diverges is retried with the trainer's warmup schedule (1 epoch of linear warm-up).",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "learning rate",
        "taux d'apprentissage",
        "pas d'apprentissage",
        "warm-up",
        "warmup",
        "divergence",
        "scheduling",
    ),  # fmt: skip
    answers=("Q35", "C7", "C9", "C17", "C18"),
    fast=True,
)
