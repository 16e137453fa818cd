"""Lab: is a CNN translation-invariant, or only its convolutions translation-equivariant?

Course §44.3.1 and Q38: thanks to weight sharing and pooling a CNN recognises a pattern
"whatever its position"; Q11 and C61: pooling makes it more robust to translations. The lab
checks the exact property (a stride-1 convolution commutes with shifts; a stride-2 one does not),
then trains profond's CNN with and without max-pooling on a Fashion-MNIST subset and measures its
test accuracy on images shifted by 0 to 6 pixels, and the share of predictions that change under
a one-pixel shift (Azulay & Weiss, 2019, found such flips common in large CNNs too).
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

ARMS = {"max-pooling": 2, "no pooling": 1}  # arm -> pool_size of the CNN family


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    n_train: int = 2000  # Fashion-MNIST subset (20 % of it validates)
    n_test: int = 1000
    shifts: tuple[int, ...] = (0, 1, 2, 3, 4, 6)  # pixels, applied right and down
    channels: tuple[int, ...] = (8, 16)
    epochs: int = 6
    lr: float = 2e-3  # Adam
    invariance_drop: float = 0.10  # "invariant" if accuracy falls by at most this at 4 px ...
    flip_share: float = 0.05  # ... and a 1-px shift changes at most this share of predictions
    equivariance_tol: float = 1e-5


CONFIG = Config()
FAITHFUL = Config(seeds=5, n_train=10000, n_test=2000, epochs=15, channels=(16, 32))


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "convolution_equivariant",
            "A convolution is translation-equivariant: shifting the input shifts its output.",
            "§44.3.1; Q38",
            "max |conv(shift(x)) - shift(conv(x))| with circular padding, stride 1 and stride 2",
            f"holds for a seed if the stride-1 error < {c.equivariance_tol:g} (stride 2 is reported)",
            expected="holds",
        ),
        Claim(
            "cnn_translation_invariant",
            "A CNN recognises a pattern whatever its position, thanks to weight sharing and pooling.",
            "§44.3.1; Q38; Q11",
            "test accuracy of the max-pooling CNN at a 4-px shift; share of predictions changed "
            "by a 1-px shift",
            f"holds for a seed if accuracy falls by <= {c.invariance_drop:g} at 4 px and < "
            f"{c.flip_share:.0%} of predictions change at 1 px",
            expected="does not hold",
        ),
        Claim(
            "pooling_adds_robustness",
            "Pooling makes a CNN more robust to small translations.",
            "Q11; C61; C71",
            "mean accuracy drop over shifts 1-4 px, max-pooling CNN vs the same CNN without pooling",
            "holds for a seed if the pooled CNN's drop is smaller",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def shift_images(x, pixels: int, fill: float):
    """Move images ``pixels`` right and down; uncovered pixels get ``fill`` (the background).

    Shape: ``(N, C, H, W)`` → ``(N, C, H, W)``.
    """
    import torch

    if pixels == 0:
        return x
    out = torch.full_like(x, fill)
    out[..., pixels:, pixels:] = x[..., :-pixels, :-pixels]
    return out


def equivariance_errors(seed: int) -> dict[str, float]:
    """Max error of "shift then convolve" vs "convolve then shift" (circular shifts)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    x = torch.randn(4, 1, 28, 28)
    errors = {}
    for stride in (1, 2):
        conv = nn.Conv2d(1, 8, 3, stride=stride, padding=1, padding_mode="circular")
        with torch.no_grad():
            shifted_first = conv(torch.roll(x, shifts=(1, 1), dims=(2, 3)))
            out = conv(x)
            # the output grid is coarser by the stride: a 1-px input shift is 1/stride output px
            shifted_after = torch.roll(out, shifts=(1 // stride, 1 // stride), dims=(2, 3))
        errors[f"stride_{stride}"] = float((shifted_first - shifted_after).abs().max())
    return errors


def measure_arm(pool_size: int, c: Config, seed: int, data) -> dict[str, list[float]]:
    """Train the CNN with ``pool_size``; accuracy per shift and the share flipped at 1 px."""
    import torch

    from profond.labs.small_train import Setting, train

    setting = Setting(
        model="cnn", optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64,
        model_options={"channels": c.channels, "pool_size": pool_size, "hidden_size": 64,
                       "dropout": 0.0},
    )  # fmt: skip
    model = train(setting, data, seed).model
    fill = float(data.preprocessing.apply(torch.zeros(1)))  # a raw-0 (background) pixel
    with torch.no_grad():
        predictions = [model(shift_images(data.x_test, s, fill)).argmax(1) for s in c.shifts]
        flipped = model(shift_images(data.x_test, 1, fill)).argmax(1) != predictions[0]
    return {
        "accuracy": [float((p == data.y_test).float().mean()) for p in predictions],
        "flipped_1px": [float(flipped.float().mean())],
    }


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.data_small import fashion

    c: Config = ctx.config
    claims = _claims(c)
    data = fashion(n_train=c.n_train, n_test=c.n_test)
    equi = [equivariance_errors(seed) for seed in ctx.seeds]
    runs = {arm: [measure_arm(p, c, seed, data) for seed in ctx.seeds] for arm, p in ARMS.items()}
    at4 = c.shifts.index(4)
    pooled = runs["max-pooling"]
    drop4 = [r["accuracy"][0] - r["accuracy"][at4] for r in pooled]
    flips = [r["flipped_1px"][0] for r in pooled]
    small = [i for i, s in enumerate(c.shifts) if 1 <= s <= 4]

    def mean_drop(r: dict[str, list[float]]) -> float:
        return sum(r["accuracy"][0] - r["accuracy"][i] for i in small) / len(small)

    drops = {arm: [mean_drop(r) for r in rs] for arm, rs in runs.items()}
    accuracy = {arm: [r["accuracy"] for r in rs] for arm, rs in runs.items()}
    verdicts = [
        decide(claims[0], [e["stride_1"] < c.equivariance_tol for e in equi], {"errors": equi},
               summary=f"stride 1: max error {fmt_seeds([e['stride_1'] for e in equi])}; "
               f"stride 2: {fmt_seeds([e['stride_2'] for e in equi])} (not equivariant)."),
        decide(claims[1], [d <= c.invariance_drop and f < c.flip_share for d, f in zip(drop4, flips, strict=True)],
               {"accuracy_drop_at_4px": drop4, "flipped_at_1px": flips, "shifts": c.shifts,
                "accuracy": accuracy},
               summary=f"pooled CNN loses {fmt_seeds(drop4)} accuracy at 4 px; a 1-px shift "
               f"changes {fmt_seeds(flips)} of its test predictions."),
        decide(claims[2], [p < u for p, u in zip(drops["max-pooling"], drops["no pooling"], strict=True)],
               {"mean_drop_1_to_4px": drops},
               summary=f"mean drop over 1-4 px: max-pooling {fmt_seeds(drops['max-pooling'])}, "
               f"no pooling {fmt_seeds(drops['no pooling'])}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(accuracy, c, ctx)])


def _plot(accuracy: dict[str, list[list[float]]], c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=6.0)
    for arm, per_seed in accuracy.items():
        seed_lines(ax, list(c.shifts), per_seed, f"CNN, {arm}")
    ax.set_xlabel("shift (pixels right and down)")
    ax.set_ylabel("test accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return finish(fig, ctx.path("accuracy_vs_shift.png"), "Fashion-MNIST: accuracy of shifted test images")  # fmt: skip


LAB = Lab(
    name="translation_invariance",
    title="Translation: equivariant convolutions, not invariant CNNs",
    claims=CLAIMS,
    setup=(
        "A random 3x3 convolution (circular padding) checks equivariance at stride 1 and 2. "
        "profond's CNN (8-16 channels, batch norm, 64-unit dense layer) with 2x2 max-pooling or "
        "none, trained on 2 000 Fashion-MNIST images (Adam 2e-3, 6 epochs, same data and budget), "
        "is tested on 1 000 test images shifted 0-6 px right and down (background fill)."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("translation", "invariance", "equivariance", "équivariance", "pooling", "shift"),
    answers=("Q11", "Q38", "Q70", "C61", "C66", "C71"),
)
