"""Lab: what U-Net's skip connections carry: fine detail at object boundaries.

Q13 and Q15: the skip connections of a U-Net pass the encoder's high-resolution features to the
decoder, which the bottleneck alone has lost, so the segmentation keeps precise contours. The
lab trains profond's U-Net on the generated ``shapes`` data with the Trainer, as is and with its
skips cut (the decoder receives zeros in their place: same layers, same parameters, no detail
from the encoder), and compares mIoU and pixel accuracy on and away from object boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    images: int = 800  # generated training images (20 % validate); 600 test images
    base_channels: int = 8
    epochs: int = 6
    lr: float = 3e-3  # Adam
    miou_drop: float = 0.05  # "skips matter": mIoU lower by at least this without them
    boundary_factor: float = 1.5  # ... and the boundary accuracy drop this x the interior one


CONFIG = Config()
FAITHFUL = Config(seeds=5, images=2400, base_channels=16, epochs=15)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "skips_improve_segmentation",
            "U-Net's skip connections improve the segmentation.",
            "Q13; Q15",
            "test mIoU with and without skips (same layers, same training)",
            f"holds for a seed if the mIoU falls by at least {c.miou_drop:g} without them",
            expected="holds",
        ),
        Claim(
            "skips_carry_boundaries",
            "What the skips bring is spatial detail: precise object contours.",
            "Q13; Q15",
            "pixel accuracy lost without skips on boundary pixels (a neighbour has another "
            "class) vs interior pixels",
            f"holds for a seed if the boundary loss is at least {c.boundary_factor:g}x the interior loss",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def make_unet(skips: bool, c: Config, data, seed: int):
    """profond's U-Net; without skips its decoder gets zeros where the encoder's maps were."""
    import torch

    from profond.models.unet import UNet, UNetConfig

    torch.manual_seed(seed)
    config = UNetConfig(
        in_channels=1, image_size=tuple(data.input_shape[1:]), num_classes=data.num_classes,
        base_channels=c.base_channels, skips=skips,
    )  # fmt: skip
    return UNet(config)


def boundary_mask(masks):
    """True where a pixel's 3x3 neighbourhood holds another class. Shape: ``(N, H, W)`` bool."""
    import torch.nn.functional as F

    m = masks.float().unsqueeze(1)
    high = F.max_pool2d(m, 3, stride=1, padding=1)
    low = -F.max_pool2d(-m, 3, stride=1, padding=1)
    return (high != low).squeeze(1)


def measure(skips: bool, c: Config, seed: int, data) -> dict[str, float]:
    import torch

    from profond.labs.small_train import Setting, train

    setting = Setting(model="unet", optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=32)
    run = train(setting, data, seed, model=lambda d, s: make_unet(skips, c, d, s))
    with torch.no_grad():
        right = run.model(data.x_test).argmax(1) == data.y_test
    edge = boundary_mask(data.y_test)
    return {
        "miou": run.test["test_miou"],
        "boundary_accuracy": float(right[edge].float().mean()),
        "interior_accuracy": float(right[~edge].float().mean()),
    }


def experiment(ctx: LabContext) -> Outcome:
    from profond.data.registry import DataOptions, load_dataset

    c: Config = ctx.config
    claims = _claims(c)
    data = load_dataset("shapes", DataOptions(limit=c.images, val_fraction=0.2))
    runs = {name: [measure(flag, c, s, data) for s in ctx.seeds]
            for name, flag in (("with skips", True), ("without skips", False))}  # fmt: skip
    w, wo = runs["with skips"], runs["without skips"]
    drop = [a["miou"] - b["miou"] for a, b in zip(w, wo, strict=True)]
    edge = [a["boundary_accuracy"] - b["boundary_accuracy"] for a, b in zip(w, wo, strict=True)]
    inner = [a["interior_accuracy"] - b["interior_accuracy"] for a, b in zip(w, wo, strict=True)]
    verdicts = [
        decide(claims[0], [d >= c.miou_drop for d in drop], {"per_seed": runs, "miou_drop": drop},
               summary=f"test mIoU with skips {fmt_seeds([r['miou'] for r in w])}, without "
               f"{fmt_seeds([r['miou'] for r in wo])}."),
        decide(claims[1], [e >= c.boundary_factor * max(i, 1e-3) for e, i in zip(edge, inner, strict=True)],
               {"boundary_drop": edge, "interior_drop": inner},
               summary=f"accuracy lost without skips: boundary pixels {fmt_seeds(edge)}, interior "
               f"pixels {fmt_seeds(inner)}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, ctx)])


def _plot(runs: dict, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, axes = new_figure(ncols=3, width=3.6)
    for ax, key in zip(axes, ("miou", "boundary_accuracy", "interior_accuracy"), strict=True):
        seed_dots(ax, {name: [r[key] for r in rs] for name, rs in runs.items()}, ylabel=key.replace("_", " "))  # fmt: skip
    return finish(fig, ctx.path("unet_skips.png"), "U-Net on shapes: with and without skip connections")  # fmt: skip


LAB = Lab(
    name="unet_skip_ablation",
    title="U-Net skip connections: ablation, boundaries vs interiors",
    claims=CLAIMS,
    setup=(
        "profond's generated shapes (800 images of 32x32, 20 % validation, 600 test). profond's "
        "U-Net (8 base channels, depth 2) trained by the Trainer (Adam 3e-3, 6 epochs, batch 32), "
        "as is and with zeros in place of its skip connections. Boundary pixels: a 3x3 "
        "neighbour of another class in the true mask."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("u-net", "unet", "skip connection", "segmentation"),
    answers=("Q13", "Q15"),
)
