"""Figures that show every seed: thin lines (or dots) per seed, a thick mean on top.

All figures are saved through :func:`profond.train.plots.save_figure` (atomic PNG).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.8) -> tuple:
    """``(fig, axes)`` with ``axes`` always a flat list."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, list(axes.ravel())


def seed_lines(
    ax: Any,
    x: Sequence[float],
    ys_by_seed: Sequence[Sequence[float]],
    label: str,
    color: str | None = None,
    log: bool = False,
) -> None:
    """One thin line per seed and their mean as a thick line (mean over finite values)."""
    color = color or ax._get_lines.get_next_color()
    plot = ax.semilogy if log else ax.plot
    for ys in ys_by_seed:
        plot(x[: len(ys)], ys, color=color, alpha=0.35, linewidth=0.9)
    if ys_by_seed:
        length = min(len(ys) for ys in ys_by_seed)
        stacked = np.array([list(ys)[:length] for ys in ys_by_seed], dtype=float)
        stacked[~np.isfinite(stacked)] = np.nan
        with np.errstate(all="ignore"):
            mean = np.nanmean(stacked, axis=0) if stacked.size else stacked
        plot(x[:length], mean, color=color, linewidth=2.2, label=f"{label} (n={len(ys_by_seed)})")


def seed_dots(
    ax: Any, groups: Mapping[str, Sequence[float]], ylabel: str = "", log: bool = False
) -> None:
    """A bar per group at its mean, with one dot per seed."""
    names = list(groups)
    for i, name in enumerate(names):
        values = np.asarray(groups[name], dtype=float)
        finite = values[np.isfinite(values)]
        ax.bar(i, finite.mean() if finite.size else 0.0, color="#c8d7ea", edgecolor="#5a7fa8")
        jitter = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
        ax.scatter(np.asarray(jitter) + i, values, color="#1f3b5c", zorder=3, s=18)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)


def finish(fig: Any, path: Path, title: str = "") -> Path:
    """Title, tight layout and an atomic PNG save; returns ``path``."""
    from profond.train.plots import save_figure

    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, Path(path))
