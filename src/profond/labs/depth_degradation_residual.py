"""Lab: past some depth a plain net trains worse (higher *training* loss); a residual net does
not; deeper is not always better.

Course Q13 (skip connections ease gradient flow and avoid degradation as the net deepens), Q62
(depth makes optimization hard), Q105 (skip connections as a remedy), Q149 (is a deeper network
always better? no), C63, C79 (ResNet without the degradation problem).
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    depths: tuple[int, ...] = (4, 12, 30)  # hidden layers; the first is the reference
    width: int = 64
    epochs: int = 8
    lr_grid: tuple[float, ...] = (0.01, 0.05)  # SGD + momentum, tuned on the plain reference
    loss_margin: float = 0.02  # a training-loss difference must exceed this (and 2 × seed std)
    residual_slack: float = 1.1  # residual deepest loss ≤ this × residual reference ...
    residual_abs: float = 0.02  # ... or reference + this, whichever is larger
    acc_margin: float = 0.01  # test-accuracy drop that counts


CONFIG = Config()
FAITHFUL = Config(seeds=5, depths=(2, 4, 8, 16, 32, 64), epochs=20)
CLAIMS = (
    Claim("plain_net_degrades",
          "Past some depth a plain network optimizes worse: its training loss is higher than a "
          "shallower one's (degradation, not overfitting).", "Q13; Q62; C79; W",
          "final training loss of plain He-initialized ReLU MLPs of growing depth (same lr, epochs)",
          f"per seed: deepest minus reference training loss > max({CONFIG.loss_margin:g}, 2 × pooled std)",
          expected="holds"),
    Claim("residual_avoids_degradation",
          "Skip connections remove the degradation: a deep residual net trains as well as a "
          "shallow one.", "Q13; Q105; C79",
          "final training loss of residual MLPs at the same depths",
          f"per seed: deepest ≤ max({CONFIG.residual_slack:g} × reference, reference + "
          f"{CONFIG.residual_abs:g})", expected="holds"),
    Claim("deeper_not_always_better",
          "A deeper network is not always better.", "Q149; Q62",
          "test accuracy of the plain net at the reference depth vs the deepest",
          f"per seed: reference minus deepest accuracy > max({CONFIG.acc_margin:g}, 2 × pooled std)",
          expected="holds"),
)  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st
    from profond.labs.models_small import residual_mlp

    c: Config = ctx.config
    data = st.digits()
    setting = st.Setting(optimizer="momentum", epochs=c.epochs)
    ref = c.depths[0]
    tuned = st.tune_lr(setting, data, c.lr_grid, seed=ctx.seeds[0],
                       model=residual_mlp(c.width, ref, skip=False))  # fmt: skip
    setting = setting.but(lr=tuned.lr)  # one lr for every depth and both arms, as in ResNet's study
    runs = {(skip, d): st.over_seeds(setting, data, ctx.seeds, model=residual_mlp(c.width, d, skip))
            for skip in (False, True) for d in c.depths}  # fmt: skip
    loss = {k: [r.last("train_loss") for r in rs] for k, rs in runs.items()}
    acc = {k: [r.test.get("test_accuracy", 0.0) for r in rs] for k, rs in runs.items()}
    deep = c.depths[-1]
    plain = compare(loss[(False, deep)], loss[(False, ref)], margin=c.loss_margin)
    res_ok = [d <= max(c.residual_slack * r, r + c.residual_abs)
              for d, r in zip(loss[(True, deep)], loss[(True, ref)], strict=True)]  # fmt: skip
    better = compare(acc[(False, ref)], acc[(False, deep)], margin=c.acc_margin)
    figure = _plot(loss, acc, ctx)
    return Outcome([
        decide(CLAIMS[0], plain.greater(), {**plain.to_json(), "lr": tuned.lr},
               summary=f"plain training loss at depth {ref}: {fmt_seeds(plain.b)}, at {deep}: "
               f"{fmt_seeds(plain.a)} (lr {tuned.lr:g})"),
        decide(CLAIMS[1], res_ok, {"reference": loss[(True, ref)], "deepest": loss[(True, deep)]},
               summary=f"residual training loss at depth {ref}: {fmt_seeds(loss[(True, ref)])}, at "
               f"{deep}: {fmt_seeds(loss[(True, deep)])}"),
        decide(CLAIMS[2], better.greater(), {**better.to_json(), "by_depth": {str(d): acc[(False, d)] for d in c.depths}},
               summary=f"plain test accuracy by depth {list(c.depths)}: "
               + "; ".join(fmt_seeds(acc[(False, d)]) for d in c.depths)),
    ], [figure])  # fmt: skip


def _plot(loss, acc, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    c: Config = ctx.config
    fig, (ax_l, ax_a) = new_figure(ncols=2, width=5.2)
    n = len(ctx.seeds)
    for skip, name in ((False, "plain"), (True, "residual")):
        per_seed_loss = [[loss[(skip, d)][i] for d in c.depths] for i in range(n)]
        per_seed_acc = [[acc[(skip, d)][i] for d in c.depths] for i in range(n)]
        seed_lines(ax_l, list(c.depths), per_seed_loss, name, log=True)
        seed_lines(ax_a, list(c.depths), per_seed_acc, name)
    ax_l.set(xlabel="hidden layers", ylabel="final training loss")
    ax_a.set(xlabel="hidden layers", ylabel="test accuracy")
    for ax in (ax_l, ax_a):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return finish(
        fig, ctx.path("depth_residual.png"), "Plain vs residual MLPs by depth, every seed"
    )


LAB = Lab(
    name="depth_degradation_residual",
    title="Depth: plain nets degrade, residual nets do not",
    claims=CLAIMS,
    setup="Plain (He init) and residual (zero-initialized pre-activation blocks) ReLU MLPs of "
    "width 64 and depth 4, 12 and 30 on standardized digits; SGD + momentum for 8 epochs at one "
    "lr, tuned on the plain depth-4 net (profond's Trainer).",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "resnet",
        "residual",
        "résiduel",
        "skip connection",
        "dégradation",
        "degradation",
        "profondeur",
        "depth",
    ),  # fmt: skip
    answers=("Q13", "Q62", "Q105", "Q149", "C63", "C79"),
)
