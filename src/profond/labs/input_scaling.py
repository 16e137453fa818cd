"""Lab: how input scaling changes training with SGD.

Course Q28 (bad preprocessing can prevent convergence), Q29 (standardization is often preferable
to min-max scaling for ReLU networks), C44 (a BatchNorm layer right after the input replaces
normalizing the data). Digits come from profond's data registry with its ``normalization``
options (``none``: raw 0–16 pixels; ``minmax``: [0, 1]; ``standard``: zero mean, unit variance
over the training split); a 64-64 MLP trains with plain SGD by profond's Trainer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (64, 64)
    epochs: int = 10
    lr_grid: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
    blowup: float = 100.0  # raw pixels × this: badly scaled inputs
    stalled_error: float = 0.5  # "does not converge": validation error above this, or diverged
    speed_margin: float = 0.005  # mean validation error over epochs: smallest gap that counts
    # pre-registered rule (fixed before the first run): BatchNorm at the input "replaces"
    # standardization when its accuracy is within this of the standardized one's, either way
    bn_tolerance: float = 0.01


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=30)
CLAIMS = (
    Claim("bad_scaling_prevents_convergence",
          "Badly scaled inputs can prevent convergence.", "Q28",
          f"validation error of SGD on raw pixels × {CONFIG.blowup:g} at the lr tuned for min-max "
          "inputs", f"per seed: diverged or validation error > {CONFIG.stalled_error:g}",
          expected="holds"),
    Claim("standardization_beats_minmax",
          "Standardization (zero mean, unit variance) trains better than min-max scaling to [0, 1].",
          "Q29", "mean validation error over the epochs, each scaling with its own tuned lr",
          f"per seed: min-max minus standardized exceeds max({CONFIG.speed_margin:g}, 2 × pooled "
          "seed std)", expected="holds"),
    Claim("input_batchnorm_replaces_normalization",
          "A BatchNorm layer right after the input makes normalizing the data unnecessary.", "C44",
          "test accuracy on raw pixels with a BatchNorm1d first layer vs standardized inputs "
          "without it, each with its own tuned lr",
          f"per seed: BatchNorm's accuracy is within {CONFIG.bn_tolerance:g} of the standardized "
          "one's, either way (a replacement gives the same result)",
          expected="holds"),
)  # fmt: skip


def _blown_up(data, factor: float):
    return dataclasses.replace(data, x_train=data.x_train * factor, x_val=data.x_val * factor,
                               x_test=data.x_test * factor)  # fmt: skip


def _with_input_bn(setting):
    from torch import nn

    from profond.labs import small_train as st

    def factory(data, seed):
        body = st.build_model(setting, data, seed)
        return nn.Sequential(nn.Flatten(), nn.BatchNorm1d(int(data.x_train[0].numel())), body)

    return factory


def _arm(setting, data, seeds, grid, **kwargs) -> dict:
    import numpy as np

    from profond.labs import small_train as st

    tuned, runs = st.tuned_over_seeds(setting, data, seeds, grid, metric="val_error", task=sweeps.lean_task, **kwargs)  # fmt: skip
    curves = [[1 - a for a in r.history.get("val_accuracy", [])] for r in runs]
    return {
        "lr": tuned.lr,
        "curves": curves,
        "auc": [float(np.mean(cv)) if cv and not r.diverged else 1.0 for cv, r in zip(curves, runs, strict=True)],
        "test": [r.test.get("test_accuracy", 0.0) for r in runs],
        "final_error": [sweeps.val_error(r) for r in runs],
    }  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    base = st.Setting(optimizer="sgd", epochs=c.epochs,
                      model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    raw = st.digits(normalization="none")
    arms = {
        "minmax": _arm(base, st.digits(normalization="minmax"), ctx.seeds, c.lr_grid),
        "standard": _arm(base, st.digits(normalization="standard"), ctx.seeds, c.lr_grid),
        "raw+batchnorm": _arm(base, raw, ctx.seeds, c.lr_grid, model=_with_input_bn(base)),
    }
    reused = (arms["minmax"]["lr"],)
    arms[f"raw×{c.blowup:g}"] = _arm(base, _blown_up(raw, c.blowup), ctx.seeds, reused)
    bad = arms[f"raw×{c.blowup:g}"]["final_error"]
    speed = compare(arms["minmax"]["auc"], arms["standard"]["auc"], margin=c.speed_margin)
    bn = compare(arms["raw+batchnorm"]["test"], arms["standard"]["test"])
    lrs = {k: v["lr"] for k, v in arms.items()}
    figure = _plot(c, arms, ctx)
    return Outcome([
        decide(CLAIMS[0], [e > c.stalled_error for e in bad], {"val_error": bad, "lr": reused[0]},
               summary=f"raw × {c.blowup:g} at lr {reused[0]:g}: final validation error {fmt_seeds(bad)} (inf: diverged)"),
        decide(CLAIMS[1], speed.greater(), {**speed.to_json(), "lr": lrs},
               summary=f"mean validation error over {c.epochs} epochs: min-max {fmt_seeds(speed.a)} vs standardized "
               f"{fmt_seeds(speed.b)} (tuned lrs {lrs})"),
        decide(CLAIMS[2], [abs(d) <= c.bn_tolerance for d in bn.diffs], {**bn.to_json(), "lr": lrs},
               summary=f"test accuracy raw + BatchNorm {fmt_seeds(bn.a)} vs standardized {fmt_seeds(bn.b)}"),
    ], [figure])  # fmt: skip


def _plot(c: Config, arms: dict, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=6.5)
    for name, arm in arms.items():
        curves = [cv for cv in arm["curves"] if cv]
        if curves:
            seed_lines(
                ax, list(range(1, c.epochs + 1)), curves, f"{name} (lr {arm['lr']:g})", log=True
            )
    ax.set(xlabel="epoch", ylabel="validation error")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, ctx.path("input_scaling.png"), "Input scaling with SGD, every seed")


LAB = Lab(
    name="input_scaling",
    title="Input scaling: raw, ×100, min-max, standardized, BatchNorm at the input (SGD)",
    claims=CLAIMS,
    setup="Digits from profond's data registry with normalization none (0–16), minmax and "
    "standard (global mean and std of the training split); a 64-64 ReLU MLP, plain SGD, 10 "
    "epochs of batches of 64, profond's Trainer; each arm's lr tuned on validation (first seed) "
    "from 0.003…1, except raw × 100, which reuses min-max's lr; one arm prepends BatchNorm1d to "
    "the MLP on raw pixels.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "normalisation",
        "normalization",
        "standardisation",
        "standardization",
        "prétraitement",
        "preprocessing",
        "mise à l'échelle",
        "scaling",
    ),  # fmt: skip
    answers=("Q28", "Q29", "C44"),
    fast=True,
)
