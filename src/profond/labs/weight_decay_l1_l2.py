"""Lab: L2 penalty vs weight decay, L1 sparsity, and how much either helps on small data.

Course Q9, C77 ("L2 (weight decay)": the two names for one thing), §44.2.4 (smaller weights, a
simpler model, less overfitting), C35/C47/C72 (L1/L2 prevent overfitting). profond's Trainer
adds ``l1·Σ|w|`` and ``l2·Σw²`` to the loss (weights only), while ``weight_decay`` goes to the
optimizer (coupled for SGD and Adam, decoupled for AdamW). Trajectories are compared from the
same initialization and batches on bias-free MLPs, so that both act on the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (64, 64)
    decay: float = 0.01  # λ of the trajectory comparison (L2 = λ/2 Σw², decay λ)
    trajectory_epochs: int = 3
    sgd_lr: float = 0.1
    adam_lr: float = 1e-3
    same_below: float = 1e-4  # relative weight distance: float32 rounding over ~50 steps
    differ_above: float = 1e-3
    examples: int = 300  # small data, where regularization should help
    strengths: tuple[float, ...] = (1e-4, 1e-3, 1e-2)  # λ grid, picked on validation
    reg_epochs: int = 30
    reg_lr: float = 0.05  # SGD with momentum, the same for every λ
    help_margin: float = 0.01
    sparse_strength: float = 1e-3  # the same λ for L1 and L2 in the sparsity comparison
    near_zero: float = 1e-3  # |w| below this counts as zero
    sparsity_ratio: float = 5.0  # L1's near-zero share at least this × L2's


CONFIG = Config()
FAITHFUL = Config(seeds=5, reg_epochs=60, strengths=(1e-5, 1e-4, 1e-3, 1e-2, 3e-2))
CLAIMS = (
    Claim("l2_is_weight_decay_sgd",
          "An L2 penalty on the weights is weight decay (with SGD).", "Q9; C77; C72",
          f"relative distance between the weights trained by SGD with the penalty (λ/2)Σw² and "
          f"with weight decay λ = {CONFIG.decay:g}, same init and batches",
          f"per seed: below {CONFIG.same_below:g}", expected="holds"),
    Claim("l2_is_weight_decay_adam",
          "An L2 penalty on the weights is weight decay (with Adam: Adam + L2 = AdamW).",
          "Q9; C77", "relative distance between the weights trained by Adam with the penalty "
          "(λ/2)Σw² and by AdamW with decay λ",
          f"per seed: below {CONFIG.same_below:g} (the same) — above {CONFIG.differ_above:g} "
          "they are different methods", expected="does not hold"),
    Claim("regularization_helps_small_data",
          "L1/L2 regularization reduces overfitting: on few examples it raises test accuracy.",
          "§44.2.4; C35; C47; C72",
          f"test accuracy on {CONFIG.examples} training digits, λ picked on validation from "
          f"{CONFIG.strengths} for L1 and for L2, against λ = 0",
          f"per seed: the regularizer chosen on validation (L1 or L2) minus λ = 0 exceeds max({CONFIG.help_margin:g}, 2 × "
          "pooled seed std)", expected="subtle"),
    Claim("l1_gives_sparse_weights",
          "L1 drives weights to zero (sparse models); L2 only shrinks them.", "C35; C77",
          f"share of first-layer weights with |w| < {CONFIG.near_zero:g} after training with "
          f"L1 and with L2 at λ = {CONFIG.sparse_strength:g}",
          f"per seed: L1's share ≥ {CONFIG.sparsity_ratio:g}× L2's", expected="holds"),
)  # fmt: skip


def _bias_free(setting):
    from profond.labs import small_train as st
    from profond.labs.bias_role import strip_biases

    return lambda data, seed: strip_biases(st.build_model(setting, data, seed))


def _distance(setting_a, setting_b, data, seed: int) -> float:
    import torch

    from profond.labs import small_train as st

    a, b = (st.train(s, data, seed, model=_bias_free(s), task=sweeps.lean_task).model for s in (setting_a, setting_b))  # fmt: skip
    wa = torch.cat([p.detach().flatten() for p in a.parameters()])
    wb = torch.cat([p.detach().flatten() for p in b.parameters()])
    return float((wa - wb).norm() / wa.norm())


def _trajectories(c: Config, base, data, seed: int) -> dict:
    run = base.but(epochs=c.trajectory_epochs)
    sgd = run.but(optimizer="sgd", lr=c.sgd_lr)
    adam = run.but(optimizer="adam", lr=c.adam_lr)
    return {
        "sgd_l2_vs_decay": _distance(sgd.but(l2=c.decay / 2), sgd.but(weight_decay=c.decay), data, seed),
        "adam_l2_vs_adamw": _distance(adam.but(l2=c.decay / 2), adam.but(optimizer="adamw", weight_decay=c.decay), data, seed),
        "adam_l2_vs_adam_coupled_decay": _distance(adam.but(l2=c.decay / 2), adam.but(weight_decay=c.decay), data, seed),
        "adam_vs_adamw_no_decay": _distance(adam, adam.but(optimizer="adamw", weight_decay=0.0), data, seed),
    }  # fmt: skip


def _regularized(c: Config, base, data, seed: int) -> dict:
    """λ = 0, and the λ picked on validation for L1 and for L2, on a small training subset."""
    from profond.labs import small_train as st

    small = sweeps.subset(data, c.examples, seed)
    reg = base.but(optimizer="momentum", lr=c.reg_lr, epochs=c.reg_epochs)
    out: dict[str, Any] = {
        "none": st.train(reg, small, seed, task=sweeps.lean_task).test["test_accuracy"]
    }
    for kind in ("l1", "l2"):
        runs = [st.train(reg.but(**{kind: lam}), small, seed, task=sweeps.lean_task) for lam in c.strengths]  # fmt: skip
        best = sweeps.best_index(runs)
        out[kind] = runs[best].test["test_accuracy"]
        out[f"{kind}_lambda"] = c.strengths[best]
        out[f"{kind}_val_errors"] = [sweeps.val_error(r) for r in runs]
    # L1 or L2: the one with the lower validation error (never the test score) is "regularized"
    chosen = min(("l1", "l2"), key=lambda k: min(out[f"{k}_val_errors"]))
    out["chosen"], out["regularized"] = chosen, out[chosen]
    return out


def _sparsity(c: Config, base, data, seed: int) -> dict:
    from torch import nn

    from profond.labs import small_train as st

    reg = base.but(optimizer="sgd", lr=c.sgd_lr, epochs=c.reg_epochs)
    out: dict[str, Any] = {}
    for kind in ("l1", "l2"):
        model = st.train(reg.but(**{kind: c.sparse_strength}), data, seed, task=sweeps.lean_task).model  # fmt: skip
        first = next(m for m in model.modules() if isinstance(m, nn.Linear)).weight.detach()
        out[kind] = float((first.abs() < c.near_zero).float().mean())
        out[f"{kind}_weights"] = first.flatten().tolist()
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    base = st.Setting(model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})
    traj = [_trajectories(c, base, data, s) for s in ctx.seeds]
    regs = [_regularized(c, base, data, s) for s in ctx.seeds]
    sparse = [_sparsity(c, base, data, s) for s in ctx.seeds]
    helped = compare([r["regularized"] for r in regs], [r["none"] for r in regs], margin=c.help_margin)  # fmt: skip
    figure = _plot(c, regs, sparse, ctx)
    sgd_d = [t["sgd_l2_vs_decay"] for t in traj]
    adam_d = [t["adam_l2_vs_adamw"] for t in traj]
    shares = {k: [s[k] for s in sparse] for k in ("l1", "l2")}
    return Outcome([
        decide(CLAIMS[0], [d < c.same_below for d in sgd_d], {"per_seed": traj},
               summary=f"SGD: L2 penalty vs weight decay, relative weight distance {fmt_seeds(sgd_d)}"),
        decide(CLAIMS[1], [d < c.same_below for d in adam_d], {"per_seed": traj},
               summary=f"Adam + L2 vs AdamW: relative weight distance {fmt_seeds(adam_d)}; Adam + L2 vs Adam's own "
               f"weight_decay (coupled): {fmt_seeds([t['adam_l2_vs_adam_coupled_decay'] for t in traj])}"),
        decide(CLAIMS[2], helped.greater(), {**helped.to_json(), "per_seed": regs},
               summary=f"{c.examples} digits: L1 or L2 (chosen on validation: {[r['chosen'] for r in regs]}) {fmt_seeds(helped.a)} (λ L1 {[r['l1_lambda'] for r in regs]}, "
               f"L2 {[r['l2_lambda'] for r in regs]}) vs none {fmt_seeds(helped.b)}; counts beyond {helped.threshold:.4f}"),
        decide(CLAIMS[3], [a >= c.sparsity_ratio * max(b, 1e-12) for a, b in zip(shares["l1"], shares["l2"], strict=True)],
               {"near_zero_share": shares},
               summary=f"share of |w| < {c.near_zero:g}: L1 {fmt_seeds(shares['l1'])} vs L2 {fmt_seeds(shares['l2'])}"),
    ], [figure])  # fmt: skip


def _plot(c: Config, regs, sparse, ctx: LabContext):
    import numpy as np

    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_a, ax_h) = new_figure(ncols=2, width=5.5)
    seed_dots(ax_a, {"none": [r["none"] for r in regs], "L1 (tuned λ)": [r["l1"] for r in regs],
                     "L2 (tuned λ)": [r["l2"] for r in regs]}, f"test accuracy, {c.examples} digits")  # fmt: skip
    ax_a.set_ylim(0.8, 1.0)
    bins = np.linspace(-0.3, 0.3, 61)
    for kind, color in (("l1", "tab:red"), ("l2", "tab:blue")):
        for i, s in enumerate(sparse):
            ax_h.hist(s[f"{kind}_weights"], bins=bins, histtype="step", color=color, alpha=0.8,
                      label=f"{kind.upper()} λ={c.sparse_strength:g}" if i == 0 else None)  # fmt: skip
    ax_h.set_yscale("log")
    ax_h.set(xlabel="first-layer weight (one outline per seed)", ylabel="count")
    ax_h.legend(fontsize=8)
    return finish(fig, ctx.path("weight_decay_l1_l2.png"), "L1 / L2 / weight decay, every seed")


LAB = Lab(
    name="weight_decay_l1_l2",
    title="L2 is weight decay for SGD, not for Adam; L1 sparsifies; small gains on small data",
    claims=CLAIMS,
    setup="Standardized digits, profond's MLP family (64-64 ReLU) and Trainer. Trajectories: "
    "bias-free MLPs, 3 epochs, SGD (lr 0.1) with the penalty (λ/2)Σw² vs weight decay λ = 0.01, "
    "Adam (lr 1e-3) + penalty vs AdamW, same init and batches. Regularization: 300 training "
    "digits per seed, SGD with momentum (lr 0.05), 30 epochs, λ for L1 and for L2 picked on "
    "validation from 1e-4…1e-2. Sparsity: all training digits, SGD lr 0.1, λ = 1e-3, 30 epochs.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "l1",
        "l2",
        "weight decay",
        "régularisation",
        "regularization",
        "ridge",
        "lasso",
        "adamw",
        "overfitting",
    ),  # fmt: skip
    answers=("Q9", "C35", "C47", "C72", "C77"),
)
