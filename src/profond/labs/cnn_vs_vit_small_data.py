"""Lab: on small image data, does a CNN beat a Vision Transformer, and does the gap close with
more data?

Q121 and Q122: the CNN's inductive bias (locality, shared filters) stands in for data; a
Transformer assumes almost nothing about images, so it needs more of them (Dosovitskiy et al.,
2021, reached CNN accuracy only after pre-training on very large sets). The lab trains profond's
CNN and its tiny ViT (7x7 patches, 2 blocks) on Fashion-MNIST subsets of two sizes, each with
its learning rate tuned on the validation split of the small subset, and compares test accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

MODELS: dict[str, dict[str, Any]] = {
    "cnn": {"channels": (8, 16), "hidden_size": 64, "dropout": 0.0},
    "vit": {"d_model": 48, "num_heads": 4, "num_layers": 2, "dim_feedforward": 96, "dropout": 0.0},
}


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    sizes: tuple[int, ...] = (500, 1500)  # training subsets (20 % of each validates)
    n_test: int = 1000
    epochs: int = 6
    lr_grid: tuple[float, ...] = (1e-3, 3e-3)  # Adam; tuned per model on the smallest subset
    advantage: float = 0.03  # "CNN better": ahead by at least this at the largest size


CONFIG = Config()
FAITHFUL = Config(seeds=5, sizes=(500, 2000, 10000, 50000), n_test=5000, epochs=15)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "cnn_beats_vit_on_small_data",
            "On small image data a CNN is more accurate than a Vision Transformer.",
            "Q121; Q122; Q27",
            f"test accuracy on {max(c.sizes)} Fashion-MNIST images, CNN vs tiny ViT",
            f"holds for a seed if the CNN is ahead by at least {c.advantage:g}",
            expected="holds",
        ),
        Claim(
            "gap_shrinks_with_data",
            "The Transformer's handicap shrinks as the training set grows.",
            "Q122",
            f"CNN minus ViT test accuracy at {min(c.sizes)} and at {max(c.sizes)} images",
            "holds for a seed if the gap is smaller at the larger size",
            expected="subtle",
        ),
    )


CLAIMS = _claims(CONFIG)


def _setting(model: str, c: Config, lr: float):
    from profond.labs.small_train import Setting

    return Setting(model=model, model_options=MODELS[model], optimizer="adam", lr=lr,
                   epochs=c.epochs, batch_size=64)  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.data_small import fashion
    from profond.labs.small_train import build_model, train, tune_lr

    c: Config = ctx.config
    claims = _claims(c)
    bundles = {n: fashion(n_train=n, n_test=c.n_test) for n in c.sizes}
    small = bundles[min(c.sizes)]
    lrs = {m: tune_lr(_setting(m, c, c.lr_grid[0]), small, c.lr_grid, seed=ctx.seeds[0]).lr for m in MODELS}  # fmt: skip
    acc = {m: {n: [train(_setting(m, c, lrs[m]), bundles[n], s).test["test_accuracy"]
                   for s in ctx.seeds] for n in c.sizes} for m in MODELS}  # fmt: skip
    sizes = {m: sum(p.numel() for p in build_model(_setting(m, c, 1e-3), small, 0).parameters()) for m in MODELS}  # fmt: skip
    gap = {n: [a - b for a, b in zip(acc["cnn"][n], acc["vit"][n], strict=True)] for n in c.sizes}
    lo, hi = min(c.sizes), max(c.sizes)
    verdicts = [
        decide(claims[0], [g >= c.advantage for g in gap[hi]],
               {"test_accuracy": acc, "parameters": sizes, "lr": lrs},
               summary=f"at {hi} images: CNN {fmt_seeds(acc['cnn'][hi])}, ViT "
               f"{fmt_seeds(acc['vit'][hi])} ({sizes['cnn']:,} vs {sizes['vit']:,} parameters)."),
        decide(claims[1], [b < a for a, b in zip(gap[lo], gap[hi], strict=True)], {"gap": gap},
               summary=f"CNN - ViT: {fmt_seeds(gap[lo])} at {lo} images, {fmt_seeds(gap[hi])} at {hi}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(acc, c, ctx)])


def _plot(acc: dict, c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=5.5)
    for model, by_size in acc.items():
        per_seed = [[by_size[n][i] for n in c.sizes] for i in range(len(ctx.seeds))]
        seed_lines(ax, list(c.sizes), per_seed, model)
    ax.set_xscale("log")
    ax.set_xlabel("training images (incl. 20 % validation)")
    ax.set_ylabel("test accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return finish(fig, ctx.path("cnn_vs_vit.png"), "Fashion-MNIST: CNN vs tiny ViT by data size")


LAB = Lab(
    name="cnn_vs_vit_small_data",
    title="CNN vs Vision Transformer on small data",
    claims=CLAIMS,
    setup=(
        "Fashion-MNIST subsets of 500 and 1 500 images (20 % validation), 1 000 test images. "
        "profond's CNN (8-16 channels, 64-unit dense layer) and tiny ViT (7x7 patches, width 48, "
        "2 blocks, 4 heads), Adam with each model's lr tuned on the 500-image validation split "
        "from {1e-3, 3e-3}, 6 epochs, batch 64."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "vision transformer",
        "vit",
        "inductive bias",
        "biais inductif",
        "small data",
        "petites données",
    ),  # fmt: skip
    answers=("Q27", "Q109", "Q121", "Q122"),
)
