"""Lab: does a CNN use the spatial structure of images, and does that buy accuracy at equal size?

Course §44.3.1, Q37, Q90 and Q122: a CNN exploits local correlations with small filters shared
over the image, which makes it more efficient than an MLP on images. The lab trains profond's CNN
and an MLP of about the same number of parameters on a small Fashion-MNIST subset, once with the
images as they are and once with their pixels shuffled by one fixed permutation (the same for
every image, train and test). An MLP does not know which pixels are neighbours, so the shuffle
changes nothing for it; a CNN that relies on neighbourhoods should suffer. Each model's learning
rate is tuned on the validation split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

MODELS: dict[str, dict[str, Any]] = {
    # about 52 k parameters each: conv 8-16 + dense 64 vs one hidden layer of 64 units
    "cnn": {"channels": (8, 16), "hidden_size": 64, "dropout": 0.0},
    "mlp": {"hidden_sizes": (64,), "dropout": 0.0},
}


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    n_train: int = 2000  # Fashion-MNIST subset (20 % of it validates)
    n_test: int = 1000
    epochs: int = 6
    lr_grid: tuple[float, ...] = (1e-3, 3e-3)  # Adam; each model picks its own on validation
    structure_margin: float = 0.02  # the CNN must lose this much more than the MLP
    advantage: float = 0.01  # "CNN better": test accuracy higher by at least this


CONFIG = Config()
FAITHFUL = Config(seeds=5, n_train=10000, n_test=2000, epochs=15, lr_grid=(3e-4, 1e-3, 3e-3))


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "cnn_uses_spatial_structure",
            "A CNN exploits the spatial structure of images (neighbouring pixels); an MLP does not.",
            "§44.3.1; Q37; Q121",
            "test accuracy lost when the pixels are shuffled by a fixed permutation, CNN vs MLP",
            f"holds for a seed if the CNN loses at least {c.structure_margin:g} more than the MLP",
            expected="holds",
        ),
        Claim(
            "cnn_beats_mlp_at_equal_size",
            "With about as many parameters, a CNN is more accurate than an MLP on small image data.",
            "Q90; Q122; Q27",
            f"test accuracy of each on {c.n_train} Fashion-MNIST images (unshuffled)",
            f"holds for a seed if the CNN is ahead by at least {c.advantage:g}",
            expected="subtle",
        ),
    )


CLAIMS = _claims(CONFIG)


def permuted(data, seed: int):
    """``data`` with every image's pixels shuffled by one permutation drawn from ``seed``."""
    import dataclasses

    import torch

    side = data.input_shape[-1] * data.input_shape[-2]
    perm = torch.randperm(side, generator=torch.Generator().manual_seed(seed))

    def shuffle(x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2)[..., perm].reshape(x.shape)

    return dataclasses.replace(
        data, x_train=shuffle(data.x_train), x_val=shuffle(data.x_val), x_test=shuffle(data.x_test)
    )


def _setting(model: str, c: Config, lr: float):
    from profond.labs.small_train import Setting

    return Setting(model=model, model_options=MODELS[model], optimizer="adam", lr=lr,
                   epochs=c.epochs, batch_size=64)  # fmt: skip


def parameters(model: str, data) -> int:
    from profond.labs.small_train import build_model

    net = build_model(_setting(model, CONFIG, 1e-3), data, 0)
    return sum(p.numel() for p in net.parameters())


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.data_small import fashion
    from profond.labs.small_train import train, tune_lr

    c: Config = ctx.config
    claims = _claims(c)
    data = fashion(n_train=c.n_train, n_test=c.n_test)
    lrs = {m: tune_lr(_setting(m, c, c.lr_grid[0]), data, c.lr_grid, seed=ctx.seeds[0]).lr for m in MODELS}  # fmt: skip
    acc: dict[str, list[float]] = {}
    for model in MODELS:
        for shuffled in (False, True):
            key = f"{model}{' shuffled' if shuffled else ''}"
            acc[key] = []
            for seed in ctx.seeds:
                arm_data = permuted(data, seed) if shuffled else data
                run = train(_setting(model, c, lrs[model]), arm_data, seed)
                acc[key].append(run.test["test_accuracy"])
    cnn_drop = [a - b for a, b in zip(acc["cnn"], acc["cnn shuffled"], strict=True)]
    mlp_drop = [a - b for a, b in zip(acc["mlp"], acc["mlp shuffled"], strict=True)]
    ahead = [a - b for a, b in zip(acc["cnn"], acc["mlp"], strict=True)]
    sizes = {m: parameters(m, data) for m in MODELS}
    verdicts = [
        decide(claims[0], [x - y >= c.structure_margin for x, y in zip(cnn_drop, mlp_drop, strict=True)],
               {"test_accuracy": acc, "cnn_drop": cnn_drop, "mlp_drop": mlp_drop, "lr": lrs},
               summary=f"shuffling the pixels costs the CNN {fmt_seeds(cnn_drop)} and the MLP "
               f"{fmt_seeds(mlp_drop)} of test accuracy."),
        decide(claims[1], [d >= c.advantage for d in ahead],
               {"cnn_minus_mlp": ahead, "parameters": sizes, "lr": lrs},
               summary=f"CNN {fmt_seeds(acc['cnn'])} vs MLP {fmt_seeds(acc['mlp'])} "
               f"({sizes['cnn']:,} vs {sizes['mlp']:,} parameters; lr {lrs['cnn']:g} / {lrs['mlp']:g})."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(acc, data, ctx)])


def _plot(acc: dict[str, list[float]], data, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_bar, ax_img, ax_perm) = new_figure(ncols=3, width=4.0)
    seed_dots(ax_bar, acc, ylabel="test accuracy")
    ax_bar.set_ylim(0.5, 0.9)
    image = data.x_test[:1]
    ax_img.imshow(image[0, 0].numpy(), cmap="gray")
    ax_img.set_title("an image")
    ax_perm.imshow(permuted(data, ctx.seeds[0]).x_test[0, 0].numpy(), cmap="gray")
    ax_perm.set_title("its pixels shuffled")
    for ax in (ax_img, ax_perm):
        ax.set_xticks([])
        ax.set_yticks([])
    return finish(fig, ctx.path("inductive_bias.png"), "CNN vs MLP (same size), pixels in place or shuffled")  # fmt: skip


LAB = Lab(
    name="cnn_inductive_bias",
    title="Inductive bias of CNNs: shuffled pixels, and a CNN vs an MLP of the same size",
    claims=CLAIMS,
    setup=(
        "2 000 Fashion-MNIST images (1 600 train, 400 validation), 1 000 test images. profond's "
        "CNN (8-16 channels, batch norm, 64-unit dense layer) and MLP (one 64-unit layer), about "
        "52 k parameters each, Adam with the lr each picks on validation from {1e-3, 3e-3}, "
        "6 epochs, batch 64; the same data with its pixels shuffled by one fixed permutation."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "inductive bias",
        "biais inductif",
        "pixel permutation",
        "spatial structure",
        "structure spatiale",
    ),  # fmt: skip
    answers=("Q10", "Q27", "Q37", "Q90", "Q121", "Q122", "C56", "C57", "C74"),
)
