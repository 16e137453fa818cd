"""Lab: autoencoders against PCA, the size of the bottleneck, and denoising.

Course §44.4 (autoencoders): a narrower code keeps less of the image; a linear autoencoder
trained with the squared error spans the same subspace as PCA (Baldi & Hornik, 1989), so only
its non-linearities can make it better; a denoising autoencoder, trained to rebuild clean images
from noisy ones, removes noise it has not seen. The lab trains profond's dense autoencoder on
sklearn's digits (pixels in [0, 1]) with the Trainer and compares test reconstruction errors
with PCA's (scikit-learn) at the same code size.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    codes: tuple[int, ...] = (2, 8, 32)  # bottleneck sizes of the non-linear autoencoder
    compare_code: int = 8  # code size of the PCA / linear / non-linear comparison
    hidden: int = 128
    epochs: int = 60
    lr: float = 3e-3  # Adam
    noise_std: float = 0.3  # noise of the denoising autoencoder and of the noisy test images
    pca_match: float = 0.15  # "same as PCA": linear AE's error within this relative margin
    beats: float = 0.9  # "better than PCA": error below this times PCA's
    denoise: float = 0.5  # "removes noise": error to the clean image below this x the noisy one's


CONFIG = Config()
FAITHFUL = Config(seeds=5, codes=(2, 4, 8, 16, 32), epochs=200)


def _claims(c: Config) -> tuple[Claim, ...]:
    k = c.compare_code
    return (
        Claim(
            "narrower_code_loses_more",
            "The narrower the bottleneck, the worse the reconstruction.",
            "§44.4",
            f"test MSE of the non-linear autoencoder with codes of {', '.join(map(str, c.codes))}",
            "holds for a seed if the error falls strictly as the code grows",
            expected="holds",
        ),
        Claim(
            "linear_autoencoder_is_pca",
            "A linear autoencoder trained with the squared error does what PCA does.",
            "§44.4",
            f"test MSE of a linear autoencoder and of PCA, both with {k} components",
            f"holds for a seed if they differ by less than {c.pca_match:.0%} of PCA's error",
            expected="holds",
        ),
        Claim(
            "nonlinear_beats_pca",
            "A non-linear autoencoder compresses better than PCA at the same code size.",
            "§44.4",
            f"test MSE, non-linear autoencoder vs PCA, {k} components",
            f"holds for a seed if the autoencoder's error is below {c.beats:g}x PCA's",
            expected="subtle",
        ),
        Claim(
            "denoising_removes_noise",
            "A denoising autoencoder rebuilds clean images from noisy ones.",
            "§44.4",
            f"test MSE to the clean image: noisy input (std {c.noise_std:g}) vs its reconstruction",
            f"holds for a seed if the reconstruction's error is below {c.denoise:g}x the noisy input's",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def _setting(c: Config, code: int, linear: bool = False, noise: float = 0.0):
    from profond.labs.small_train import Setting

    options = {
        "variant": "dense", "latent_size": code, "noise_std": noise,
        "hidden_sizes": () if linear else (c.hidden,),
        "output_activation": "none" if linear else "sigmoid",
    }  # fmt: skip
    return Setting(model="autoencoder", model_options=options, optimizer="adam", lr=c.lr,
                   epochs=c.epochs, batch_size=64)  # fmt: skip


def pca_mse(data, k: int) -> float:
    """Test MSE of PCA with ``k`` components fitted on the training images."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k).fit(data.x_train.flatten(1).numpy())
    x_test = data.x_test.flatten(1).numpy()
    return float(((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2).mean())


def measure_seed(c: Config, seed: int, data) -> dict:
    import torch

    from profond.labs.small_train import train
    from profond.train.tasks.reconstruction import add_noise

    by_code = [train(_setting(c, k), data, seed).test["test_mse"] for k in c.codes]
    linear = train(_setting(c, c.compare_code, linear=True), data, seed).test["test_mse"]
    dae = train(_setting(c, c.compare_code, noise=c.noise_std), data, seed).model
    generator = torch.Generator().manual_seed(seed)
    noisy = add_noise(data.x_test, c.noise_std, True, generator)
    with torch.no_grad():
        denoised = float(((dae(noisy) - data.x_test) ** 2).mean())
    return {
        "by_code": by_code,
        "linear": linear,
        "noisy": float(((noisy - data.x_test) ** 2).mean()),
        "denoised": denoised,
    }


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.small_train import digits

    c: Config = ctx.config
    claims = _claims(c)
    data = digits(normalization="minmax")
    runs = [measure_seed(c, seed, data) for seed in ctx.seeds]
    pca = {k: pca_mse(data, k) for k in c.codes}
    k = c.compare_code
    at_k = [r["by_code"][c.codes.index(k)] for r in runs]
    linear = [r["linear"] for r in runs]
    verdicts = [
        decide(claims[0], [all(a > b for a, b in zip(r["by_code"], r["by_code"][1:], strict=False)) for r in runs],
               {"codes": c.codes, "autoencoder_mse": [r["by_code"] for r in runs], "pca_mse": pca},
               summary="test MSE by code " + ", ".join(map(str, c.codes)) + ": "
               + "; ".join(fmt_seeds(r["by_code"]) for r in runs) + "."),
        decide(claims[1], [abs(v - pca[k]) < c.pca_match * pca[k] for v in linear],
               {"linear_autoencoder_mse": linear, "pca_mse": pca[k]},
               summary=f"{k} components: linear autoencoder {fmt_seeds(linear)}, PCA {pca[k]:.4g}."),
        decide(claims[2], [v < c.beats * pca[k] for v in at_k],
               {"autoencoder_mse": at_k, "pca_mse": pca[k]},
               summary=f"{k} components: non-linear autoencoder {fmt_seeds(at_k)}, PCA {pca[k]:.4g}."),
        decide(claims[3], [r["denoised"] < c.denoise * r["noisy"] for r in runs],
               {"noisy_mse": [r["noisy"] for r in runs], "denoised_mse": [r["denoised"] for r in runs]},
               summary=f"error to the clean image: noisy {fmt_seeds([r['noisy'] for r in runs])}, "
               f"denoised {fmt_seeds([r['denoised'] for r in runs])}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, pca, linear, c, ctx)])


def _plot(runs: list[dict], pca: dict, linear: list[float], c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=6.0)
    codes = list(c.codes)
    seed_lines(ax, codes, [r["by_code"] for r in runs], "autoencoder (ReLU)", log=True)
    ax.semilogy(codes, [pca[k] for k in codes], linestyle="--", marker="o", label="PCA")
    ax.scatter([c.compare_code] * len(linear), linear, marker="x", color="black", zorder=3,
               label="linear autoencoder (each seed)")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("code size")
    ax.set_ylabel("test reconstruction MSE")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, ctx.path("autoencoder_vs_pca.png"), "Digits: reconstruction error by code size")  # fmt: skip


LAB = Lab(
    name="autoencoder_pca_denoise",
    title="Autoencoders: bottleneck size, PCA, denoising",
    claims=CLAIMS,
    setup=(
        "sklearn digits scaled to [0, 1] (1 150 train, 360 test). profond's dense autoencoder "
        "(one 128-unit ReLU layer each side, sigmoid output) with codes of 2, 8 and 32; a linear "
        "one (no hidden layer, no output activation) with 8; a denoising one (noise std 0.3) "
        "with 8; all trained by the Trainer (Adam 3e-3, 60 epochs, batch 64). PCA from "
        "scikit-learn fitted on the same training images."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "autoencoder",
        "auto-encodeur",
        "pca",
        "acp",
        "denoising",
        "débruitage",
        "bottleneck",
    ),  # fmt: skip
    answers=("Q14", "Q57"),
)
