"""Lab: softmax + MSE learns less from confident mistakes than cross-entropy — does it train
slower or end worse? And is MSE the "ideal" regression loss?

Course Q63 (MSE penalizes classification errors badly and converges more slowly; cross-entropy
matches maximum likelihood), Q7, C16 (log loss for classification), C48 (MeanSquaredError is the
ideal loss for most regression problems), §44.2.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    p_true: float = 1e-3  # probability given to the true class by a confidently wrong output
    saturation_ratio: float = 10.0  # |∂CE/∂z| over |∂MSE/∂z| at p_true
    hidden_sizes: tuple[int, ...] = (64, 64)
    epochs: int = 15
    lr_grid: tuple[float, ...] = (0.03, 0.3, 1.0)  # SGD + momentum, tuned per loss on val error
    target_acc: float = 0.95  # "converged": validation accuracy reached
    epoch_margin: float = 1.0  # epochs-to-target difference that counts
    acc_margin: float = 0.01  # final test-accuracy gap that counts
    outlier_share: float = 0.05
    regression_epochs: int = 60
    robust_factor: float = 1.2  # MSE is "ideal" if its test MAE ≤ this × the best robust loss's


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=40, lr_grid=(0.01, 0.03, 0.1, 0.3, 1.0), regression_epochs=200)
CLAIMS = (
    Claim("mse_saturates_on_confident_errors",
          "With softmax, MSE gives almost no gradient to a confidently wrong output, cross-entropy "
          "a strong one.", "Q63; §44.2.1",
          f"|∂L/∂z_true| of CE over softmax+MSE when the true class has probability {CONFIG.p_true:g}",
          f"per seed: the ratio > {CONFIG.saturation_ratio:g}", expected="holds"),
    Claim("mse_converges_slower",
          "Softmax + MSE converges more slowly than cross-entropy.", "Q63; Q7",
          f"epochs until the validation accuracy reaches {CONFIG.target_acc:g} (SGD + momentum, "
          f"each loss's lr tuned; {CONFIG.epochs}+1 if never)",
          f"per seed: MSE needs more epochs than CE by > max({CONFIG.epoch_margin:g}, 2 × pooled std)",
          expected="subtle"),
    Claim("mse_ends_worse",
          "Softmax + MSE classifies worse than cross-entropy.", "Q63; C16",
          f"test accuracy after {CONFIG.epochs} epochs",
          f"per seed: CE minus MSE accuracy > max({CONFIG.acc_margin:g}, 2 × pooled std)",
          expected="subtle"),
    Claim("mse_ideal_for_regression",
          "MSE is the ideal loss for most regression problems.", "C48",
          f"test MAE (clean targets) of a linear fit trained with MSE, MAE and Huber losses, with "
          f"Gaussian noise and with {CONFIG.outlier_share:.0%} gross outliers",
          f"per seed: MSE's MAE ≤ {CONFIG.robust_factor:g} × the best robust loss's in both settings",
          expected="does not hold"),
)  # fmt: skip


def _saturation(seed: int, c: Config) -> dict[str, float]:
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    others = torch.randn(9, generator=g, dtype=torch.float64)
    others[0] += 10.0  # one wrong class is confidently predicted
    # choose z_true so that softmax gives the true class exactly p_true
    rest = torch.logsumexp(others, 0)
    z_true = math.log(c.p_true / (1 - c.p_true)) + rest.item()
    z = torch.cat([torch.tensor([z_true], dtype=torch.float64), others]).requires_grad_(True)
    target = torch.zeros(10, dtype=torch.float64)
    target[0] = 1.0
    grads: dict[str, float] = {}
    for name in ("ce", "mse"):
        z.grad = None
        p = F.softmax(z, 0)
        loss = -torch.log(p[0]) if name == "ce" else ((p - target) ** 2).sum()
        loss.backward()
        assert z.grad is not None  # z requires grad and is a leaf
        grads[name] = abs(z.grad[0].item())
    return {**grads, "p_true": F.softmax(z, 0)[0].item()}


def softmax_mse_task(data):
    """Classification trained on ``Σ (softmax(z) − one_hot(y))²``; evaluated as usual."""
    import torch
    import torch.nn.functional as F

    from profond.train.tasks.classification import ClassificationTask

    class SoftmaxMSETask(ClassificationTask):
        def training_step(self, model, x, y) -> torch.Tensor:
            probs = F.softmax(model(x), dim=1)
            return ((probs - F.one_hot(y, probs.shape[1]).float()) ** 2).sum(1).mean()

    return SoftmaxMSETask(data)


def _classification(ctx: LabContext) -> dict:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits()
    setting = st.Setting(optimizer="momentum", epochs=c.epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    out = {}
    for name, task in (("ce", None), ("mse", softmax_mse_task)):
        tuned, runs = st.tuned_over_seeds(
            setting, data, ctx.seeds, c.lr_grid, metric="val_error", task=task
        )
        out[name] = {"lr": tuned.lr, "acc": [r.test.get("test_accuracy", 0.0) for r in runs],
                     "epochs": [min(r.epochs_to("val_accuracy", c.target_acc), c.epochs + 1.0) for r in runs],
                     "curves": [r.history.get("val_accuracy", []) for r in runs]}  # fmt: skip
    return out


def _regression(seed: int, c: Config) -> dict[str, dict[str, float]]:
    import torch
    from torch import nn

    from profond.labs import small_train as st
    from profond.labs.toy import regression_bundle, regression_task

    rng = np.random.default_rng(seed)
    x, x_test = rng.uniform(-2, 2, (400, 1)), rng.uniform(-2, 2, (400, 1))
    clean = 2 * x + 1 + 0.3 * rng.standard_normal(x.shape)
    outliers = clean.copy()
    hit = rng.random(len(x)) < c.outlier_share
    outliers[hit] += 20 + 10 * rng.random((int(hit.sum()), 1))  # gross errors, one-sided
    setting = st.Setting(optimizer="adam", lr=0.05, epochs=c.regression_epochs, batch_size=64)
    out: dict[str, dict[str, float]] = {}
    for noise, y in (("gaussian", clean), ("outliers", outliers)):
        data = regression_bundle("line", (x, y), (x_test, 2 * x_test + 1))
        out[noise] = {}
        for loss in ("mse", "mae", "huber"):

            def line(_data, s):
                torch.manual_seed(s)
                return nn.Linear(1, 1)

            def task(d, loss=loss):
                return regression_task(d, loss)

            run = st.train(setting, data, seed, model=line, task=task)
            out[noise][loss] = run.test.get("test_mae", math.inf)
    return out


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    sat = [_saturation(s, c) for s in ctx.seeds]
    cls = _classification(ctx)
    reg = [_regression(s, c) for s in ctx.seeds]
    slower = compare(cls["mse"]["epochs"], cls["ce"]["epochs"], margin=c.epoch_margin)
    worse = compare(cls["ce"]["acc"], cls["mse"]["acc"], margin=c.acc_margin)
    ideal = [
        all(r[n]["mse"] <= c.robust_factor * min(r[n]["mae"], r[n]["huber"]) for n in r)
        for r in reg
    ]
    figure = _plot(cls, reg, ctx)
    return Outcome([
        decide(CLAIMS[0], [s["ce"] > c.saturation_ratio * s["mse"] for s in sat], {"runs": sat},
               summary=f"|∂L/∂z_true| at p = {c.p_true:g}: CE {fmt_seeds([s['ce'] for s in sat])} vs "
               f"MSE {fmt_seeds([s['mse'] for s in sat])}"),
        decide(CLAIMS[1], slower.greater(), {**slower.to_json(), "lr": {k: v["lr"] for k, v in cls.items()}},
               summary=f"epochs to {c.target_acc:g} validation accuracy: MSE {slower.a} (lr "
               f"{cls['mse']['lr']:g}) vs CE {slower.b} (lr {cls['ce']['lr']:g})"),
        decide(CLAIMS[2], worse.greater(), worse.to_json(),
               summary=f"test accuracy CE {fmt_seeds(worse.a)} vs MSE {fmt_seeds(worse.b)}"),
        decide(CLAIMS[3], ideal, {"test_mae": reg},
               summary="test MAE (MSE / MAE / Huber loss): " + "; ".join(
                   f"{n}: {r[n]['mse']:.3f} / {r[n]['mae']:.3f} / {r[n]['huber']:.3f}" for r in reg for n in r)),
    ], [figure])  # fmt: skip


def _plot(cls, reg, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_c, ax_r) = new_figure(ncols=2, width=5.4)
    for name in ("ce", "mse"):
        curves = [cv for cv in cls[name]["curves"] if cv]
        if curves:
            seed_lines(
                ax_c,
                list(range(1, len(curves[0]) + 1)),
                curves,
                f"softmax+{name.upper()} (lr {cls[name]['lr']:g})",
            )
    ax_c.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.5, 1.0))
    ax_c.legend(fontsize=7)
    ax_c.grid(True, alpha=0.3)
    seed_dots(ax_r, {f"{n}/{loss}": [r[n][loss] for r in reg] for n in ("gaussian", "outliers")
                     for loss in ("mse", "mae", "huber")}, "test MAE (linear fit)", log=True)  # fmt: skip
    return finish(
        fig, ctx.path("losses.png"), "MSE vs cross-entropy, and regression losses, every seed"
    )


LAB = Lab(
    name="mse_vs_cross_entropy",
    title="MSE vs cross-entropy for classification, and MSE vs robust losses for regression",
    claims=CLAIMS,
    setup="Gradients of CE and softmax+MSE for a confidently wrong output; a 64-64 MLP on "
    "standardized digits trained with CE and with softmax+MSE (SGD + momentum, 15 epochs, each "
    "lr tuned on validation error, profond's Trainer with a custom task); a linear fit of "
    "y = 2x + 1 with MSE, MAE and Huber losses under Gaussian noise and 5 % gross outliers.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "mse",
        "cross-entropy",
        "entropie croisée",
        "loss function",
        "fonction de coût",
        "log loss",
        "huber",
    ),  # fmt: skip
    answers=("Q7", "Q63", "C16", "C48"),
)
