"""Lab: a perceptron cannot learn XOR; stacked linear layers stay linear; a hidden layer or an
engineered feature solves XOR.

Course §44.1.1 (perceptron, XOR), §44.1.2 and Q4 (a composition of linear maps is linear), C39
(new features allow simpler models). The perceptron is profond's NumPy one (``profond.scratch``);
the networks are trained by profond's Trainer on generated data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    perceptron_epochs: int = 100  # XOR must still make errors after this many epochs
    separable_within: int = 20  # AND/OR must converge within this many epochs
    points: int = 200  # noisy XOR / moons training points
    noise: float = 0.2
    linear_gap: float = 0.02  # deep-linear vs logistic regression: within this accuracy
    collapse_tol: float = 1e-9  # |deep net - its collapsed affine map|, float64
    inits: int = 8  # XOR nets trained per seed (different initializations)
    solved_at_least: int = 7  # of ``inits``: the 8-unit net must solve XOR this often
    epochs: int = 150  # full-batch epochs for the XOR nets
    lr_grid: tuple[float, ...] = (0.01, 0.05)  # Adam lrs tried for each moons arm


CONFIG = Config()
FAITHFUL = Config(seeds=5, inits=20, solved_at_least=19, epochs=300)
CLAIMS = (
    Claim("perceptron_linear_only",
          "A perceptron learns linearly separable problems (AND, OR) but never XOR.",
          "§44.1.1; Q1", "perceptron errors per epoch on AND, OR, XOR (4 points, shuffled)",
          f"per seed: 0 errors on AND and OR within {CONFIG.separable_within} epochs, and an "
          f"error in every one of {CONFIG.perceptron_epochs} epochs on XOR", expected="holds"),
    Claim("linear_layers_collapse",
          "Without a non-linear activation a deep network is equivalent to one linear model.",
          "§44.1.2; Q4; C24; C37",
          "a 4-layer identity-activation net vs logistic regression on two moons (test accuracy), "
          "and max |net(x) − (W4W3W2W1x + b)| in float64",
          f"per seed: accuracies within {CONFIG.linear_gap:g} and the collapse error < "
          f"{CONFIG.collapse_tol:g}", expected="holds"),
    Claim("hidden_layer_solves_xor",
          "One hidden layer with a non-linearity solves XOR.",
          "§44.1.1; Q1; C39",
          f"share of {CONFIG.inits} initializations where an 8-unit tanh net reaches 100 % "
          "training accuracy on noisy XOR (the 2-unit minimal net is reported)",
          f"per seed: at least {CONFIG.solved_at_least}/{CONFIG.inits} solved", expected="holds"),
    Claim("feature_engineering_linearizes_xor",
          "An engineered feature (x1·x2) lets a linear model solve XOR.",
          "C39; C34; Q59", "test accuracy of logistic regression on (x1, x2, x1·x2), noisy XOR",
          "per seed: test accuracy ≥ 0.99", expected="holds"),
)  # fmt: skip


def _perceptron(seed: int, config: Config) -> dict[str, list[int]]:
    from profond.scratch.perceptron import Perceptron

    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    targets = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}
    out = {}
    for name, y in targets.items():
        p = Perceptron(2, max_epochs=config.perceptron_epochs, shuffle=True, seed=seed)
        out[name] = list(p.fit(x, np.array(y)).errors_per_epoch)
    return out


def _deep_linear(seed: int, config: Config) -> dict[str, float]:
    import torch
    from torch import nn

    from profond.labs import small_train as st
    from profond.labs.toy import classification_bundle, moons, sequential

    data = classification_bundle("moons", moons(config.points, 0.2, seed),
                                 moons(1000, 0.2, 10_000 + seed), val=moons(200, 0.2, 20_000 + seed))  # fmt: skip
    setting = st.Setting(optimizer="adam", epochs=60, batch_size=50)

    def deep(_data, s):
        torch.manual_seed(s)
        return sequential(*(nn.Linear(a, b) for a, b in ((2, 16), (16, 16), (16, 16), (16, 2))))

    # each arm gets its own lr, picked on the validation points
    _, (net,) = st.tuned_over_seeds(setting, data, [seed], config.lr_grid, model=deep)
    _, (logreg,) = st.tuned_over_seeds(setting, data, [seed], config.lr_grid, model=linear_model)
    layers = [m for m in net.model.modules() if isinstance(m, nn.Linear)]
    weight, bias = torch.eye(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    for layer in layers:  # compose x ↦ Wx + b layer by layer into one affine map
        w, b = layer.weight.double(), layer.bias.double()
        weight, bias = w @ weight, w @ bias + b
    x = data.x_test.double()
    with torch.no_grad():
        direct = net.model.double()(x)
    collapse = (direct - (x @ weight.T + bias)).abs().max().item()
    return {"deep_linear_acc": net.test["test_accuracy"], "logreg_acc": logreg.test["test_accuracy"],
            "collapse_error": collapse}  # fmt: skip


def _xor_nets(seed: int, config: Config) -> dict[str, float]:
    import torch
    from torch import nn

    from profond.labs import small_train as st
    from profond.labs.toy import classification_bundle, sequential, xor_points

    train = xor_points(config.points, config.noise, seed)
    data = classification_bundle("xor", train, xor_points(1000, config.noise, 10_000 + seed))
    setting = st.Setting(optimizer="adam", lr=0.05, epochs=config.epochs, batch_size=config.points)
    solved = {}
    for width in (2, 8):
        wins = 0
        for i in range(config.inits):

            def net(_data, s, w=width):
                torch.manual_seed(s)
                return sequential(nn.Linear(2, w), nn.Tanh(), nn.Linear(w, 2))

            run = st.train(setting, data, seed * 1000 + i, model=net)
            with torch.no_grad():
                acc = (run.model(data.x_train).argmax(1) == data.y_train).float().mean().item()
            wins += acc == 1.0
        solved[f"solved_{width}"] = wins

    def with_product(x: np.ndarray) -> np.ndarray:
        return np.column_stack([x, x[:, 0] * x[:, 1]])

    fe_data = classification_bundle(
        "xor-feature",
        (with_product(train[0]), train[1]),
        (with_product(data.x_test.numpy()), data.y_test.numpy()),
    )
    fe = st.train(setting.but(lr=0.1), fe_data, seed, model=linear_model)
    return {**solved, "feature_acc": fe.test["test_accuracy"]}


def linear_model(data, seed: int):
    """Logistic regression as a module: one Linear layer from the inputs to the classes."""
    import torch
    from torch import nn

    from profond.labs.toy import sequential

    torch.manual_seed(seed)
    return sequential(nn.Linear(data.input_shape[0], data.num_classes))


def experiment(ctx: LabContext) -> Outcome:
    import torch

    c: Config = ctx.config
    torch.set_num_threads(1)
    perc = [_perceptron(s, c) for s in ctx.seeds]
    lin = [_deep_linear(s, c) for s in ctx.seeds]
    xor = [_xor_nets(s, c) for s in ctx.seeds]
    figure = _plot(perc, lin, xor, ctx)
    sep_ok = [max(len(p["AND"]), len(p["OR"])) <= c.separable_within and p["AND"][-1] == 0
              and p["OR"][-1] == 0 and min(p["XOR"]) > 0 for p in perc]  # fmt: skip
    lin_ok = [abs(r["deep_linear_acc"] - r["logreg_acc"]) <= c.linear_gap
              and r["collapse_error"] < c.collapse_tol for r in lin]  # fmt: skip
    return Outcome([
        decide(CLAIMS[0], sep_ok, {"epochs_and": [len(p["AND"]) for p in perc],
               "epochs_or": [len(p["OR"]) for p in perc], "xor_min_errors": [min(p["XOR"]) for p in perc]},
               summary=f"AND converged in {[len(p['AND']) for p in perc]} epochs, OR in "
               f"{[len(p['OR']) for p in perc]}; XOR's fewest errors in an epoch: {[min(p['XOR']) for p in perc]}"),
        decide(CLAIMS[1], lin_ok, {"runs": lin},
               summary="deep-linear vs logistic accuracy " + "; ".join(
                   f"{r['deep_linear_acc']:.3f} vs {r['logreg_acc']:.3f} (collapse {r['collapse_error']:.1e})" for r in lin)),
        decide(CLAIMS[2], [r["solved_8"] >= c.solved_at_least for r in xor], {"runs": xor},
               summary=f"8 units solved XOR in {[r['solved_8'] for r in xor]} of {c.inits} inits per "
               f"seed; the minimal 2-unit net in {[r['solved_2'] for r in xor]}"),
        decide(CLAIMS[3], [r["feature_acc"] >= 0.99 for r in xor], {"feature_acc": [r["feature_acc"] for r in xor]},
               summary=f"logistic regression on (x1, x2, x1·x2): test accuracy {[round(r['feature_acc'], 3) for r in xor]}"),
    ], [figure])  # fmt: skip


def _plot(perc, lin, xor, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_p, ax_l, ax_x) = new_figure(ncols=3, width=4.6)
    for name in ("AND", "OR", "XOR"):
        curves = [p[name] for p in perc]
        seed_lines(ax_p, list(range(1, max(map(len, curves)) + 1)), curves, name)
    ax_p.set(xlabel="epoch", ylabel="perceptron errors", xscale="log", title="perceptron")
    ax_p.legend(fontsize=7)
    seed_dots(ax_l, {"4 linear layers": [r["deep_linear_acc"] for r in lin],
                     "logistic": [r["logreg_acc"] for r in lin]}, "test accuracy (moons)")  # fmt: skip
    ax_l.set_ylim(0.5, 1.0)
    seed_dots(ax_x, {"2 tanh units": [r["solved_2"] for r in xor], "8 tanh units": [r["solved_8"] for r in xor]},
              f"XOR solved (of {ctx.config.inits} inits)")  # fmt: skip
    return finish(fig, ctx.path("xor_linearity.png"), "Linearity and XOR, every seed")


LAB = Lab(
    name="xor_and_linearity",
    title="XOR: the perceptron's limit, linear stacks, hidden layers and engineered features",
    claims=CLAIMS,
    setup="Perceptron (profond.scratch) on the 4-point AND/OR/XOR tables; a 4-layer identity-"
    "activation net and a logistic regression on 200 noisy two-moons points; 2- and 8-unit tanh "
    "nets and a logistic regression on (x1, x2, x1·x2) on 200 noisy XOR points (Adam, full batch, "
    "profond's Trainer).",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "xor",
        "perceptron",
        "linéairement séparable",
        "linearly separable",
        "non-linéarité",
        "non-linearity",
        "feature engineering",
    ),  # fmt: skip
    answers=("Q1", "Q4", "Q59", "C24", "C32", "C34", "C37", "C39"),
    fast=False,
)
