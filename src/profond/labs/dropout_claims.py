"""Lab: what dropout does at test time, what it averages, and when it helps.

Course Q66 and TP Q1 (dropout is off at test time and the weights are rescaled — "Keras adjusts
the remaining weights"), §44.2.4 (the test-time network averages the thinned networks'
predictions), Q65 (it prevents co-adaptation: redundant, robust representations), C45/Q9/Q92
(it prevents overfitting). Networks come from profond's MLP family (its ``dropout`` option) and
are trained by profond's Trainer, each arm with its Adam learning rate tuned on validation.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    p: float = 0.5  # the course's "typical value"
    wide: int = 512
    wide_examples: int = 300  # few examples: the setting where dropout should help
    # pre-registered budget (fixed before the first run): 40 epochs; it fits the 60 s fast-mode
    # budget (about 25 s for the whole lab on 2 cores), faithful mode trains longer
    wide_epochs: int = 40
    narrow: int = 16  # under-fitting network on all the training examples
    narrow_epochs: int = 15
    lr_grid: tuple[float, ...] = (1e-3, 3e-3)  # Adam, tuned per arm on validation (first seed)
    mean_tolerance: float = 0.02  # train-mode mean within 2 % of the input's: inverted scaling
    mc_samples: int = 50
    mc_tolerance: float = 0.005  # |MC-average accuracy − test-time accuracy| within 0.5 point
    help_margin: float = 0.01  # an accuracy gain (or loss) of at least 1 point counts
    ablate: float = 0.3  # share of hidden units zeroed at test for the robustness probe
    robust_ratio: float = 0.5  # the dropout net loses at most this × the plain net's loss


CONFIG = Config()
FAITHFUL = Config(seeds=5, wide=1024, wide_epochs=80, narrow_epochs=40, lr_grid=(3e-4, 1e-3, 3e-3))
CLAIMS = (
    Claim("weights_rescaled_at_test",
          "At test time dropout is switched off and the weights are rescaled to compensate.",
          "Q66; TP Q1", "test-time output of a dropout-trained MLP against the same weights with "
          "the dropout layers removed; train-mode mean of a dropout layer's output over its input's",
          "per seed: the two test-time outputs differ (something is rescaled at test)",
          expected="does not hold"),
    Claim("test_net_averages_thinned_nets",
          "The test-time network approximates the average prediction of the thinned networks.",
          "§44.2.4", f"test accuracy with dropout off against the mean of {CONFIG.mc_samples} "
          "dropout masks' probabilities",
          f"per seed: accuracies within {CONFIG.mc_tolerance:g}", expected="holds"),
    Claim("dropout_prevents_overfitting",
          "Dropout reduces overfitting: a wide network trained on few examples tests better with it.",
          "C45; Q9; Q92", f"test accuracy of a {CONFIG.wide}-{CONFIG.wide} MLP on "
          f"{CONFIG.wide_examples} digits with p = 0 and p = {CONFIG.p:g}",
          f"per seed: p = {CONFIG.p:g} minus p = 0 exceeds max({CONFIG.help_margin:g}, 2 × pooled "
          "seed std)", expected="subtle"),
    Claim("dropout_helps_any_network",
          "Dropout helps generalization, whatever the network.", "C45; Q65; §44.2.4",
          f"test accuracy of a narrow {CONFIG.narrow}-{CONFIG.narrow} MLP on all training digits "
          f"with p = 0 and p = {CONFIG.p:g}",
          f"per seed: p = {CONFIG.p:g} does not lower the accuracy by more than "
          f"max({CONFIG.help_margin:g}, 2 × pooled seed std)", expected="does not hold"),
    Claim("dropout_makes_units_redundant",
          "Dropout prevents co-adaptation: the network survives losing hidden units.", "Q65",
          f"test accuracy lost when {CONFIG.ablate:.0%} of the hidden units are zeroed at test, "
          "wide MLPs trained with and without dropout",
          f"per seed: the dropout net loses at most {CONFIG.robust_ratio:g}× what the plain net loses",
          expected="holds"),
)  # fmt: skip


def _without_dropout(model):
    """A copy of ``model`` whose dropout layers are identities (same weights)."""
    import copy

    from torch import nn

    twin = copy.deepcopy(model)
    for name, module in list(twin.named_modules()):
        if isinstance(module, nn.Dropout):
            parent = twin.get_submodule(name.rsplit(".", 1)[0]) if "." in name else twin
            setattr(parent, name.rsplit(".", 1)[-1], nn.Identity())
    return twin.eval()


def _mechanics(model, data, c: Config, seed: int) -> dict:
    """Test-time output vs dropout removed; train-mode mean ratio; MC averaging."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    x, y = data.x_test, data.y_test
    model.eval()
    with torch.no_grad():
        out = model(x)
        diff = float((out - _without_dropout(model)(x)).abs().max())
        layer, probe = nn.Dropout(c.p).train(), torch.rand(20_000) + 0.5
        ratio = float(layer(probe).mean() / probe.mean())
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
        probs = torch.stack([model(x).softmax(1) for _ in range(c.mc_samples)]).mean(0)
        model.eval()
    acc = float((out.argmax(1) == y).float().mean())
    mc = float((probs.argmax(1) == y).float().mean())
    return {"max_abs_diff": diff, "train_mean_ratio": ratio, "test_acc": acc, "mc_acc": mc}


