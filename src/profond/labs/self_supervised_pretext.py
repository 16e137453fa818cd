"""Lab: does a pretext task on unlabelled images give better features when labels are few?

Q59 and Q98: self-supervised learning makes up labels from the data itself (here: by how much an
image was rotated, Gidaris et al. 2018) so that a network learns features without annotation;
a few labelled images then suffice on top. The lab trains profond's CNN with the Trainer to
predict the rotation (0, 90, 180, 270 degrees) of unlabelled Fashion-MNIST images, freezes it,
and fits a linear probe (:mod:`profond.models.probe`) on 100 labelled images; the same probe on
the same CNN with random weights, and on raw pixels, are the baselines.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    unlabelled: int = 2000  # images the pretext task trains on (20 % validate)
    labelled: int = 100  # labelled images the probe fits on
    n_test: int = 1000
    epochs: int = 6
    lr: float = 2e-3  # Adam
    gain: float = 0.02  # "better features": probe accuracy higher by at least this


CONFIG = Config()
FAITHFUL = Config(seeds=5, unlabelled=10000, labelled=500, n_test=2000, epochs=15)
LAYER = "dense"  # the CNN's 64-unit layer before the head


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "pretext_beats_random_init",
            "Pre-training on a pretext task (rotation prediction) gives better features for a few "
            "labels than the same network untrained.",
            "Q59; Q98",
            f"test accuracy of a linear probe on {c.labelled} labelled images, pre-trained vs "
            "random-weight CNN features",
            f"holds for a seed if higher by at least {c.gain:g}",
            expected="subtle",
        ),
        Claim(
            "pretext_beats_pixels",
            "Pretext features are better than the raw pixels for a few labels.",
            "Q98",
            "the same probe on the pre-trained features vs on the pixels",
            f"holds for a seed if higher by at least {c.gain:g}",
            expected="subtle",
        ),
    )


CLAIMS = _claims(CONFIG)


def rotation_bundle(data, seed: int):
    """The training and validation images, each turned by a random multiple of 90 degrees;
    the label is the number of quarter turns (the original labels are dropped)."""
    import dataclasses

    import torch

    g = torch.Generator().manual_seed(seed)

    def turn(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = torch.randint(4, (len(x),), generator=g)
        turned = torch.stack([torch.rot90(img, int(q), dims=(1, 2)) for img, q in zip(x, k, strict=True)])  # fmt: skip
        return turned, k

    x_train, y_train = turn(data.x_train)
    x_val, y_val = turn(data.x_val)
    x_test, y_test = turn(data.x_test)
    return dataclasses.replace(
        data, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test,
        y_test=y_test, classes=["0", "90", "180", "270"],
    )  # fmt: skip


def probe_accuracies(c: Config, seed: int, data) -> dict[str, float]:
    from profond.labs.small_train import Setting, build_model, train
    from profond.models.probe import fit_probe, layer_features

    setting = Setting(model="cnn", optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64,
                      model_options={"channels": (8, 16), "hidden_size": 64, "dropout": 0.0})  # fmt: skip
    pretext = train(setting, rotation_bundle(data, seed), seed)
    random = build_model(setting, data, seed).eval()
    x, y = data.x_train[: c.labelled], data.y_train[: c.labelled]
    out = {"rotation_accuracy": pretext.test["test_accuracy"]}
    for name, model in (("pretext", pretext.model), ("random", random)):
        train_f, test_f = layer_features(model, LAYER, x), layer_features(model, LAYER, data.x_test)
        out[name] = fit_probe(train_f, y, test_f, data.y_test, seed=seed).test_accuracy
    out["pixels"] = fit_probe(x.flatten(1), y, data.x_test.flatten(1), data.y_test, seed=seed).test_accuracy  # fmt: skip
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.data_small import fashion

    c: Config = ctx.config
    claims = _claims(c)
    data = fashion(n_train=c.unlabelled, n_test=c.n_test)
    runs = [probe_accuracies(c, seed, data) for seed in ctx.seeds]

    def col(key: str) -> list[float]:
        return [r[key] for r in runs]

    verdicts = [
        decide(claims[0], [r["pretext"] - r["random"] >= c.gain for r in runs], {"per_seed": runs},
               summary=f"probe accuracy with {c.labelled} labels: pre-trained {fmt_seeds(col('pretext'))}, "
               f"random weights {fmt_seeds(col('random'))} (rotation accuracy "
               f"{fmt_seeds(col('rotation_accuracy'))})."),
        decide(claims[1], [r["pretext"] - r["pixels"] >= c.gain for r in runs], {"per_seed": runs},
               summary=f"pre-trained {fmt_seeds(col('pretext'))} vs pixels {fmt_seeds(col('pixels'))}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, ctx)])


def _plot(runs: list[dict], ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax,) = new_figure(width=5.5)
    groups = {"pixels": [r["pixels"] for r in runs], "random CNN": [r["random"] for r in runs],
              "rotation-pretrained CNN": [r["pretext"] for r in runs]}  # fmt: skip
    seed_dots(ax, groups, ylabel="linear probe test accuracy")
    ax.set_ylim(0.3, 0.9)
    return finish(fig, ctx.path("pretext_probe.png"), "Fashion-MNIST, 100 labels: features compared")  # fmt: skip


LAB = Lab(
    name="self_supervised_pretext",
    title="Self-supervised pretext (rotation) vs no pre-training, with few labels",
    claims=CLAIMS,
    setup=(
        "2 000 unlabelled Fashion-MNIST images, each turned by 0/90/180/270 degrees; profond's "
        "CNN (8-16 channels, 64-unit dense layer) learns the rotation with the Trainer (Adam "
        "2e-3, 6 epochs). Logistic-regression probes on its dense layer, fitted on 100 labelled "
        "images and tested on 1 000; baselines: the same CNN with random weights, raw pixels."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("self-supervised", "auto-supervisé", "pretext task", "tâche prétexte", "few labels"),
    answers=("Q59", "Q98"),
)
