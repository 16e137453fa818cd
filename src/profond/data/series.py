"""Real time series that ship with statsmodels, cut into forecasting windows.

Two series, both available offline:

- ``sunspots``: yearly mean sunspot activity, 1700-2008 (309 values); the solar cycle lasts
  about 11 years, so the seasonal baseline looks 11 steps back.
- ``co2``: atmospheric CO2 at Mauna Loa (ppm), weekly 1958-2001 with gaps, averaged here into
  monthly values (the gaps interpolated); the season is 12 months.

The series is split in time, never shuffled: the first part trains, the next validates, the
last tests. A sample is a window of ``window`` past values and the ``horizon`` values that
follow; a window belongs to the split that holds all of its targets (its inputs may reach back
into the previous split, as the past does for any real forecast). The scaling is fitted on the
training span alone and travels with the bundle, so forecasts can be turned back into the
series' own units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from profond.data.bundle import DataBundle
from profond.data.preprocess import Preprocessing
from profond.data.registry import DataOptions, DatasetSpec
from profond.errors import ProfondError

TEST_FRACTION = 0.2  # the last fifth of the series is the test span


@dataclass(frozen=True)
class Series:
    """One univariate series in its own units.

    Attributes:
        values: ``(T,)`` float64 observations, oldest first, no NaN.
        time: ``(T,)`` the time of each value as a decimal year (for plots).
        season: the period of the seasonal baseline, in steps.
        unit: what a value measures, for axis labels.
    """

    values: np.ndarray
    time: np.ndarray
    season: int
    unit: str


def load_sunspots() -> Series:
    """Yearly sunspot activity from ``statsmodels.api.datasets.sunspots``."""
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    return Series(
        values=frame["SUNACTIVITY"].to_numpy(dtype=np.float64),
        time=frame["YEAR"].to_numpy(dtype=np.float64),
        season=11,  # the Schwabe solar cycle, about 11 years
        unit="sunspot activity",
    )


def load_co2() -> Series:
    """Monthly mean CO2 (ppm) from ``statsmodels.api.datasets.co2``."""
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    # Weekly readings have gaps (59 missing weeks); a monthly mean smooths single missing weeks
    # and time interpolation fills the few empty months.
    monthly = weekly.resample("MS").mean().interpolate(method="time")
    index = monthly.index
    time = index.year.to_numpy() + (index.month.to_numpy() - 1) / 12.0
    return Series(
        values=monthly.to_numpy(dtype=np.float64),
        time=time.astype(np.float64),
        season=12,
        unit="CO2 (ppm)",
    )


SERIES_LOADERS: dict[str, Callable[[], Series]] = {"sunspots": load_sunspots, "co2": load_co2}


def make_windows(
    values: np.ndarray, window: int, horizon: int, first_target: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every window whose targets all lie in ``values[first_target:end]``.

    Args:
        values: ``(T,)`` the whole series.
        window: input length.
        horizon: number of targets after each input window.
        first_target: index of the first target of the first window (``>= window``).
        end: one past the last index a target may have.

    Shape:
        Returns ``x`` of shape ``(N, window, 1)`` and ``y`` of shape ``(N, horizon)`` where
        sample ``i`` has its first target at ``first_target + i``.
    """
    starts = np.arange(first_target, end - horizon + 1)
    if len(starts) == 0:
        return np.zeros((0, window, 1)), np.zeros((0, horizon))
    x = np.stack([values[t - window : t] for t in starts])[..., None]  # (N, window, 1)
    y = np.stack([values[t : t + horizon] for t in starts])  # (N, horizon)
    return x, y


def split_points(length: int, val_fraction: float) -> tuple[int, int]:
    """Where the validation and test spans start, for a series of ``length`` values."""
    test_start = length - int(round(length * TEST_FRACTION))
    val_start = test_start - int(round(test_start * val_fraction))
    return val_start, test_start


def fit_scaling(train_values: np.ndarray, normalization: str) -> Preprocessing:
    """An affine scaling fitted on the training span only.

    ``minmax`` maps the training span to [0, 1] and ``standard`` to zero mean and unit
    variance; both are written as ``(x - mean) / std`` so :class:`Preprocessing` applies and
    inverts them (later values may leave [0, 1]: a trend keeps rising after training ends).
    """
    if normalization == "none":
        return Preprocessing(raw_max=1.0, normalization="none")
    if normalization == "minmax":
        low, high = float(train_values.min()), float(train_values.max())
        offset, scale = low, high - low
    elif normalization == "standard":
        offset, scale = float(train_values.mean()), float(train_values.std())
    else:
        raise ProfondError(
            f"unknown normalization {normalization!r} for a time series; "
            "expected minmax, standard or none"
        )
    if not scale > 0:
        raise ProfondError("the training span of the series is constant; it cannot be scaled")
    return Preprocessing(raw_max=1.0, normalization="standard", mean=offset, std=scale)


def series_bundle(name: str, series: Series, options: DataOptions) -> DataBundle:
    """Cut ``series`` into chronological train/validation/test windows.

    ``bundle.extra`` holds what forecasting needs later: ``window``, ``horizon``, ``season``,
    ``unit``, the raw series and its time axis, where each span starts, and the index of the
    first target of each split's first window.
    """
    window, horizon = options.window, options.horizon
    values = series.values
    val_start, test_start = split_points(len(values), options.val_fraction)
    if val_start - window - horizon + 1 <= 0 or len(values) - test_start - horizon + 1 <= 0:
        raise ProfondError(
            f"the {name} series ({len(values)} values) is too short for window={window} and "
            f"horizon={horizon}: its training span has {val_start} values and its test span "
            f"{len(values) - test_start}; choose a smaller window or horizon"
        )
    prep = fit_scaling(values[:val_start], options.normalization)
    scaled = prep.apply(torch.tensor(values)).numpy()

    x_train, y_train = make_windows(scaled, window, horizon, window, val_start)
    x_val, y_val = make_windows(scaled, window, horizon, val_start, test_start)
    x_test, y_test = make_windows(scaled, window, horizon, test_start, len(values))
    if options.limit is not None:
        x_train, y_train = x_train[: options.limit], y_train[: options.limit]

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return DataBundle(
        name=name,
        task="forecasting",
        x_train=tensor(x_train),
        y_train=tensor(y_train),
        x_val=tensor(x_val),
        y_val=tensor(y_val),
        x_test=tensor(x_test),
        y_test=tensor(y_test),
        input_shape=(window, 1),
        preprocessing=prep,
        extra={
            "window": window,
            "horizon": horizon,
            "season": series.season,
            "unit": series.unit,
            "series": values.tolist(),
            "time": series.time.tolist(),
            "val_start": val_start,
            "test_start": test_start,
            "first_target": {"train": window, "val": val_start, "test": test_start},
        },
    )


def load_series(name: str, options: DataOptions) -> DataBundle:
    """The ``--data`` loader of both series."""
    return series_bundle(name, SERIES_LOADERS[name](), options)


def _spec(name: str, description: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        task="forecasting",
        description=description,
        load=lambda options: load_series(name, options),
        status=lambda options: "embedded in statsmodels",
        # a few hundred windows: small batches, a higher rate and early stopping train well
        train_defaults={"batch_size": 32, "lr": 3e-3, "epochs": 100, "patience": 20},
    )


DATASETS: dict[str, DatasetSpec] = {
    "sunspots": _spec("sunspots", "yearly sunspot activity 1700-2008 (309 values), statsmodels"),
    "co2": _spec("co2", "monthly Mauna Loa CO2 1958-2001 (526 values), statsmodels"),
}
