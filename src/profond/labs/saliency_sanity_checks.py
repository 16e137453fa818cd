"""Lab: do saliency maps explain the model, or the image? Sanity checks with Captum.

Q25, Q112 and Q113: attribution maps show which pixels a prediction relies on. Adebayo et al.
(2018, "Sanity checks for saliency maps") proposed two checks used here: a map that explains the
model must change when the model's weights are replaced by random ones (the randomisation test),
and deleting the pixels it ranks highest should hurt the prediction more than deleting random
pixels. The lab trains profond's CNN on sklearn's digits with the Trainer and computes Captum's
Saliency (|gradient|) and Input × Gradient maps for the trained network and for the same
architecture with random weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

METHODS = ("saliency", "input_x_gradient")


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    epochs: int = 15
    lr: float = 3e-3  # Adam
    images: int = 200  # test images the maps are computed on
    similar: float = 0.5  # maps "the same" above this mean rank correlation
    deleted: float = 0.15  # share of pixels deleted by the deletion test
    deletion_margin: float = 0.05  # salient deletion must cost this much more accuracy


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=40, images=360)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "gradient_map_depends_on_weights",
            "A gradient saliency map explains the trained model: it changes when the weights "
            "are randomised.",
            "Q25; Q112",
            "mean Spearman correlation between the trained and the randomised network's "
            "|gradient| maps (Captum Saliency)",
            f"holds for a seed if below {c.similar:g}",
            expected="holds",
        ),
        Claim(
            "input_x_gradient_depends_on_weights",
            "An Input × Gradient map explains the trained model: it changes when the weights "
            "are randomised.",
            "Q25; Q112; Q113",
            "the same correlation for |Input × Gradient| maps",
            f"holds for a seed if below {c.similar:g}",
            expected="does not hold",
        ),
        Claim(
            "salient_pixels_matter",
            "The pixels a saliency map ranks highest are the ones the prediction needs.",
            "Q112; Q150",
            f"test accuracy after setting the top {c.deleted:.0%} pixels (by |gradient|) to the "
            "background, vs the same number of random pixels",
            f"holds for a seed if the salient deletion costs at least {c.deletion_margin:g} more",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def attribution(model, x, labels, method: str):
    """|attribution| maps. Shape: ``(N, 1, H, W)`` → ``(N, H*W)``."""
    from captum.attr import InputXGradient, Saliency

    explainer = Saliency(model) if method == "saliency" else InputXGradient(model)
    maps = explainer.attribute(x.clone().requires_grad_(True), target=labels)
    return maps.detach().abs().flatten(1)


def rank_correlation(a, b) -> float:
    """Mean over images of the Spearman correlation between two sets of maps ``(N, P)``."""
    import numpy as np
    from scipy.stats import spearmanr

    values = [spearmanr(u, v).statistic for u, v in zip(a.numpy(), b.numpy(), strict=True)]
    return float(np.nanmean(values))


def deletion_accuracy(model, x, labels, order, count: int, fill: float) -> float:
    """Accuracy after setting the first ``count`` pixels of ``order`` ``(N, P)`` to ``fill``."""
    import torch

    flat = x.flatten(1).clone()
    flat.scatter_(1, order[:, :count], fill)
    with torch.no_grad():
        return float((model(flat.view_as(x)).argmax(1) == labels).float().mean())


def measure_seed(c: Config, seed: int, data) -> tuple[dict[str, float], dict]:
    """The seed's numbers, and its trained and randomised models (for the figure)."""
    import torch

    from profond.labs.small_train import Setting, build_model, train

    setting = Setting(model="cnn", optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64,
                      model_options={"channels": (8, 16), "hidden_size": 32, "dropout": 0.0})  # fmt: skip
    trained = train(setting, data, seed).model.eval()
    randomised = build_model(setting, data, seed + 10_000).eval()  # same architecture, new weights
    x, y = data.x_test[: c.images], data.y_test[: c.images]
    out = {}
    for method in METHODS:
        out[method] = rank_correlation(
            attribution(trained, x, y, method), attribution(randomised, x, y, method)
        )
    pixels = x[0].numel()
    count = int(round(c.deleted * pixels))
    fill = float(data.preprocessing.apply(torch.zeros(1)))  # a raw-0 (background) pixel
    salient = attribution(trained, x, y, "saliency").argsort(dim=1, descending=True)
    random = torch.rand(len(x), pixels, generator=torch.Generator().manual_seed(seed)).argsort(1)
    with torch.no_grad():
        out["accuracy"] = float((trained(x).argmax(1) == y).float().mean())
    out["after_salient"] = deletion_accuracy(trained, x, y, salient, count, fill)
    out["after_random"] = deletion_accuracy(trained, x, y, random, count, fill)
    return out, {"trained": trained, "random weights": randomised}


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.small_train import digits

    c: Config = ctx.config
    claims = _claims(c)
    data = digits()
    measured = [measure_seed(c, seed, data) for seed in ctx.seeds]
    runs = [numbers for numbers, _ in measured]

    def col(key: str) -> list[float]:
        return [r[key] for r in runs]

    costs = [(r["after_random"] - r["after_salient"]) for r in runs]
    verdicts = [
        decide(claims[0], [v < c.similar for v in col("saliency")], {"spearman": col("saliency")},
               summary=f"trained vs randomised |gradient| maps: Spearman {fmt_seeds(col('saliency'))}."),
        decide(claims[1], [v < c.similar for v in col("input_x_gradient")],
               {"spearman": col("input_x_gradient")},
               summary=f"trained vs randomised |input × gradient| maps: Spearman "
               f"{fmt_seeds(col('input_x_gradient'))}."),
        decide(claims[2], [v >= c.deletion_margin for v in costs], {"per_seed": runs},
               summary=f"accuracy {fmt_seeds(col('accuracy'))} → {fmt_seeds(col('after_salient'))} "
               f"without the most salient {c.deleted:.0%} pixels, {fmt_seeds(col('after_random'))} "
               "without random ones."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(measured[0][1], data, ctx)])


