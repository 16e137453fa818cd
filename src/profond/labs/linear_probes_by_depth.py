"""Lab: do deeper layers of a CNN hold more linearly readable class information?

Course §44.3.1 and Q58: a deep network builds a hierarchy, simple features (edges) first, then
parts, then objects. A linear probe (:mod:`profond.models.probe`) measures how much of the class
a logistic regression can read from each layer's activations (Alain & Bengio, 2016). The lab
trains profond's CNN on a Fashion-MNIST subset and probes the pixels, each convolution block and
the dense layer; the same probes on the untrained network tell what training added.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

LAYERS = ("input", "blocks.0", "blocks.1", "blocks.2", "dense")  # "input": the pixels


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    n_train: int = 2000  # Fashion-MNIST subset the CNN trains on (20 % validates)
    n_test: int = 1000  # the probes train on the CNN's training images, test on these
    probe_train: int = 1000  # training images the probes fit on
    epochs: int = 6
    lr: float = 2e-3  # Adam
    monotone_tol: float = 0.01  # a probe may dip this much below the previous layer's
    gain: float = 0.03  # "more readable": the last layer beats the pixels by this


CONFIG = Config()
FAITHFUL = Config(seeds=5, n_train=10000, n_test=2000, probe_train=5000, epochs=15)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "deeper_is_more_decodable",
            "A trained CNN's deeper layers hold more class information in a linearly readable "
            "form: a hierarchy from simple to abstract features.",
            "§44.3.1; Q58",
            "test accuracy of a logistic-regression probe on the pixels, after each of 3 conv "
            "blocks and after the dense layer",
            f"holds for a seed if it never drops by more than {c.monotone_tol:g} from one layer "
            f"to the next and the last layer beats the pixels by at least {c.gain:g}",
            expected="holds",
        ),
        Claim(
            "hierarchy_is_learned",
            "The gain with depth comes from training, not from the architecture alone.",
            "§44.3.1; Q58",
            "the same probes on the untrained CNN (same seed)",
            f"holds for a seed if the untrained last layer beats the pixels by less than {c.gain:g}",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def probe_network(model, data, c: Config, seed: int) -> list[float]:
    """Probe test accuracy at every layer of ``LAYERS``, in order."""
    from profond.models.probe import fit_probe, layer_features

    train_x, train_y = data.x_train[: c.probe_train], data.y_train[: c.probe_train]
    out = []
    for layer in LAYERS:
        if layer == "input":
            f_train, f_test = train_x.flatten(1), data.x_test.flatten(1)
        else:
            f_train = layer_features(model, layer, train_x)
            f_test = layer_features(model, layer, data.x_test)
        out.append(fit_probe(f_train, train_y, f_test, data.y_test, layer, seed=seed).test_accuracy)
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.data_small import fashion
    from profond.labs.small_train import Setting, build_model, train

    c: Config = ctx.config
    claims = _claims(c)
    data = fashion(n_train=c.n_train, n_test=c.n_test)
    setting = Setting(
        model="cnn", optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64,
        model_options={"channels": (8, 16, 32), "hidden_size": 64, "dropout": 0.0},
    )  # fmt: skip
    trained, untrained = [], []
    for seed in ctx.seeds:
        untrained.append(probe_network(build_model(setting, data, seed).eval(), data, c, seed))
        trained.append(probe_network(train(setting, data, seed).model, data, c, seed))

    def monotone(accs: list[float]) -> bool:
        steps_ok = all(b >= a - c.monotone_tol for a, b in zip(accs, accs[1:], strict=False))
        return steps_ok and accs[-1] - accs[0] >= c.gain

    gains_random = [a[-1] - a[0] for a in untrained]
    verdicts = [
        decide(claims[0], [monotone(a) for a in trained], {"layers": LAYERS, "trained": trained},
               summary="probe accuracy, pixels → dense, per seed: "
               + "; ".join(fmt_seeds(a) for a in trained) + "."),
        decide(claims[1], [g < c.gain for g in gains_random], {"layers": LAYERS, "untrained": untrained},
               summary="untrained network: " + "; ".join(fmt_seeds(a) for a in untrained)
               + f" (last minus pixels {fmt_seeds(gains_random)})."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(trained, untrained, ctx)])


def _plot(trained: list[list[float]], untrained: list[list[float]], ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=6.0)
    positions = list(range(len(LAYERS)))
    seed_lines(ax, positions, trained, "trained CNN")
    seed_lines(ax, positions, untrained, "untrained CNN")
    ax.set_xticks(positions, ["pixels", "conv block 1", "conv block 2", "conv block 3", "dense"])
    ax.set_ylabel("linear probe test accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return finish(fig, ctx.path("probes_by_depth.png"), "Fashion-MNIST: what a linear probe reads at each depth")  # fmt: skip


LAB = Lab(
    name="linear_probes_by_depth",
    title="Linear probes by depth: is the representation a hierarchy?",
    claims=CLAIMS,
    setup=(
        "profond's CNN (8-16-32 channels, batch norm, 64-unit dense layer) trained on 2 000 "
        "Fashion-MNIST images (Adam 2e-3, 6 epochs). Logistic-regression probes (scikit-learn, "
        "standardized features) fit on 1 000 of its training images and are tested on 1 000 test "
        "images, at the pixels, after each conv block and after the dense layer; the same probes "
        "on the untrained network of the same seed."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "hierarchy",
        "hiérarchie",
        "linear probe",
        "sonde linéaire",
    ),  # fmt: skip
    answers=("Q12", "Q57", "Q58", "C63"),
)
