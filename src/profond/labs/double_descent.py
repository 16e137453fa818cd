"""Lab: test error against model size is not a U — it descends twice.

Course Q89 (many parameters increase the risk of overfitting), Q87 (deep learning lowers bias
but can raise variance), Q8 and C35 (overfitting: too complex a model; cure: fewer neurons). The
lab fits random ReLU features of digits images by minimum-norm least squares (the limit of
gradient descent from zero on a linear model), for numbers of features p from far below to far
above the number of training examples n, and measures test error and the variance of the
predictions across independently drawn training sets and features. A width sweep of trained
MLPs (profond's family and Trainer) on a few noisy-labelled digits checks the claim where the
course meant it: for networks trained by gradient descent.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    n_train: int = 200
    features: tuple[int, ...] = (20, 50, 100, 150, 180, 200, 220, 250, 300, 500, 1000, 2000, 4000)
    draws: int = 3  # training sets (and feature draws) per seed, for the variance
    peak_window: tuple[float, float] = (0.8, 1.5)  # the threshold region, in units of n
    peak_ratio: float = 1.5  # the peak at least this × the error at p = n/2 and at p = 20 n
    mlp_examples: int = 300  # trained MLPs: training digits, with some labels flipped
    mlp_noise: float = 0.15
    mlp_widths: tuple[int, ...] = (4, 16, 64, 256, 1024)
    mlp_epochs: int = 60
    mlp_small_at_most: int = 64  # "small" MLPs: widths up to this


CONFIG = Config()
FAITHFUL = Config(
    seeds=6, draws=10, mlp_widths=(2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048), mlp_epochs=200
)
CLAIMS = (
    Claim("more_parameters_overfit",
          "More parameters mean more overfitting: past some size, a bigger model tests worse.",
          "Q89; Q8; C35", "test error of the largest model (p = 20 n) against the best model "
          "with fewer features than examples",
          "per seed: the largest model's error is at least the best under-parameterized error",
          expected="does not hold"),
    Claim("error_peaks_at_interpolation",
          "Test error peaks where the model starts to fit the training set exactly (p ≈ n), "
          "then falls again.", "Q89; Q87",
          "test error around p = n against p = n/2 and p = 20 n",
          f"per seed: the largest error for p in [{CONFIG.peak_window[0]:g} n, "
          f"{CONFIG.peak_window[1]:g} n] is ≥ {CONFIG.peak_ratio:g}× both", expected="holds"),
    Claim("variance_grows_with_size",
          "A bigger model has a higher variance (its predictions depend more on the training set).",
          "Q87; Q89", "variance of the test predictions across training sets and feature draws",
          "per seed: the variance at p = 20 n exceeds the variance at p = n/2",
          expected="does not hold"),
    Claim("bigger_trained_mlp_overfits",
          "A trained network with more neurons overfits more (so reduce the neurons).",
          "Q89; C35; Q8", f"test error of one-hidden-layer MLPs of width {CONFIG.mlp_widths} "
          f"trained by Adam on {CONFIG.mlp_examples} digits with {CONFIG.mlp_noise:.0%} flipped "
          "labels, no regularization",
          f"per seed: the widest MLP's test error exceeds the best of widths ≤ "
          f"{CONFIG.mlp_small_at_most}", expected="does not hold"),
)  # fmt: skip


def _fit_predict(x_tr, y_tr, x_te, p: int, rng):
    """Min-norm least squares on ``p`` random ReLU features; returns test scores ``(N_test, C)``."""
    import numpy as np

    w = rng.standard_normal((x_tr.shape[1], p)) / np.sqrt(x_tr.shape[1])
    phi_tr, phi_te = np.maximum(x_tr @ w, 0.0), np.maximum(x_te @ w, 0.0)
    targets = np.eye(int(y_tr.max()) + 1)[y_tr]
    coef = np.linalg.lstsq(phi_tr, targets, rcond=None)[0]  # minimum-norm solution
    return phi_te @ coef


def _seed(c: Config, data, seed: int) -> dict:
    import numpy as np

    x = data.x_train.flatten(1).numpy().astype(np.float64)
    y = data.y_train.numpy()
    x_te = data.x_test.flatten(1).numpy().astype(np.float64)
    y_te = data.y_test.numpy()
    rng = np.random.default_rng(seed)
    errors, variances, train_errors = [], [], []
    for p in c.features:
        preds, errs, tr_errs = [], [], []
        for _ in range(c.draws):
            idx = rng.choice(len(x), c.n_train, replace=False)
            state = rng.bit_generator.state
            scores = _fit_predict(x[idx], y[idx], x_te, p, rng)
            rng.bit_generator.state = state  # same features for the training-error check
            fit = _fit_predict(x[idx], y[idx], x[idx], p, rng)
            preds.append(scores)
            errs.append(float(np.mean(scores.argmax(1) != y_te)))
            tr_errs.append(float(np.mean(fit.argmax(1) != y[idx])))
        stacked = np.stack(preds)
        variances.append(float(stacked.var(axis=0).sum(axis=1).mean()))
        errors.append(float(np.mean(errs)))
        train_errors.append(float(np.mean(tr_errs)))
    return {"test_error": errors, "variance": variances, "train_error": train_errors}


def _mlp_widths(c: Config, data, seed: int) -> dict:
    """Train and test error of trained MLPs of growing width (profond's family and Trainer)."""
    from profond.labs import small_train as st
    from profond.labs import sweeps

    small = sweeps.subset(data, c.mlp_examples, seed)
    noisy = sweeps.with_labels(small, sweeps.flip_labels(small.y_train, c.mlp_noise, data.num_classes, seed))  # fmt: skip
    test, train = [], []
    for width in c.mlp_widths:
        setting = st.Setting(optimizer="adam", lr=1e-3, epochs=c.mlp_epochs, batch_size=32,
                             model_options={"hidden_sizes": (width,), "dropout": 0.0})  # fmt: skip
        model = st.train(setting, noisy, seed, task=sweeps.lean_task).model
        test.append(1.0 - sweeps.accuracy(model, data.x_test, data.y_test))
        train.append(1.0 - sweeps.accuracy(model, noisy.x_train, noisy.y_train))
    return {"test_error": test, "train_error": train}


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    per_seed = [_seed(c, data, s) for s in ctx.seeds]
    n, ps = c.n_train, list(c.features)
    under = [i for i, p in enumerate(ps) if p < n]
    half, largest = ps.index(n // 2), len(ps) - 1
    window = [i for i, p in enumerate(ps) if c.peak_window[0] * n <= p <= c.peak_window[1] * n]
    best_under = [min(r["test_error"][i] for i in under) for r in per_seed]
    last = [r["test_error"][largest] for r in per_seed]
    peaks = [max(r["test_error"][i] for i in window) for r in per_seed]
    ends = [(r["test_error"][half], r["test_error"][largest]) for r in per_seed]
    var_half = [r["variance"][half] for r in per_seed]
    var_last = [r["variance"][largest] for r in per_seed]
    mlps = [_mlp_widths(c, data, s) for s in ctx.seeds]
    small_best = [min(e for w, e in zip(c.mlp_widths, m["test_error"], strict=True) if w <= c.mlp_small_at_most) for m in mlps]  # fmt: skip
    widest = [m["test_error"][-1] for m in mlps]
    figure = _plot(c, per_seed, mlps, ctx)
    return Outcome([
        decide(CLAIMS[0], [a >= b for a, b in zip(last, best_under, strict=True)],
               {"features": ps, "per_seed": per_seed, "largest": last, "best_under": best_under},
               summary=f"test error at p = {ps[-1]}: {fmt_seeds(last)}; best with p < n = {n}: "
               f"{fmt_seeds(best_under)}"),
        decide(CLAIMS[1], [pk >= c.peak_ratio * max(h, e) for pk, (h, e) in zip(peaks, ends, strict=True)],
               {"peak": peaks, "at_half_n": [h for h, _ in ends], "at_20n": [e for _, e in ends]},
               summary=f"peak error near p = n: {fmt_seeds(peaks)} vs p = n/2: "
               f"{fmt_seeds([h for h, _ in ends])} and p = 20 n: {fmt_seeds([e for _, e in ends])}"),
        decide(CLAIMS[2], [a > b for a, b in zip(var_last, var_half, strict=True)],
               {"variance_at_20n": var_last, "variance_at_half_n": var_half},
               summary=f"prediction variance at p = 20 n: {fmt_seeds(var_last)} vs p = n/2: "
               f"{fmt_seeds(var_half)}"),
        decide(CLAIMS[3], [w > s for w, s in zip(widest, small_best, strict=True)],
               {"widths": c.mlp_widths, "per_seed": mlps, "widest": widest, "best_small": small_best},
               summary=f"trained MLPs, test error of width {c.mlp_widths[-1]}: {fmt_seeds(widest)} vs best of widths ≤ "
               f"{c.mlp_small_at_most}: {fmt_seeds(small_best)} (train error of the widest: "
               f"{fmt_seeds([m['train_error'][-1] for m in mlps])})"),
    ], [figure])  # fmt: skip


def _plot(c: Config, per_seed: list[dict], mlps: list[dict], ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_e, ax_v, ax_m) = new_figure(ncols=3, width=4.8)
    seed_lines(ax_m, list(c.mlp_widths), [m["test_error"] for m in mlps], "test error", "tab:red")
    seed_lines(ax_m, list(c.mlp_widths), [m["train_error"] for m in mlps], "train error (noisy labels)", "tab:gray")  # fmt: skip
    ax_m.set_xscale("log")
    ax_m.set(xlabel="hidden width (trained MLP)", ylabel="classification error")
    ax_m.grid(True, alpha=0.3)
    ax_m.legend(fontsize=8)
    ps = list(c.features)
    seed_lines(ax_e, ps, [r["test_error"] for r in per_seed], "test error", "tab:red")
    seed_lines(ax_e, ps, [r["train_error"] for r in per_seed], "train error", "tab:gray")
    seed_lines(ax_v, ps, [r["variance"] for r in per_seed], "variance", "tab:purple", log=True)
    for ax in (ax_e, ax_v):
        ax.set_xscale("log")
        ax.axvline(c.n_train, color="black", linestyle="--", linewidth=0.8)
        ax.set_xlabel("random features p (dashed: p = n)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    ax_e.set_ylabel("classification error")
    ax_v.set_ylabel("variance of test predictions")
    return finish(
        fig, ctx.path("double_descent.png"), f"Double descent, n = {c.n_train} digits, every seed"
    )


LAB = Lab(
    name="double_descent",
    title="Model size: double descent for random features; a trained MLP on noisy labels",
    claims=CLAIMS,
    setup="n = 200 standardized digits drawn from the training split (profond's data registry), "
    "p random ReLU features (Gaussian weights) fitted to one-hot targets by minimum-norm least "
    "squares, p from 20 to 4 000; test error on the 360 test images; variance of the test "
    "predictions over 3 independent training sets and feature draws per seed. Trained MLPs: "
    "one hidden layer of width 4…1 024 (profond's family and Trainer, Adam lr 1e-3, 60 epochs of "
    "batches of 32) on 300 digits with 15 % of their labels flipped.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "overfitting",
        "surapprentissage",
        "sur-apprentissage",
        "double descent",
        "biais",
        "variance",
        "paramètres",
    ),  # fmt: skip
    answers=("Q8", "Q87", "Q89", "C35"),
    fast=True,
)
