"""Lab: forecasting sunspots: does an LSTM beat naive and linear baselines, and does the error
grow with the horizon?

Q16, Q27 and Q72: recurrent networks suit time series ("time series → LSTM/GRU"); forecasting
several steps ahead is harder than one. The lab trains profond's LSTM forecaster (recursive: one
step learned, rolled forward) on the yearly sunspot series and measures its test RMSE at every
horizon from 1 to 11 years, next to persistence, the seasonal-naive forecast (11 years back) and
a ridge autoregression on the same window (scikit-learn), rolled forward the same way. Errors are
in the series' own units on the last fifth of the series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds, spearman


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    window: int = 24  # past years the models read
    horizon: int = 11  # years ahead (one solar cycle)
    hidden: int = 32
    epochs: int = 60
    lr: float = 3e-3  # Adam
    ridge_alpha: float = 1.0
    grows: float = 0.8  # "error grows with the horizon": Spearman correlation at least this
    beats_naive: float = 0.8  # LSTM one-step RMSE below this times persistence's
    beats_linear: float = 0.95  # LSTM one-step RMSE below this times the ridge AR's


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=150, hidden=64)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "error_grows_with_horizon",
            "Forecasting several steps ahead is harder: the error grows with the horizon.",
            "Q72",
            f"test RMSE of the recursive LSTM at horizons 1..{c.horizon}",
            f"holds for a seed if the Spearman correlation of RMSE with horizon is >= {c.grows:g}",
            expected="subtle",
        ),
        Claim(
            "lstm_beats_naive",
            "A recurrent network forecasts a time series better than repeating the last value.",
            "Q16; Q27",
            "one-step test RMSE, LSTM over persistence",
            f"holds for a seed if the ratio < {c.beats_naive:g}",
            expected="holds",
        ),
        Claim(
            "lstm_beats_linear",
            "For a time series an LSTM is the model to prefer over simpler models.",
            "Q27; Q18",
            "one-step test RMSE, LSTM over a ridge autoregression on the same window",
            f"holds for a seed if the ratio < {c.beats_linear:g}",
            expected="does not hold",
        ),
    )


CLAIMS = _claims(CONFIG)


def rmse_by_step(truth: np.ndarray, forecast: np.ndarray) -> list[float]:
    """Shape: ``(N, H)`` twice → ``H`` RMSEs, one per horizon."""
    return [float(v) for v in np.sqrt(((truth - forecast) ** 2).mean(axis=0))]


def ridge_forecast(one_step, test_x, c: Config) -> np.ndarray:
    """A ridge AR fitted on the one-step bundle's training windows, rolled forward.

    Shape: ``test_x (N, window, 1)`` → ``(N, horizon)`` in scaled units.
    """
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=c.ridge_alpha).fit(
        one_step.x_train[..., 0].numpy(), one_step.y_train[:, 0].numpy()
    )
    window = test_x[..., 0].numpy().astype(np.float64)
    out = []
    for _ in range(c.horizon):
        step = ridge.predict(window)
        out.append(step)
        window = np.concatenate([window[:, 1:], step[:, None]], axis=1)
    return np.stack(out, axis=1)


def lstm_forecast(one_step, test_x, c: Config, seed: int) -> np.ndarray:
    """profond's LSTM trained one step ahead by the Trainer, then rolled forward ``horizon``
    steps by its ``forecast`` (the recursive strategy). Shape: ``(N, horizon)`` scaled."""
    from profond.labs.small_train import Setting, train
    from profond.train.tasks.forecasting import predict_steps

    setting = Setting(
        model="lstm", optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=32,
        model_options={"hidden_size": c.hidden, "num_layers": 1, "dropout": 0.0},
    )  # fmt: skip
    model = train(setting, one_step, seed).model
    return predict_steps(model, test_x, c.horizon, 256).double().numpy()


def experiment(ctx: LabContext) -> Outcome:
    import torch

    from profond.data.registry import DataOptions, load_dataset
    from profond.train.tasks.forecasting import persistence_forecast, seasonal_forecast

    c: Config = ctx.config
    claims = _claims(c)
    data = load_dataset("sunspots", DataOptions(window=c.window, horizon=c.horizon))
    # the models learn one step ahead; the same scaling (fitted on the same span) for both
    one_step = load_dataset("sunspots", DataOptions(window=c.window, horizon=1))
    prep, extra = data.preprocessing, data.extra
    series = np.asarray(extra["series"])
    firsts = extra["first_target"]["test"] + np.arange(len(data.y_test))
    truth = prep.invert(data.y_test.double()).numpy()

    def raw(scaled: np.ndarray) -> np.ndarray:
        return prep.invert(torch.from_numpy(scaled)).numpy()

    curves = {
        "persistence": rmse_by_step(truth, persistence_forecast(series, firsts, c.horizon)),
        "seasonal naive": rmse_by_step(truth, seasonal_forecast(series, firsts, c.horizon, extra["season"])),
        "ridge AR": rmse_by_step(truth, raw(ridge_forecast(one_step, data.x_test, c))),
    }  # fmt: skip
    lstm = [rmse_by_step(truth, raw(lstm_forecast(one_step, data.x_test, c, s))) for s in ctx.seeds]
    steps = list(range(1, c.horizon + 1))
    rho = [spearman(steps, r) for r in lstm]
    naive = [r[0] / curves["persistence"][0] for r in lstm]
    linear = [r[0] / curves["ridge AR"][0] for r in lstm]
    verdicts = [
        decide(claims[0], [v >= c.grows for v in rho], {"lstm_rmse_by_horizon": lstm, "spearman": rho},
               summary=f"LSTM RMSE at h = 1 / {c.horizon}: "
               + "; ".join(f"{r[0]:.1f} / {r[-1]:.1f}" for r in lstm) + f" (Spearman {fmt_seeds(rho)})."),
        decide(claims[1], [v < c.beats_naive for v in naive], {"ratio": naive, "baselines": curves},
               summary=f"one-step RMSE: LSTM {fmt_seeds([r[0] for r in lstm])}, persistence "
               f"{curves['persistence'][0]:.1f} (ratio {fmt_seeds(naive)})."),
        decide(claims[2], [v < c.beats_linear for v in linear], {"ratio": linear},
               summary=f"one-step RMSE: LSTM {fmt_seeds([r[0] for r in lstm])}, ridge AR "
               f"{curves['ridge AR'][0]:.1f} (ratio {fmt_seeds(linear)})."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(curves, lstm, steps, extra["unit"], ctx)])


def _plot(curves: dict, lstm: list[list[float]], steps: list[int], unit: str, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=6.0)
    seed_lines(ax, steps, lstm, "LSTM (recursive)")
    for name, values in curves.items():
        ax.plot(steps, values, linestyle="--", marker=".", label=name)
    ax.set_xlabel("horizon (years ahead)")
    ax.set_ylabel(f"test RMSE ({unit})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, ctx.path("rmse_by_horizon.png"), "Sunspots: error by horizon")


LAB = Lab(
    name="forecasting_baselines",
    title="Forecasting sunspots: LSTM vs naive and linear baselines, error by horizon",
    claims=CLAIMS,
    setup=(
        "Yearly sunspots (statsmodels), windows of 24 years, the last fifth for test. profond's "
        "LSTM (32 units) trained one step ahead by the Trainer (Adam 3e-3, 60 epochs, batch "
        "32); persistence, seasonal naive (11 years) and a ridge autoregression on the same "
        "window, all rolled forward 1 to 11 years; RMSE in sunspot units."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("time series", "série temporelle", "forecasting", "prévision", "multi-step", "lstm"),
    answers=("Q16", "Q18", "Q27", "Q42", "Q50", "Q71", "Q72"),
)
