"""Lab: what the Fréchet distance (FID) sees in a set of images, and what it misses.

Q20, Q110 and Q111: a generative model is hard to evaluate; FID compares the feature statistics
of generated and real images. The lab scores sets of Fashion-MNIST images that stand for
generators whose faults are known, with profond's own FID (:mod:`profond.train.gan_quality`,
features of a classifier trained on the same data): held-out real images (the ideal), the same
images with growing noise or blur, a set that drops half the classes, and a "memoriser" that
returns training images.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    n_train: int = 2000  # the classifier's (and the memoriser's) images
    reference: int = 1000  # real test images every set is compared with
    samples: int = 1000  # images per scored set
    noise: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)  # std of the added noise (pixels in [0, 1])
    blur_passes: tuple[int, ...] = (1, 2, 4)  # 3x3 box blurs applied in a row
    kept_classes: int = 5  # the class-dropping set keeps this many classes
    dropped_factor: float = 3.0  # "penalised": FID at least this x the held-out real set's
    memoriser_factor: float = 2.0  # "tells copies apart": memoriser's FID this x the real set's


CONFIG = Config()
FAITHFUL = Config(seeds=5, n_train=10000, reference=5000, samples=5000)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "fid_grows_with_degradation",
            "FID worsens as generated images degrade.",
            "Q20; Q110",
            f"FID of held-out real images with noise std {', '.join(map(str, c.noise))} and "
            f"with {', '.join(map(str, c.blur_passes))} blur passes",
            "holds for a seed if FID rises strictly with the noise and with the blur",
            expected="holds",
        ),
        Claim(
            "fid_penalises_dropped_classes",
            "FID penalises a generator that covers only part of the data (mode dropping).",
            "Q20; Q44",
            f"FID of real images from {c.kept_classes} of the 10 classes vs of all classes",
            f"holds for a seed if at least {c.dropped_factor:g}x higher",
            expected="holds",
        ),
        Claim(
            "fid_rewards_new_images",
            "A good FID means the model makes new images: copying the training set does not "
            "score well.",
            "Q20; Q111",
            "FID of training images (a memoriser) vs held-out real images",
            f"holds for a seed if the memoriser's FID is at least {c.memoriser_factor:g}x higher",
            expected="does not hold",
        ),
    )


CLAIMS = _claims(CONFIG)


def blur(x, passes: int):
    """``passes`` 3x3 box blurs. Shape: ``(N, C, H, W)`` → same."""
    import torch.nn.functional as F

    for _ in range(passes):
        x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    return x


def score_sets(c: Config, seed: int, data) -> dict[str, float]:
    """FID of every stand-in generator against the first ``reference`` test images."""
    import torch

    from profond.train.gan_quality import QualityConfig, QualityScorer, quality_classifier

    classifier = quality_classifier(data, QualityConfig(seed=seed))
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(data.x_test), generator=g)
    reference, held = order[: c.reference], order[c.reference : c.reference + c.samples]
    scorer = QualityScorer(classifier, data.x_test[reference])
    real = data.x_test[held]
    sets = {"real": real, "memoriser": data.x_train[torch.randperm(len(data.x_train), generator=g)[: c.samples]]}  # fmt: skip
    for std in c.noise:
        sets[f"noise {std:g}"] = (real + std * torch.randn(real.shape, generator=g)).clamp(0, 1)
    for passes in c.blur_passes:
        sets[f"blur {passes}"] = blur(real, passes)
    labels = data.y_test[held]
    kept = real[labels < c.kept_classes]
    sets["dropped classes"] = kept[torch.randint(len(kept), (c.samples,), generator=g)]
    return {name: scorer.score(images)["fid"] for name, images in sets.items()}


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.data_small import fashion

    c: Config = ctx.config
    claims = _claims(c)
    data = fashion(n_train=c.n_train, n_test=c.reference + c.samples, normalization="minmax")
    runs = [score_sets(c, seed, data) for seed in ctx.seeds]

    def rising(r: dict[str, float], keys: list[str]) -> bool:
        values = [r["real"]] + [r[k] for k in keys]
        return all(a < b for a, b in zip(values, values[1:], strict=False))

    noise_keys = [f"noise {s:g}" for s in c.noise]
    blur_keys = [f"blur {p}" for p in c.blur_passes]
    real = [r["real"] for r in runs]
    dropped = [r["dropped classes"] for r in runs]
    memo = [r["memoriser"] for r in runs]
    verdicts = [
        decide(claims[0], [rising(r, noise_keys) and rising(r, blur_keys) for r in runs], {"fid": runs},
               summary=f"FID of real images {fmt_seeds(real)}; with noise "
               + ", ".join(f"{s:g}: {fmt_seeds([r[k] for r in runs])}" for s, k in zip(c.noise, noise_keys, strict=True))
               + "; blurred " + ", ".join(f"x{p}: {fmt_seeds([r[k] for r in runs])}" for p, k in zip(c.blur_passes, blur_keys, strict=True)) + "."),
        decide(claims[1], [d >= c.dropped_factor * r for d, r in zip(dropped, real, strict=True)],
               {"dropped": dropped, "real": real},
               summary=f"FID with {c.kept_classes} of 10 classes {fmt_seeds(dropped)} vs all classes {fmt_seeds(real)}."),
        decide(claims[2], [m >= c.memoriser_factor * r for m, r in zip(memo, real, strict=True)],
               {"memoriser": memo, "real": real},
               summary=f"FID of copied training images {fmt_seeds(memo)} vs new real images {fmt_seeds(real)}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, ctx)])


def _plot(runs: list[dict[str, float]], ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax,) = new_figure(width=8.0)
    names = list(runs[0])
    seed_dots(ax, {n: [r[n] for r in runs] for n in names}, ylabel="FID (profond's classifier)", log=True)  # fmt: skip
    return finish(fig, ctx.path("fid_sets.png"), "FID of stand-in generators (lower is better)")


LAB = Lab(
    name="generative_metrics",
    title="What FID sees: noise, blur, dropped classes — and a memoriser",
    claims=CLAIMS,
    setup=(
        "Fashion-MNIST in [0, 1]: profond's FID classifier (gan_quality, an MLP trained per seed "
        "on 2 000 images). Reference: 1 000 test images; scored sets of 1 000: other test images, "
        "the same with Gaussian noise or box blur, only 5 classes (resampled), and 1 000 "
        "training images (a generator that memorised its data)."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("fid", "fréchet", "generative model evaluation", "évaluation des modèles génératifs"),
    answers=("Q20", "Q110", "Q111"),
    fast=True,
)
