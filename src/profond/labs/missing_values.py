"""Lab: missing values — a network does not handle them natively; how to impute them.

Course: deep learning does not treat missing values natively; impute them (mean, median), use
dedicated models, or drop the rows. Measured on digits with pixels removed completely at random
(MCAR) or more often when bright (MNAR, the missingness then tells something about the image).
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (128, 128)
    epochs: int = 20
    lr: float = 1e-3  # Adam
    missing_rate: float = 0.3  # MCAR: each pixel missing with this probability
    mnar_slope: float = (
        0.8  # MNAR: a pixel of value v in [0, 1] is missing with probability slope·v
    )
    margin: float = 0.01  # indicators help under MNAR: +1 point beyond 2 × pooled seed std
    mcar_tolerance: float = 0.01  # ... and change less than this under MCAR


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=40)
CLAIMS = (
    Claim("nan_propagates",
          "A neural network does not handle missing values natively: one missing input spoils "
          "the whole prediction.", "Q127",
          "outputs of a trained MLP for test images with one pixel set to NaN",
          "per seed: every output of every such image is NaN", expected="holds"),
    Claim("indicators_help_when_informative",
          "When missingness is informative (MNAR), adding missingness indicators to mean "
          "imputation beats mean imputation alone.", "Q28; Q127",
          f"digits test accuracy of a 128-128 MLP, pixels missing with probability "
          f"{CONFIG.mnar_slope:g} × brightness: mean imputation vs mean imputation + indicators",
          f"per seed: indicators − plain > max({CONFIG.margin:g}, 2 × pooled seed std)",
          expected="holds"),
    Claim("indicators_neutral_at_random",
          "When values are missing completely at random, the indicators add little.", "Q127",
          f"the same comparison with {CONFIG.missing_rate:.0%} of pixels missing completely at random",
          f"per seed: |indicators − plain| ≤ max({CONFIG.mcar_tolerance:g}, 2 × pooled seed std)",
          expected="holds"),
)  # fmt: skip


def _mask(x, mechanism: str, c: Config, seed: int):
    """Boolean mask of missing entries. Shape: ``x`` ``(N, F)`` in [0, 1] → ``(N, F)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    p = c.missing_rate if mechanism == "mcar" else c.mnar_slope * x
    return rng.random(x.shape) < p


def _bundle(data, mechanism: str, indicators: bool, c: Config, seed: int):
    """Digits with missing pixels, mean-imputed (training means), indicators appended if asked."""
    import numpy as np

    from profond.labs.toy import classification_bundle

    splits = {}
    means = None
    for i, (name, x, y) in enumerate((("train", data.x_train, data.y_train),
                                      ("val", data.x_val, data.y_val),
                                      ("test", data.x_test, data.y_test))):  # fmt: skip
        flat = x.flatten(1).numpy().astype(np.float32)
        missing = _mask(flat, mechanism, c, seed * 10 + i)
        with_nan = np.where(missing, np.nan, flat)
        if means is None:  # observed training values only
            means = np.nan_to_num(np.nanmean(with_nan, axis=0), nan=0.0)
        filled = np.where(missing, means, with_nan).astype(np.float32)
        if indicators:
            filled = np.concatenate([filled, missing.astype(np.float32)], axis=1)
        splits[name] = (filled, y.numpy())
    return classification_bundle(
        f"digits-{mechanism}", splits["train"], splits["test"], splits["val"]
    )


def _nan_outputs(model, data) -> float:
    """Share of outputs that are NaN when one pixel per test image is NaN."""
    import torch

    x = data.x_test.clone()
    x.view(len(x), -1)[:, 27] = float("nan")  # a pixel near the centre
    with torch.no_grad():
        return float(torch.isnan(model(x)).float().mean())


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="minmax")
    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    nan_share = [
        _nan_outputs(st.train(setting.but(epochs=3), data, s).model, data) for s in ctx.seeds
    ]
    acc: dict[str, list[float]] = {}
    for mechanism in ("mnar", "mcar"):
        for indicators in (False, True):
            key = f"{mechanism}_{'indicators' if indicators else 'mean'}"
            acc[key] = [st.train(setting, _bundle(data, mechanism, indicators, c, s), s).test["test_accuracy"]
                        for s in ctx.seeds]  # fmt: skip
    mnar = compare(acc["mnar_indicators"], acc["mnar_mean"], margin=c.margin)
    mcar = compare(acc["mcar_indicators"], acc["mcar_mean"], margin=c.mcar_tolerance)
    figure = _plot(acc, ctx)
    return Outcome([
        decide(CLAIMS[0], [share == 1.0 for share in nan_share], {"nan_share": nan_share},
               summary=f"share of NaN outputs with one NaN pixel: {fmt_seeds(nan_share)}"),
        decide(CLAIMS[1], mnar.greater(), mnar.to_json(),
               summary=f"MNAR: mean + indicators {fmt_seeds(mnar.a)} vs mean {fmt_seeds(mnar.b)} "
               f"(counts beyond {mnar.threshold:.3f})"),
        decide(CLAIMS[2], mcar.similar(), mcar.to_json(),
               summary=f"MCAR: mean + indicators {fmt_seeds(mcar.a)} vs mean {fmt_seeds(mcar.b)} "
               f"(tolerance {mcar.threshold:.3f})"),
    ], [figure])  # fmt: skip


def _plot(acc, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax,) = new_figure(width=6.0)
    seed_dots(ax, {k.replace("_", ", "): v for k, v in acc.items()}, "test accuracy")
    return finish(fig, ctx.path("missing_values.png"), "Missing pixels: imputation and indicators")


LAB = Lab(
    name="missing_values",
    title="Missing values: NaN spoils a prediction; indicators help when missingness is informative",
    claims=CLAIMS,
    setup="Digits scaled to [0, 1], flattened; pixels removed completely at random (30 %) or "
    "with probability 0.8 × brightness (MNAR); mean imputation from the observed training "
    "values, with or without 64 missingness indicators as extra inputs; a 128-128 ReLU MLP "
    "trained with Adam (profond's Trainer). NaN propagation checked on a model trained on "
    "complete images.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("missing values", "valeurs manquantes", "imputation", "NaN"),
    answers=("Q28", "Q127"),
)
