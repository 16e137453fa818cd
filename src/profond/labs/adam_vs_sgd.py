"""Lab: Adam against SGD, each with its own tuned learning rate.

Course §44.2.3, Q34, TP Q2 (Adam converges faster and needs less tuning), §44.2.3's
"generalization gap" (SGD with momentum often tests better than Adam) and C52 (Adam raises or
lowers its learning rate from the gradient's value). Comparing optimizers at one shared learning
rate decides the verdict by the setup (plain SGD at Adam's 1e-3 barely moves), so every
optimizer here gets its own learning rate, picked on the validation split from the same grid,
with the same model, initialization, batches and budget, per seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    lr_grid: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
    epochs: int = 10
    batch_size: int = 64
    hidden_sizes: tuple[int, ...] = (64, 64)
    speed_margin: float = 0.005  # mean validation error over epochs: smallest gap that counts
    gap_margin: float = 0.01  # test accuracy: smallest SGD+momentum advantage that counts
    good_tolerance: float = 0.01  # a "good" lr: validation error within 1 point of the best
    loss_scale: float = 1000.0  # every gradient multiplied by this in the scale test
    scale_changes_above: float = 1e-3  # relative weight change that counts as "different steps"


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=30)
COURSE = "§44.2.3; Q34; TP Q2"
CLAIMS = (
    Claim("adam_converges_faster",
          "With each optimizer's learning rate tuned, Adam converges faster than SGD with momentum.",
          COURSE, "mean validation error over the epochs (area under the curve) at each "
          "optimizer's tuned lr",
          f"per seed: momentum's minus Adam's exceeds max({CONFIG.speed_margin:g}, 2 × pooled "
          "seed std)", expected="subtle"),
    Claim("sgd_generalizes_better",
          "SGD with momentum reaches a better test accuracy than Adam (the generalization gap).",
          "§44.2.3; Tableau 44.2", "test accuracy at each optimizer's tuned lr (train accuracy "
          "and train − test gap reported)",
          f"per seed: momentum's minus Adam's exceeds max({CONFIG.gap_margin:g}, 2 × pooled "
          "seed std)", expected="does not hold"),
    Claim("adam_needs_less_tuning",
          "Adam needs less tuning: a wider range of learning rates works well.", "Q34; TP Q2",
          f"width in decades of the lrs whose validation error is within "
          f"{CONFIG.good_tolerance:g} of the optimizer's best, on the grid 1e-4…1",
          "per seed: Adam's width ≥ both plain SGD's and SGD+momentum's", expected="subtle"),
    Claim("adam_step_follows_gradient",
          "Adam raises or lowers its step according to the gradient's magnitude.", "C52; §44.2.3",
          f"relative weight difference after one epoch when every gradient is multiplied by "
          f"{CONFIG.loss_scale:g} (same seed, batches, tuned lr)",
          f"per seed: the difference exceeds {CONFIG.scale_changes_above:g} (Adam's steps change)",
          expected="does not hold"),
)  # fmt: skip


def _scaled_task(factor: float):
    """A classification task whose training loss (so every gradient) is multiplied by ``factor``."""

    def make(data):
        task = sweeps.lean_task(data)
        step = task.training_step
        task.training_step = lambda model, x, y: factor * step(model, x, y)
        return task

    return make


def _weights_change(setting, data, seed: int, factor: float) -> float:
    """Relative L2 distance between weights trained with and without gradient scaling."""
    import torch

    from profond.labs import small_train as st

    plain = st.train(setting, data, seed, task=sweeps.lean_task).model
    run = st.train(setting, data, seed, task=_scaled_task(factor))
    if run.diverged:
        return float("inf")
    a = torch.cat([p.detach().flatten() for p in plain.parameters()])
    b = torch.cat([p.detach().flatten() for p in run.model.parameters()])
    return float((a - b).norm() / a.norm())


def _seed(config: Config, data, seed: int) -> dict:
    """Every optimizer over the lr grid on one seed, and what its tuned run measures."""
    import numpy as np

    from profond.labs import small_train as st

    base = st.Setting(model_options={"hidden_sizes": config.hidden_sizes, "dropout": 0.0},
                      epochs=config.epochs, batch_size=config.batch_size)  # fmt: skip
    out: dict = {}
    for name in OPTIMIZERS:
        runs = sweeps.grid_runs(
            base.but(optimizer=name), data, seed, config.lr_grid, task=sweeps.lean_task
        )
        errors = [sweeps.val_error(r) for r in runs]
        best = runs[sweeps.best_index(runs)]
        out[name] = {
            "lr": config.lr_grid[sweeps.best_index(runs)],
            "val_errors": errors,
            "curve": [1.0 - a for a in best.history["val_accuracy"]],
            "auc": float(np.mean([1.0 - a for a in best.history["val_accuracy"]])),
            "test": best.test["test_accuracy"],
            "train": sweeps.accuracy(best.model, data.x_train, data.y_train),
            "width": sweeps.good_range_decades(config.lr_grid, errors, config.good_tolerance),
        }
    one_epoch = base.but(epochs=1)
    for name in ("adam", "sgd"):
        setting = one_epoch.but(optimizer=name, lr=out[name]["lr"])
        out[name]["scale_change"] = _weights_change(setting, data, seed, config.loss_scale)
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    per_seed = [_seed(c, data, s) for s in ctx.seeds]

    def arm(opt: str, key: str) -> list[float]:
        return [s[opt][key] for s in per_seed]

    speed = compare(arm("momentum", "auc"), arm("adam", "auc"), margin=c.speed_margin)
    gap = compare(arm("momentum", "test"), arm("adam", "test"), margin=c.gap_margin)
    widths = {o: arm(o, "width") for o in OPTIMIZERS}
    tuned = {o: arm(o, "lr") for o in OPTIMIZERS}
    train_test = {o: [s[o]["train"] - s[o]["test"] for s in per_seed] for o in OPTIMIZERS}
    scale = {o: arm(o, "scale_change") for o in ("adam", "sgd")}
    figure = _plot(per_seed, c, ctx)
    return Outcome([
        decide(CLAIMS[0], speed.greater(), {**speed.to_json(), "tuned_lr": tuned},
               summary=f"mean validation error over {c.epochs} epochs: momentum "
               f"{fmt_seeds(speed.a)} vs Adam {fmt_seeds(speed.b)} (tuned lrs {tuned})"),
        decide(CLAIMS[1], gap.greater(), {**gap.to_json(), "tuned_lr": tuned,
               "test": {o: arm(o, "test") for o in OPTIMIZERS}, "train_minus_test": train_test},
               summary=f"test accuracy momentum {fmt_seeds(gap.a)} vs Adam {fmt_seeds(gap.b)} "
               f"(plain SGD {fmt_seeds(arm('sgd', 'test'))}); mean difference "
               f"{gap.mean_diff:+.4f}, counts beyond {gap.threshold:.4f}; train − test gap: momentum "
               f"{fmt_seeds(train_test['momentum'])}, Adam {fmt_seeds(train_test['adam'])}"),
        decide(CLAIMS[2], [a >= max(s, m) for a, s, m in zip(widths["adam"], widths["sgd"], widths["momentum"], strict=True)],
               {"width_decades": widths, "val_errors": {o: arm(o, "val_errors") for o in OPTIMIZERS}},
               summary="good-lr range in decades: " + "; ".join(
                   f"{o} {fmt_seeds(w)}" for o, w in widths.items())),
        decide(CLAIMS[3], [v > c.scale_changes_above for v in scale["adam"]], {"relative_change": scale},
               summary=f"gradients × {c.loss_scale:g}: Adam's weights move by "
               f"{fmt_seeds(scale['adam'])} (relative), plain SGD's by {fmt_seeds(scale['sgd'])}"),
    ], [figure])  # fmt: skip


def _plot(per_seed: list[dict], c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_lr, ax_curve) = new_figure(ncols=2, width=5.5)
    for opt in OPTIMIZERS:
        color = {"sgd": "tab:gray", "momentum": "tab:blue", "adam": "tab:red"}[opt]
        seed_lines(ax_lr, list(c.lr_grid), [s[opt]["val_errors"] for s in per_seed], opt, color)
        seed_lines(ax_curve, list(range(1, c.epochs + 1)), [s[opt]["curve"] for s in per_seed],
                   f"{opt} (tuned)", color, log=True)  # fmt: skip
    ax_lr.set_xscale("log")
    ax_lr.set_ylim(0, 1)
    ax_lr.set(xlabel="learning rate", ylabel="validation error (last epoch)")
    ax_curve.set(xlabel="epoch", ylabel="validation error at the tuned lr")
    for ax in (ax_lr, ax_curve):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return finish(
        fig, ctx.path("adam_vs_sgd.png"), "Adam vs SGD, each with its tuned lr, every seed"
    )


LAB = Lab(
    name="adam_vs_sgd",
    title="Adam vs SGD with each optimizer's learning rate tuned",
    claims=CLAIMS,
    setup="A 64-64 ReLU MLP on standardized digits (1 150 train / 287 validation / 360 test), "
    "10 epochs of batches of 64 with profond's Trainer. Plain SGD, SGD with momentum 0.9 and Adam "
    "each train at 9 learning rates from 1e-4 to 1 per seed; each optimizer keeps the lr with "
    "the lowest validation error. Same initialization and batch order for every arm of a seed. "
    "The scale test trains one epoch with the training loss multiplied by 1 000.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "adam",
        "sgd",
        "descente de gradient stochastique",
        "stochastic gradient descent",
        "optimiseur",
        "optimizer",
        "optimiser",
        "momentum",
        "generalization gap",
    ),  # fmt: skip
    answers=("Q34", "C52"),
    fast=False,
)
