"""Lab: the VAE's KL term and its weight β, and why the reparameterisation trick is used.

Course §44.4 (VAE) and Q20/Q57: the KL term pulls each code toward the prior, organising the
latent space at some cost in reconstruction; β > 1 strengthens it (β-VAE). Gradients through
the sampling step go through ``z = μ + σ·ε`` (reparameterisation) rather than through the
score-function (REINFORCE) estimator. The lab trains profond's VAE on sklearn's digits with
β = 1 and 4, counts active latent dimensions (variance of μ over the test images above
0.01, Burda et al. 2016) and the reconstruction error, and compares the variance of the two
gradient estimators of ∂E[recon]/∂μ on the trained β = 1 model.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    betas: tuple[float, ...] = (1.0, 4.0)  # 1: the ELBO; 4: a beta-VAE
    latent_dim: int = 8
    epochs: int = 15
    lr: float = 3e-3  # Adam
    active_var: float = 0.01  # a latent dimension is active if Var[μ] over the data exceeds this
    draws: int = 200  # single-sample gradient estimates per estimator
    variance_ratio: float = 0.1  # "lower variance": reparameterised / score-function below this


CONFIG = Config()
FAITHFUL = Config(seeds=5, betas=(0.1, 0.5, 1.0, 2.0, 4.0, 8.0), epochs=150, draws=1000)


def _claims(c: Config) -> tuple[Claim, ...]:
    lo, hi = min(c.betas), max(c.betas)
    return (
        Claim(
            "kl_weight_prunes_latents",
            "A stronger KL term (larger β) makes the VAE use fewer latent dimensions.",
            "§44.4; Q57",
            f"active latent dimensions (Var[μ] > {c.active_var:g}) at β = {lo:g} and {hi:g}",
            f"holds for a seed if fewer are active at β = {hi:g}",
            expected="holds",
        ),
        Claim(
            "kl_weight_costs_reconstruction",
            "The KL term is paid for in reconstruction: a larger β reconstructs worse.",
            "§44.4; Q20",
            f"test reconstruction term (Bernoulli, per image) at β = {lo:g} and {hi:g}",
            f"holds for a seed if it is larger at β = {hi:g}",
            expected="holds",
        ),
        Claim(
            "reparameterisation_lowers_variance",
            "Sampling z = μ + σ·ε lets gradients flow with far less variance than the "
            "score-function estimator.",
            "§44.4",
            f"variance of {c.draws} single-sample estimates of ∂E[recon]/∂μ, trained β = 1 VAE",
            f"holds for a seed if reparameterised / score-function < {c.variance_ratio:g}",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def active_units(vae, x, threshold: float) -> int:
    """Latent dimensions whose mean code varies across the images more than ``threshold``."""
    import torch

    with torch.no_grad():
        mu, _ = vae.encode(x)
    return int((mu.var(dim=0) > threshold).sum())


def gradient_variances(vae, x, draws: int, seed: int) -> dict[str, float]:
    """Total variance of single-sample estimates of ∂E_z[recon(x, z)]/∂μ for one image ``x``.

    Shape: ``x`` is ``(1, C, H, W)``.
    """
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    with torch.no_grad():
        mu, logvar = vae.encode(x)
    sigma = (0.5 * logvar).exp()

    def recon(z: torch.Tensor) -> torch.Tensor:
        logits = vae.decode_logits(z)
        return F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").flatten(1).sum(1)  # fmt: skip

    eps = torch.randn(draws, mu.shape[1])
    m = mu.expand(draws, -1).clone().requires_grad_(True)
    recon(m + sigma * eps).sum().backward()  # each row's gradient is its own estimate
    reparam = m.grad
    with torch.no_grad():
        z = mu + sigma * eps
        # ∇_μ log N(z; μ, σ²) = (z - μ) / σ², times f(z): the score-function estimate
        score = recon(z)[:, None] * (z - mu) / sigma**2
    return {
        "reparameterised": float(reparam.var(dim=0).sum()),
        "score_function": float(score.var(dim=0).sum()),
    }


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.small_train import Setting, digits, train

    c: Config = ctx.config
    claims = _claims(c)
    data = digits(normalization="minmax")
    runs: dict[float, list[dict]] = {b: [] for b in c.betas}
    variances = []
    for seed in ctx.seeds:
        for beta in c.betas:
            setting = Setting(
                model="vae", optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64,
                model_options={"latent_dim": c.latent_dim, "hidden_channels": (16, 32), "beta": beta},
            )  # fmt: skip
            run = train(setting, data, seed)
            runs[beta].append({"active": active_units(run.model, data.x_test, c.active_var),
                               "recon": run.test["test_recon"], "kl": run.test["test_kl"]})  # fmt: skip
            if beta == 1.0:
                variances.append(gradient_variances(run.model, data.x_test[:1], c.draws, seed))
    lo, hi = min(c.betas), max(c.betas)
    active = {b: [r["active"] for r in rs] for b, rs in runs.items()}
    recon = {b: [r["recon"] for r in rs] for b, rs in runs.items()}
    ratio = [v["reparameterised"] / v["score_function"] for v in variances]
    verdicts = [
        decide(claims[0], [a < b for a, b in zip(active[hi], active[lo], strict=True)],
               {"active_units": active, "kl": {b: [r["kl"] for r in rs] for b, rs in runs.items()}},
               summary="active latent dimensions (of " + str(c.latent_dim) + ") per seed: "
               + "; ".join(f"β={b:g}: {fmt_seeds(v)}" for b, v in active.items()) + "."),
        decide(claims[1], [a > b for a, b in zip(recon[hi], recon[lo], strict=True)], {"recon": recon},
               summary="test reconstruction term: "
               + "; ".join(f"β={b:g}: {fmt_seeds(v)}" for b, v in recon.items()) + "."),
        decide(claims[2], [r < c.variance_ratio for r in ratio], {"variances": variances, "ratio": ratio},
               summary=f"gradient variance, reparameterised / score-function: {fmt_seeds(ratio)}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(active, recon, c, ctx)])


def _plot(active: dict, recon: dict, c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_active, ax_recon) = new_figure(ncols=2, width=5.0)
    betas = list(c.betas)
    n = len(ctx.seeds)
    seed_lines(ax_active, betas, [[active[b][i] for b in betas] for i in range(n)], "active dims")
    seed_lines(ax_recon, betas, [[recon[b][i] for b in betas] for i in range(n)], "reconstruction")
    for ax, label in ((ax_active, "active latent dimensions"), (ax_recon, "test reconstruction (nats/image)")):  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("β (weight of the KL term)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return finish(fig, ctx.path("vae_beta.png"), "Digits VAE: latent usage and reconstruction vs β")


LAB = Lab(
    name="vae_latent_reparam",
    title="VAE: the KL weight β, latent usage, and the reparameterisation trick",
    claims=CLAIMS,
    setup=(
        "sklearn digits scaled to [0, 1]. profond's VAE (16-32 channels, 8 latent dimensions, "
        "Bernoulli likelihood) with β = 1 and 4, trained by the Trainer (Adam 3e-3, 15 epochs, "
        "batch 64). Active dimensions: Var[μ] over the 360 test images > 0.01. Gradient "
        "variance: 200 single-sample estimates of ∂E[recon]/∂μ for one test image."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "vae",
        "variational autoencoder",
        "kl divergence",
        "reparameterization",
        "reparamétrisation",
        "β-vae",
    ),  # fmt: skip
    answers=("Q20", "Q57"),
)
