"""Lab: what the bias buys — a lot for one neuron, little for a deep net on centred data.

Course §44.1.1 (the bias shifts the decision boundary), Q2 (without bias the model must pass
through the origin, which "strongly reduces" its capacity), C33 (without bias a neuron with a
zero input always outputs zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    neuron_no_bias_at_most: float = 0.75  # one neuron without bias: accuracy at most this
    neuron_bias_at_least: float = 0.98  # ... with bias: at least this
    hidden_sizes: tuple[int, ...] = (64, 64)
    epochs: int = 20
    lr_grid: tuple[float, ...] = (1e-3, 3e-3)  # Adam, tuned per arm on validation
    strong_drop: float = 0.02  # "strongly reduces": test accuracy drop beyond 2 points


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=40, lr_grid=(3e-4, 1e-3, 3e-3))
CLAIMS = (
    Claim("neuron_needs_bias",
          "Without a bias a neuron's decision boundary must pass through the origin; the bias "
          "shifts it.", "§44.1.1; Q2",
          "test accuracy of one neuron with and without bias on two blobs at (2, 2) and (4, 4)",
          f"per seed: without bias ≤ {CONFIG.neuron_no_bias_at_most:g} and with bias ≥ "
          f"{CONFIG.neuron_bias_at_least:g}", expected="holds"),
    Claim("zero_input_zero_output",
          "Without bias, a neuron with a zero input always outputs zero.", "C33",
          "output at x = 0 of bias-free neurons with ReLU, tanh and sigmoid activations",
          "per seed: the output is exactly 0 for all three activations", expected="does not hold"),
    Claim("no_bias_strongly_reduces_capacity",
          "Removing the biases strongly reduces a network's capacity (its accuracy).", "Q2",
          "test accuracy of a 64-64 ReLU MLP on standardized digits with and without every bias "
          "(each arm's Adam lr tuned on validation)",
          f"per seed: with-bias minus without-bias accuracy > max({CONFIG.strong_drop:g}, "
          "2 × pooled seed std)", expected="does not hold"),
)  # fmt: skip


def _neuron(seed: int) -> dict[str, float]:
    import torch
    from torch import nn

    from profond.labs import small_train as st
    from profond.labs.toy import blobs, classification_bundle, sequential

    centers = [(2.0, 2.0), (4.0, 4.0)]  # the separating line misses the origin
    data = classification_bundle("blobs", blobs(200, centers, 0.5, seed), blobs(1000, centers, 0.5, 10_000 + seed))  # fmt: skip
    out = {}
    for bias in (True, False):

        def neuron(_data, s, bias=bias):
            torch.manual_seed(s)
            return sequential(nn.Linear(2, 2, bias=bias))

        run = st.train(st.Setting(optimizer="adam", lr=0.05, epochs=60, batch_size=50), data, seed, model=neuron)  # fmt: skip
        out["with_bias" if bias else "without_bias"] = run.test["test_accuracy"]
    return out


def _zero_input(seed: int) -> dict[str, float]:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    outputs = {}
    for name, act in (("relu", nn.ReLU()), ("tanh", nn.Tanh()), ("sigmoid", nn.Sigmoid())):
        layer = nn.Linear(5, 1, bias=False)
        with torch.no_grad():
            outputs[name] = float(act(layer(torch.zeros(1, 5))).item())
    return outputs


def strip_biases(model):
    """Remove every Linear layer's bias (the forward then computes ``x @ W.T``)."""
    from torch import nn

    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            layer.register_parameter("bias", None)
    return model


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    neurons = [_neuron(s) for s in ctx.seeds]
    zeros = [_zero_input(s) for s in ctx.seeds]
    data = st.digits(normalization="standard")
    setting = st.Setting(optimizer="adam", epochs=c.epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    arms: dict[str, dict[str, Any]] = {}
    for name, factory in (("with_bias", None),
                          ("without_bias", lambda d, s: strip_biases(st.build_model(setting, d, s)))):  # fmt: skip
        tuned, runs = st.tuned_over_seeds(setting, data, ctx.seeds, c.lr_grid, model=factory)
        arms[name] = {"lr": tuned.lr, "acc": [r.test["test_accuracy"] for r in runs]}
    drop = compare(arms["with_bias"]["acc"], arms["without_bias"]["acc"], margin=c.strong_drop)
    figure = _plot(neurons, arms, ctx)
    return Outcome([
        decide(CLAIMS[0], [n["without_bias"] <= c.neuron_no_bias_at_most and n["with_bias"] >= c.neuron_bias_at_least for n in neurons],
               {"runs": neurons}, summary="one neuron, accuracy with / without bias: " + "; ".join(
                   f"{n['with_bias']:.3f} / {n['without_bias']:.3f}" for n in neurons)),
        decide(CLAIMS[1], [all(v == 0.0 for v in z.values()) for z in zeros], {"outputs": zeros},
               summary="output at x = 0: " + ", ".join(f"{k} {v:g}" for k, v in zeros[0].items())
               + " (every seed alike: σ(0) = 0.5)"),
        decide(CLAIMS[2], drop.greater(), {**drop.to_json(), "lr": {k: v["lr"] for k, v in arms.items()}},
               summary=f"digits test accuracy with biases {fmt_seeds(drop.a)} vs without "
               f"{fmt_seeds(drop.b)}: mean drop {drop.mean_diff:+.4f} (counts beyond {drop.threshold:.3f})"),
    ], [figure])  # fmt: skip


def _plot(neurons, arms, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_n, ax_d) = new_figure(ncols=2, width=5.0)
    seed_dots(ax_n, {"neuron + bias": [n["with_bias"] for n in neurons],
                     "neuron, no bias": [n["without_bias"] for n in neurons]}, "test accuracy (blobs)")  # fmt: skip
    seed_dots(ax_d, {f"{k} (lr {v['lr']:g})": v["acc"] for k, v in arms.items()}, "test accuracy (digits)")  # fmt: skip
    ax_d.set_ylim(0.9, 1.0)
    return finish(fig, ctx.path("bias_role.png"), "The bias: one neuron vs a 64-64 MLP, every seed")


LAB = Lab(
    name="bias_role",
    title="The bias: essential for one neuron, minor for a deep net on centred data",
    claims=CLAIMS,
    setup="One linear neuron (2 logits) with/without bias on two Gaussian blobs at (2, 2) and "
    "(4, 4); bias-free neurons with ReLU/tanh/sigmoid at x = 0; a 64-64 ReLU MLP on standardized "
    "digits with and without every bias, each arm with its Adam lr tuned on validation "
    "(profond's Trainer, 20 epochs).",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("bias", "biais", "perceptron", "neurone", "neuron"),
    answers=("Q2", "C33"),
    fast=True,
)