def _plot(models: dict, data, ctx: LabContext):
    from profond.labs.figures import finish, new_figure

    x, y = data.x_test[:4], data.y_test[:4]
    fig, axes = new_figure(ncols=5, nrows=4, width=2.0, height=2.0)
    for i in range(4):
        row = axes[5 * i : 5 * i + 5]
        row[0].imshow(x[i, 0].numpy(), cmap="gray")
        row[0].set_title(f"digit {int(y[i])}", fontsize=8)
        cells = [(m, name) for name in models for m in METHODS]
        for ax, (method, name) in zip(row[1:], cells, strict=True):
            heat = attribution(models[name], x[i : i + 1], y[i : i + 1], method).view(8, 8)
            ax.imshow(heat.numpy(), cmap="hot")
            ax.set_title(f"{name}\n{method}", fontsize=7)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return finish(fig, ctx.path("saliency_maps.png"), "Captum maps: trained vs random weights")


LAB = Lab(
    name="saliency_sanity_checks",
    title="Saliency sanity checks: randomised weights and pixel deletion (Captum)",
    claims=CLAIMS,
    setup=(
        "sklearn digits, standardized. profond's CNN (8-16 channels, 32-unit dense layer) trained "
        "by the Trainer (Adam 3e-3, 15 epochs); the same architecture with fresh random weights "
        "is the randomised model. Captum Saliency and InputXGradient on 200 test digits; "
        "deletion: the top 15 % pixels by |gradient| (or random ones) set to the background."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "saliency",
        "saillance",
        "explainability",
        "explicabilité",
        "grad-cam",
        "attribution",
    ),  # fmt: skip
    answers=("Q25", "Q112", "Q113", "Q150"),
)
