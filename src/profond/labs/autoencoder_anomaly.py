"""Lab: does an autoencoder's reconstruction error flag what it has never seen?

Q76 and Q77: trained on normal data only, an autoencoder reconstructs normal inputs well and
anomalies badly, so the reconstruction error is an anomaly score. The lab holds one digit out of
sklearn's digits, trains profond's dense autoencoder on the other nine with the Trainer, and
measures how well the reconstruction error separates the held-out digit's test images from the
normal ones (ROC AUC), for several held-out digits, next to PCA's reconstruction error.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    held_out: tuple[int, ...] = (0, 1, 8)  # digits treated in turn as the anomaly
    code: int = 8  # autoencoder code and PCA components
    hidden: int = 128
    epochs: int = 40
    lr: float = 3e-3  # Adam
    detects: float = 0.8  # "detects": ROC AUC at least this for every held-out digit
    margin: float = 0.02  # "better than PCA": mean AUC higher by at least this


CONFIG = Config()
FAITHFUL = Config(seeds=5, held_out=tuple(range(10)), epochs=120)


def _claims(c: Config) -> tuple[Claim, ...]:
    digits = ", ".join(map(str, c.held_out))
    return (
        Claim(
            "reconstruction_error_flags_anomalies",
            "An autoencoder trained on normal data flags unseen kinds of input by their "
            "reconstruction error.",
            "Q76; Q77",
            f"ROC AUC of the reconstruction error, held-out digit vs the others, digits {digits}",
            f"holds for a seed if the AUC is >= {c.detects:g} for every held-out digit",
            expected="subtle",
        ),
        Claim(
            "autoencoder_beats_pca_at_detection",
            "A (non-linear) autoencoder detects anomalies better than a linear reconstruction (PCA).",
            "Q77",
            f"mean ROC AUC over the held-out digits, autoencoder vs PCA ({c.code} components)",
            f"holds for a seed if the autoencoder's is higher by at least {c.margin:g}",
            expected="subtle",
        ),
    )


CLAIMS = _claims(CONFIG)


def without(data, digit: int):
    """``data`` with ``digit`` removed from the training and validation splits."""
    import dataclasses

    keep_train, keep_val = data.y_train != digit, data.y_val != digit
    return dataclasses.replace(
        data, x_train=data.x_train[keep_train], y_train=data.y_train[keep_train],
        x_val=data.x_val[keep_val], y_val=data.y_val[keep_val],
    )  # fmt: skip


def auc(scores, is_anomaly) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(is_anomaly, scores))


def pca_auc(normal, data, digit: int, k: int) -> float:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k).fit(normal.x_train.flatten(1).numpy())
    x = data.x_test.flatten(1).numpy()
    errors = ((pca.inverse_transform(pca.transform(x)) - x) ** 2).mean(axis=1)
    return auc(errors, (data.y_test == digit).numpy())


def autoencoder_auc(normal, data, digit: int, c: Config, seed: int) -> float:
    import torch

    from profond.labs.small_train import Setting, train

    setting = Setting(
        model="autoencoder", optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64,
        model_options={"variant": "dense", "latent_size": c.code, "hidden_sizes": (c.hidden,)},
    )  # fmt: skip
    model = train(setting, normal, seed).model
    with torch.no_grad():
        errors = ((model(data.x_test) - data.x_test) ** 2).flatten(1).mean(1)
    return auc(errors.numpy(), (data.y_test == digit).numpy())


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.small_train import digits

    c: Config = ctx.config
    claims = _claims(c)
    data = digits(normalization="minmax")
    normals = {d: without(data, d) for d in c.held_out}
    ae = {d: [autoencoder_auc(normals[d], data, d, c, s) for s in ctx.seeds] for d in c.held_out}
    pca = {d: pca_auc(normals[d], data, d, c.code) for d in c.held_out}
    n = len(ctx.seeds)
    every = [all(ae[d][i] >= c.detects for d in c.held_out) for i in range(n)]
    mean_ae = [sum(ae[d][i] for d in c.held_out) / len(c.held_out) for i in range(n)]
    mean_pca = sum(pca.values()) / len(pca)
    verdicts = [
        decide(claims[0], every, {"autoencoder_auc": ae, "pca_auc": pca},
               summary="autoencoder ROC AUC per held-out digit: "
               + "; ".join(f"{d}: {fmt_seeds(v)}" for d, v in ae.items()) + "."),
        decide(claims[1], [m >= mean_pca + c.margin for m in mean_ae],
               {"mean_autoencoder_auc": mean_ae, "mean_pca_auc": mean_pca},
               summary=f"mean AUC: autoencoder {fmt_seeds(mean_ae)}, PCA {mean_pca:.3f} ("
               + ", ".join(f"{d}: {v:.3f}" for d, v in pca.items()) + ")."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(ae, pca, ctx)])


def _plot(ae: dict, pca: dict, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax,) = new_figure(width=6.0)
    seed_dots(ax, {f"digit {d}": v for d, v in ae.items()}, ylabel="ROC AUC (autoencoder)")
    ax.scatter(
        range(len(pca)), list(pca.values()), marker="x", color="crimson", zorder=4, label="PCA"
    )
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(0.4, 1.0)
    ax.legend()
    return finish(fig, ctx.path("anomaly_auc.png"), "Held-out digit as anomaly: reconstruction error")  # fmt: skip


LAB = Lab(
    name="autoencoder_anomaly",
    title="Anomaly detection by reconstruction error: autoencoder vs PCA",
    claims=CLAIMS,
    setup=(
        "sklearn digits scaled to [0, 1]. For each held-out digit (0, 1, 8), profond's dense "
        "autoencoder (128-unit layers, code 8) is trained by the Trainer on the other nine "
        "(Adam 3e-3, 40 epochs); the anomaly score of a test image is its reconstruction MSE; "
        "ROC AUC of held-out vs normal test images; PCA with 8 components fitted on the same "
        "normal images as the baseline."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "anomaly",
        "anomalie",
        "autoencoder",
        "auto-encodeur",
        "reconstruction error",
        "erreur de reconstruction",
    ),  # fmt: skip
    answers=("Q76", "Q77"),
)