def _ablated_loss(model, data, c: Config, seed: int) -> float:
    """Test accuracy lost when a fixed random share of every hidden layer's units is zeroed."""
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(seed)
    twin = _without_dropout(model)
    clean = sweeps.accuracy(twin, data.x_test, data.y_test)
    for m in twin.modules():
        if isinstance(m, nn.ReLU):
            width = _width_after(twin, m)
            keep = (torch.rand(width, generator=generator) >= c.ablate).float()
            m.register_forward_hook(lambda _m, _i, out, keep=keep: out * keep)
    ablated = sweeps.accuracy(twin, data.x_test, data.y_test)
    return clean - ablated


def _width_after(model, activation) -> int:
    """The number of units an activation of ``model``'s body sees (the Linear before it)."""
    from torch import nn

    width = 0
    for m in model.modules():
        if isinstance(m, nn.Linear):
            width = m.out_features
        if m is activation:
            return width
    raise ValueError("activation not found in the model")


def _arms(c: Config, data, seeds, width: int, epochs: int, n: int | None) -> dict:
    from profond.labs import small_train as st

    out = {}
    for p in (0.0, c.p):
        setting = st.Setting(optimizer="adam", epochs=epochs,
                             model_options={"hidden_sizes": (width, width), "dropout": p})  # fmt: skip
        first = sweeps.subset(data, n, seeds[0]) if n else data
        lr = st.tune_lr(
            setting, first, c.lr_grid, seed=seeds[0], metric="val_error", task=sweeps.lean_task
        ).lr
        # each seed draws its own training subset (the same for both arms) at the tuned lr
        runs = [
            st.train(
                setting.but(lr=lr),
                sweeps.subset(data, n, s) if n else data,
                s,
                task=sweeps.lean_task,
            )
            for s in seeds
        ]
        lrs = [lr] * len(seeds)
        out[p] = {"runs": runs, "lr": lrs, "acc": [r.test["test_accuracy"] for r in runs]}
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    wide = _arms(c, data, ctx.seeds, c.wide, c.wide_epochs, c.wide_examples)
    narrow = _arms(c, data, ctx.seeds, c.narrow, c.narrow_epochs, None)
    mech = [_mechanics(r.model, data, c, s) for r, s in zip(wide[c.p]["runs"], ctx.seeds, strict=True)]  # fmt: skip
    robust = {p: [_ablated_loss(r.model, data, c, s) for r, s in zip(wide[p]["runs"], ctx.seeds, strict=True)] for p in (0.0, c.p)}  # fmt: skip
    gain_wide = compare(wide[c.p]["acc"], wide[0.0]["acc"], margin=c.help_margin)
    gain_narrow = compare(narrow[c.p]["acc"], narrow[0.0]["acc"], margin=c.help_margin)
    lrs = {f"{k} p={p:g}": v[p]["lr"] for k, v in (("wide", wide), ("narrow", narrow)) for p in v}
    figure = _plot(c, wide, narrow, robust, ctx)
    return Outcome([
        decide(CLAIMS[0], [m["max_abs_diff"] > 0 for m in mech], {"per_seed": mech},
               summary=f"max |test output − output without dropout layers| = {fmt_seeds([m['max_abs_diff'] for m in mech])}; "
               f"train-mode mean / input mean = {fmt_seeds([m['train_mean_ratio'] for m in mech], 4)} (inverted dropout: "
               f"kept units × 1/(1 − p) during training, nothing at test)"),
        decide(CLAIMS[1], [abs(m["mc_acc"] - m["test_acc"]) <= c.mc_tolerance for m in mech], {"per_seed": mech},
               summary=f"test accuracy, dropout off {fmt_seeds([m['test_acc'] for m in mech])} vs mean of "
               f"{c.mc_samples} masks {fmt_seeds([m['mc_acc'] for m in mech])}"),
        decide(CLAIMS[2], gain_wide.greater(), {**gain_wide.to_json(), "lr": lrs},
               summary=f"wide net on {c.wide_examples} digits, {c.wide_epochs} epochs: p = {c.p:g} {fmt_seeds(gain_wide.a)} vs p = 0 "
               f"{fmt_seeds(gain_wide.b)} (mean {gain_wide.mean_diff:+.4f}, counts beyond {gain_wide.threshold:.4f})"),
        decide(CLAIMS[3], [not x for x in gain_narrow.less()], {**gain_narrow.to_json(), "lr": lrs},
               summary=f"narrow net: p = {c.p:g} {fmt_seeds(gain_narrow.a)} vs p = 0 {fmt_seeds(gain_narrow.b)} "
               f"(mean {gain_narrow.mean_diff:+.4f}, counts beyond {gain_narrow.threshold:.4f})"),
        decide(CLAIMS[4], [d <= c.robust_ratio * max(p0, 0.0) for d, p0 in zip(robust[c.p], robust[0.0], strict=True)],
               {"loss_dropout": robust[c.p], "loss_plain": robust[0.0]},
               summary=f"accuracy lost with {c.ablate:.0%} of units zeroed: dropout net {fmt_seeds(robust[c.p])} vs "
               f"plain net {fmt_seeds(robust[0.0])}"),
    ], [figure])  # fmt: skip


