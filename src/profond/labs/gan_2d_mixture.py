"""Lab: mode collapse on a ring of Gaussians, with and without a remedy; D at 0.5; saturation.

Course §44.4.3 and Q44: the generator may produce very similar outputs (mode collapse), "one of
the major problems of GANs"; at the equilibrium the discriminator outputs 0.5 for any input;
when the discriminator becomes too strong the gradient sent back to the generator becomes very
small. The lab trains profond's point GAN (MLPs) on the ``ring`` data (8 modes) with the
Trainer, plain and with a packed discriminator (PacGAN, Lin et al. 2018, a remedy for mode
collapse), counts the modes covered per seed, reads the discriminator's mean output at the end,
and compares the generator's gradient under the minimax and the non-saturating loss once a
discriminator has been trained to win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

ARMS = {"plain GAN": 1, "packed D (PacGAN)": 2}  # arm -> pack


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    epochs: int = 60  # 25 batches of 128 points each: 1 500 generator steps
    # pre-registered definitions (fixed before the first run): the mode width and the "strong"
    # discriminator below are the first ones, not retuned after seeing a result
    ring_std: float = 0.05  # each mode's std (radius 2): 3 std = 0.15, modes 1.5 apart
    batch_size: int = 128
    lr: float = 1e-3  # Adam, beta1 = 0.5
    hidden: int = 64
    samples: int = 1000  # generated points the final coverage is counted on
    collapse_below: float = 0.5  # "collapsed": fewer than this share of the modes covered
    d_half_tol: float = 0.1  # "D at 0.5": mean D on real and generated within this of 0.5
    strong_d_accuracy: float = 0.99  # "strong" D: tells real from generated this often
    strong_d_fake: float = 1e-3  # D keeps training alone until mean D(G(z)) is below this (shown)
    strong_d_max_steps: int = 3000
    strong_d_lr: float = 5e-3  # the discriminator-only phase: a higher rate wins sooner
    saturation_ratio: float = 0.01  # "vanishes": minimax gradient below this x non-saturating


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=240, hidden=128, samples=2500, ring_std=0.05)
COURSE = "§44.4.3; Q44; Q45"


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "mode_collapse_major",
            "A GAN's generator collapses onto a few modes of the data.",
            "§44.4.3; Q44",
            "modes of the 8-mode ring covered by 1 000 samples of the plain GAN after training",
            f"holds for a seed if fewer than {c.collapse_below:.0%} of the modes are covered",
            expected="subtle",
        ),
        Claim(
            "packing_covers_more_modes",
            "Packing the discriminator's input (PacGAN) covers at least as many modes as a "
            "plain GAN with the same budget.",
            "Q44 (remedies)",
            "modes covered, packed (2 samples per judgement) vs plain, same seed and steps",
            "holds for a seed if the packed GAN covers at least as many modes",
            expected="subtle",
        ),
        Claim(
            "discriminator_at_one_half",
            "At the end of training the discriminator outputs 0.5 for any input.",
            "§44.4.3",
            "mean D on real test points and on generated points, plain GAN",
            f"holds for a seed if both are within {c.d_half_tol:g} of 0.5",
            expected="subtle",
        ),
        Claim(
            "strong_discriminator_starves_generator",
            "When the discriminator wins, the minimax generator loss log(1 - D(G(z))) sends "
            "almost no gradient to the generator.",
            "§44.4.3; Q45",
            "mean ‖∂loss/∂G(z)‖, minimax over non-saturating, when a discriminator trained "
            f"alone first tells real from generated points {c.strong_d_accuracy:.0%} of the time",
            f"holds for a seed if the ratio < {c.saturation_ratio:g}",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def _data(c: Config):
    from profond.data.mixture import Ring, load
    from profond.data.registry import DataOptions

    return load(DataOptions(val_fraction=0.2), ring=Ring(std=c.ring_std))


def train_arm(pack: int, c: Config, seed: int, data) -> dict:
    """Train one GAN; modes covered per epoch and at the end, mean D, final samples."""
    import torch

    from profond.data.mixture import Ring, mode_coverage
    from profond.labs.small_train import Setting, train

    setting = Setting(
        model="point_gan", model_options={"hidden": c.hidden, "pack": pack},
        optimizer="adam", betas=(0.5, 0.999), lr=c.lr, epochs=c.epochs, batch_size=c.batch_size,
    )  # fmt: skip
    run = train(setting, data, seed)
    gan: Any = run.model  # a PointGAN
    generator = torch.Generator().manual_seed(10_000 + seed)
    samples = data.preprocessing.invert(gan.sample(c.samples, generator)).numpy()
    extra = data.extra
    coverage = mode_coverage(samples, Ring(extra["modes"], extra["radius"], extra["std"]))
    return {
        "modes_per_epoch": run.history.get("val_modes", []),
        "modes": coverage.covered,
        "high_quality": coverage.high_quality,
        "d_real": run.history["val_d_real"][-1],
        "d_fake": run.history["val_d_fake"][-1],
        "samples": samples[:400].tolist(),
    }


def _gradient_ratio(gan, seed: int) -> float:
    """Mean ‖∂loss/∂G(z)‖ under the minimax loss over that under the non-saturating loss."""
    import torch

    from profond.train.tasks.point_gan import g_loss

    norms = {}
    for saturating in (True, False):
        fake = gan.generator(gan.noise(512, torch.Generator().manual_seed(seed))).detach()
        fake.requires_grad_(True)
        g_loss(gan, fake, saturating).backward()
        norms[saturating] = float(fake.grad.norm(dim=1).mean())
    return norms[True] / norms[False]


def saturation_ratio(c: Config, seed: int, data) -> dict[str, float]:
    """Train D alone against a fixed, untrained G until it wins confidently.

    Returns the gradient ratio (:func:`_gradient_ratio`) when D first reaches ``strong_d_accuracy``
    (``ratio_when_accurate``) and once its mean output on generated points is below
    ``strong_d_fake`` (``ratio``), with D's mean output on generated points then.
    """
    import torch

    from profond.models.point_gan import PointGAN, PointGANConfig
    from profond.train.tasks.point_gan import d_loss

    torch.manual_seed(seed)
    gan = PointGAN(PointGANConfig(hidden=c.hidden))
    optimizer = torch.optim.Adam(gan.critic.parameters(), lr=c.strong_d_lr, betas=(0.5, 0.999))
    x, out = data.x_train, {"ratio_when_accurate": float("nan")}
    d_fake, steps = 1.0, 0
    while d_fake > c.strong_d_fake and steps < c.strong_d_max_steps:
        index = torch.randint(len(x), (c.batch_size,))
        loss = d_loss(gan, x[index], gan.sample(c.batch_size))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
        if steps % 25 == 0:
            with torch.no_grad():
                real, fake = gan.discriminator(x[:512]), gan.discriminator(gan.sample(512))
            d_fake = float(torch.sigmoid(fake).mean())
            accuracy = float((real > 0).float().mean() + (fake < 0).float().mean()) / 2
            if accuracy >= c.strong_d_accuracy and out["ratio_when_accurate"] != out["ratio_when_accurate"]:  # fmt: skip
                out["ratio_when_accurate"] = _gradient_ratio(gan, seed)
    out.update(ratio=_gradient_ratio(gan, seed), d_fake=d_fake, d_steps=float(steps))
    return out


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    claims = _claims(c)
    data = _data(c)
    runs = {arm: [train_arm(p, c, s, data) for s in ctx.seeds] for arm, p in ARMS.items()}
    plain = runs["plain GAN"]
    modes = {arm: [r["modes"] for r in rs] for arm, rs in runs.items()}
    total = data.extra["modes"]
    d_real, d_fake = [r["d_real"] for r in plain], [r["d_fake"] for r in plain]
    strong = [saturation_ratio(c, s, data) for s in ctx.seeds]
    ratios = [r["ratio_when_accurate"] for r in strong]  # nan: D never got that accurate
    near = [abs(a - 0.5) < c.d_half_tol and abs(b - 0.5) < c.d_half_tol for a, b in zip(d_real, d_fake, strict=True)]  # fmt: skip
    verdicts = [
        decide(claims[0], [m < c.collapse_below * total for m in modes["plain GAN"]],
               {"modes_covered": modes, "of": total,
                "high_quality": {a: [r["high_quality"] for r in rs] for a, rs in runs.items()},
                "modes_per_epoch": {a: [r["modes_per_epoch"] for r in rs] for a, rs in runs.items()}},
               summary=f"plain GAN covers {fmt_seeds(modes['plain GAN'])} of {total} modes "
               f"per seed (packed D: {fmt_seeds(modes['packed D (PacGAN)'])})."),
        decide(claims[1], [p >= q for p, q in zip(modes["packed D (PacGAN)"], modes["plain GAN"], strict=True)],
               {"modes_covered": modes},
               summary=f"modes covered per seed: packed {fmt_seeds(modes['packed D (PacGAN)'])}, "
               f"plain {fmt_seeds(modes['plain GAN'])}, after {c.epochs} epochs."),
        decide(claims[2], near, {"d_real": d_real, "d_fake": d_fake},
               summary=f"mean D(real) {fmt_seeds(d_real)}, mean D(G(z)) {fmt_seeds(d_fake)}."),
        decide(claims[3], [r < c.saturation_ratio for r in ratios], {"strong_discriminator": strong},
               summary=f"generator gradient, minimax / non-saturating: {fmt_seeds(ratios)} when D "
               f"was first {c.strong_d_accuracy:.0%} accurate (the rule); later, with mean D(G(z)) "
               f"{fmt_seeds([r['d_fake'] for r in strong])}: {fmt_seeds([r['ratio'] for r in strong])}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, data, ctx)])


def _plot(runs: dict, data, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, axes = new_figure(ncols=3, width=4.5)
    curves = axes[0]
    for arm, rs in runs.items():
        per_seed = [r["modes_per_epoch"] for r in rs]
        seed_lines(curves, list(range(1, len(per_seed[0]) + 1)), per_seed, arm)
    curves.set_xlabel("epoch")
    curves.set_ylabel("modes covered (validation noise)")
    curves.legend(fontsize=8)
    curves.grid(True, alpha=0.3)
    real = data.preprocessing.invert(data.x_test).numpy()
    for ax, (arm, rs) in zip(axes[1:], runs.items(), strict=True):
        ax.scatter(real[:, 0], real[:, 1], s=2, color="lightgrey")
        for seed_index, r in enumerate(rs):
            points = r["samples"]
            ax.scatter([p[0] for p in points], [p[1] for p in points], s=3, alpha=0.5,
                       label=f"seed {ctx.seeds[seed_index]}: {r['modes']} modes")  # fmt: skip
        ax.set_title(arm)
        ax.set_aspect("equal")
        ax.legend(fontsize=7, loc="center")
    return finish(fig, ctx.path("gan_ring.png"), "GAN on a ring of 8 Gaussians")


LAB = Lab(
    name="gan_2d_mixture",
    title="GAN on a ring of Gaussians: modes covered per seed, plain and packed",
    claims=CLAIMS,
    setup=(
        "profond's point GAN (generator and discriminator: MLPs of 2x64 units) on the ring data "
        "(8 Gaussian modes, radius 2, std 0.05), trained by the Trainer with Adam (lr 1e-3, "
        "beta1 0.5), batch 128, 60 epochs (1 500 steps), plain and with a discriminator that "
        "judges pairs of samples (PacGAN). A mode is covered when it holds a quarter of its fair "
        "share of 1 000 samples within 3 std. Saturation: the generator's gradient when a "
        "discriminator trained alone against the untrained generator is first 99 % accurate."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "gan",
        "mode collapse",
        "discriminator",
        "discriminateur",
        "générateur",
        "generator",
    ),  # fmt: skip
    answers=("Q19", "Q44", "Q45"),
)
