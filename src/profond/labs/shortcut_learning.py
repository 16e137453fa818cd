"""Lab: a network takes the shortcut: a spurious marker that predicts the label in training.

Q114, Q115 and Q147: a model can learn a cue that happens to correlate with the label in the
training data (a watermark, a background) instead of the object, and fails when the correlation
breaks; attribution maps can reveal it. The lab puts a bright pixel in the top row of every
training digit, at the column given by its label (labels 8 and 9 in the bottom row), trains
profond's MLP with the Trainer, and tests it on digits with no marker and with markers moved to a
wrong label's place; a model trained on clean digits is the reference. Captum's saliency then
says how much of the gradient falls on the marker pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    epochs: int = 20
    lr: float = 3e-3  # Adam
    collapse: float = 0.3  # "fails": accuracy with misleading markers this far below clean
    saliency_share: float = 0.2  # "revealed": the marker pixels get this share of |gradient|


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=60)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "shortcut_is_learned",
            "A network learns a spurious cue that predicts the label in training, and fails when "
            "the cue lies.",
            "Q114; Q115; Q147",
            "test accuracy with markers moved to a wrong label vs a clean-trained model on clean digits",
            f"holds for a seed if it is lower by at least {c.collapse:g}",
            expected="holds",
        ),
        Claim(
            "saliency_reveals_shortcut",
            "An attribution map shows what the network relies on: here, the marker.",
            "Q53; Q114",
            "share of |∂logit/∂pixel| (Captum Saliency) on the 10 marker pixels, marked test digits",
            f"holds for a seed if at least {c.saliency_share:g} (the 10 pixels are 16 % of the image)",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def marker_places():
    """(row, column) of the marker of each label 0..9 on the 8x8 grid."""
    return [(0, c) for c in range(8)] + [(7, 0), (7, 7)]


def mark(x, labels):
    """Copies of images ``x`` ``(N, 1, 8, 8)`` with a bright pixel at ``labels``' places."""
    import torch

    out = x.clone()
    places = torch.tensor(marker_places())
    rows, cols = places[labels, 0], places[labels, 1]
    out[torch.arange(len(x)), 0, rows, cols] = float(x.max())
    return out


def shortcut_bundle(data):
    import dataclasses

    return dataclasses.replace(
        data, x_train=mark(data.x_train, data.y_train), x_val=mark(data.x_val, data.y_val)
    )


def saliency_share(model, x, labels) -> float:
    """Mean share of |saliency| that falls on the 10 marker pixels (Captum)."""
    import torch
    from captum.attr import Saliency

    grads = Saliency(model).attribute(x.clone().requires_grad_(True), target=labels).abs()
    mask = torch.zeros(8, 8)
    for r, col in marker_places():
        mask[r, col] = 1.0
    per_image = (grads[:, 0] * mask).flatten(1).sum(1) / grads.flatten(1).sum(1).clamp_min(1e-12)
    return float(per_image.mean())


def measure_seed(c: Config, seed: int, data) -> dict[str, float]:
    import torch

    from profond.labs.small_train import Setting, train

    setting = Setting(model="mlp", model_options={"hidden_sizes": (64,), "dropout": 0.0},
                      optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64)  # fmt: skip
    clean_model = train(setting, data, seed).model
    shortcut_model = train(setting, shortcut_bundle(data), seed).model
    wrong = (data.y_test + 1 + torch.randint(9, data.y_test.shape, generator=torch.Generator().manual_seed(seed))) % 10  # fmt: skip

    def accuracy(model, x) -> float:
        with torch.no_grad():
            return float((model(x).argmax(1) == data.y_test).float().mean())

    return {
        "clean_model_clean": accuracy(clean_model, data.x_test),
        "shortcut_model_marked": accuracy(shortcut_model, mark(data.x_test, data.y_test)),
        "shortcut_model_clean": accuracy(shortcut_model, data.x_test),
        "shortcut_model_misleading": accuracy(shortcut_model, mark(data.x_test, wrong)),
        "saliency_on_marker": saliency_share(
            shortcut_model, mark(data.x_test, data.y_test), data.y_test
        ),  # fmt: skip
        "saliency_on_marker_clean_model": saliency_share(
            clean_model, mark(data.x_test, data.y_test), data.y_test
        ),  # fmt: skip
    }


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.small_train import digits

    c: Config = ctx.config
    claims = _claims(c)
    data = digits(normalization="minmax")
    runs = [measure_seed(c, seed, data) for seed in ctx.seeds]

    def col(key: str) -> list[float]:
        return [r[key] for r in runs]

    gaps = [r["clean_model_clean"] - r["shortcut_model_misleading"] for r in runs]
    verdicts = [
        decide(claims[0], [g >= c.collapse for g in gaps], {"per_seed": runs, "gap": gaps},
               summary=f"shortcut-trained MLP: {fmt_seeds(col('shortcut_model_marked'))} with true "
               f"markers, {fmt_seeds(col('shortcut_model_clean'))} without, "
               f"{fmt_seeds(col('shortcut_model_misleading'))} with misleading ones; clean-trained "
               f"MLP on clean digits {fmt_seeds(col('clean_model_clean'))}."),
        decide(claims[1], [s >= c.saliency_share for s in col("saliency_on_marker")],
               {"share": col("saliency_on_marker"), "clean_model_share": col("saliency_on_marker_clean_model")},
               summary=f"saliency share on the marker pixels: {fmt_seeds(col('saliency_on_marker'))} "
               f"(clean-trained model: {fmt_seeds(col('saliency_on_marker_clean_model'))})."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, ctx)])


def _plot(runs: list[dict], ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax,) = new_figure(width=6.5)
    groups = {
        "clean model,\nclean digits": [r["clean_model_clean"] for r in runs],
        "shortcut model,\ntrue marker": [r["shortcut_model_marked"] for r in runs],
        "shortcut model,\nno marker": [r["shortcut_model_clean"] for r in runs],
        "shortcut model,\nmisleading marker": [r["shortcut_model_misleading"] for r in runs],
    }
    seed_dots(ax, groups, ylabel="test accuracy")
    ax.set_ylim(0, 1.05)
    return finish(fig, ctx.path("shortcut.png"), "Digits with a label-revealing pixel in training")


LAB = Lab(
    name="shortcut_learning",
    title="Shortcut learning: a spurious marker learned instead of the digit",
    claims=CLAIMS,
    setup=(
        "sklearn digits in [0, 1]. Every training (and validation) image gets its brightest value "
        "at a pixel whose place encodes the label; profond's MLP (64 units) trained by the "
        "Trainer (Adam 3e-3, 20 epochs) with and without the markers, tested on 360 digits "
        "with true, no and misleading markers; Captum Saliency on the marked test digits."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "shortcut",
        "spurious correlation",
        "corrélation fallacieuse",
        "saliency",
    ),  # fmt: skip
    answers=("Q53", "Q114", "Q115", "Q147"),
)