def _plot(c: Config, wide, narrow, robust, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_a, ax_r) = new_figure(ncols=2, width=5.5)
    groups = {
        f"{k} p={p:g}": v[p]["acc"] for k, v in (("wide", wide), ("narrow", narrow)) for p in v
    }
    seed_dots(ax_a, groups, "test accuracy")
    ax_a.set_ylim(0.7, 1.0)
    seed_dots(ax_r, {f"p={p:g}": v for p, v in robust.items()}, f"accuracy lost, {c.ablate:.0%} units zeroed")  # fmt: skip
    return finish(fig, ctx.path("dropout_claims.png"), "Dropout: when it helps, every seed")


LAB = Lab(
    name="dropout_claims",
    title="Dropout: inverted scaling (nothing rescaled at test), averaging, and when it helps",
    claims=CLAIMS,
    setup="profond's MLP family on standardized digits, Adam (lr tuned per arm on validation "
    "from 1e-3 and 3e-3 on the first seed), profond's Trainer: a 512-512 MLP on 300 training "
    "digits drawn per seed (40 epochs) and a 16-16 MLP on all 1 150 (15 epochs), each with dropout p = 0 and p = 0.5. The "
    "dropout-trained wide net is compared at test time with its own copy whose dropout layers "
    "are removed, with the average of 50 dropout masks, and under the loss of 30 % of its units.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "dropout",
        "régularisation",
        "regularization",
        "overfitting",
        "surapprentissage",
        "co-adaptation",
    ),  # fmt: skip
    answers=("Q9", "Q65", "Q66", "Q92", "C45", "C68", "C72"),
)
