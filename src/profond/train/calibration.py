"""Is a classifier's confidence to be believed? Calibration (ECE, reliability) and PR curves.

- :func:`expected_calibration_error`: predictions are grouped by confidence (the top
  probability) in equal-width bins; ECE is the average gap between each bin's accuracy and its
  mean confidence, weighted by the bin's share of samples. 0 is perfectly calibrated.
- :func:`reliability_diagram`: those bins drawn against the diagonal.
- :func:`precision_recall_data` / :func:`precision_recall_figure`: one precision-recall curve
  per class (one-vs-rest) with its average precision, the curve that matters when a class is
  rare (ROC curves look good on the many easy negatives).
- :func:`calibration_report`: all of the above in one call, for ``profond evaluate``.

Every function takes ``probs`` ``(N, K)`` (rows summing to 1) and ``y`` ``(N,)`` class ids,
as NumPy arrays or tensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from profond.errors import ProfondError


def _arrays(probs: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    probs, y = np.asarray(probs, dtype=np.float64), np.asarray(y).astype(np.int64)
    if probs.ndim != 2 or y.shape != (probs.shape[0],):
        raise ProfondError(f"expected probs (N, K) and y (N,), got {probs.shape} and {y.shape}")
    return probs, y


def reliability_bins(probs: Any, y: Any, bins: int = 15) -> dict[str, list[float]]:
    """Per confidence bin: edges, mean confidence, accuracy and sample count.

    Returns:
        ``{"edges": (bins+1,), "confidence": (bins,), "accuracy": (bins,), "count": (bins,)}``
        as lists; empty bins have confidence and accuracy ``nan``.
    """
    if bins < 1:
        raise ProfondError(f"bins must be at least 1, got {bins}")
    probs, y = _arrays(probs, y)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(index, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct, minlength=bins) / count
    return {"edges": edges.tolist(), "confidence": mean_conf.tolist(),
            "accuracy": accuracy.tolist(), "count": count.tolist()}  # fmt: skip


def expected_calibration_error(probs: Any, y: Any, bins: int = 15) -> float:
    """``Σ_b (n_b / N) · |accuracy_b − confidence_b|`` over equal-width confidence bins."""
    table = reliability_bins(probs, y, bins)
    count = np.asarray(table["count"])
    gaps = np.abs(np.asarray(table["accuracy"]) - np.asarray(table["confidence"]))
    total = count.sum()
    return float(np.nansum(count * gaps) / total) if total else 0.0


def reliability_diagram(probs: Any, y: Any, path: Path, bins: int = 15) -> Path:
    """Accuracy per confidence bin against the diagonal (perfect calibration), as a PNG."""
    import matplotlib.pyplot as plt

    from profond.train.plots import save_figure

    table = reliability_bins(probs, y, bins)
    edges = np.asarray(table["edges"])
    centers, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    accuracy = np.nan_to_num(np.asarray(table["accuracy"]))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.bar(centers, accuracy, width=width, edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfect calibration")
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    ax.set_title(f"reliability (ECE = {expected_calibration_error(probs, y, bins):.4f})")
    return save_figure(fig, path)


def precision_recall_data(probs: Any, y: Any, classes: list[str] | None = None) -> dict:
    """One-vs-rest precision-recall curve and average precision of each class.

    Returns:
        ``{class name: {"precision": [...], "recall": [...], "average_precision": float}}``
        (classes absent from ``y`` are left out: their curve is undefined).
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    probs, y = _arrays(probs, y)
    names = classes or [str(k) for k in range(probs.shape[1])]
    out = {}
    for k, name in enumerate(names):
        positive = y == k
        if not positive.any():
            continue
        precision, recall, _ = precision_recall_curve(positive, probs[:, k])
        out[name] = {"precision": precision.tolist(), "recall": recall.tolist(),
                     "average_precision": float(average_precision_score(positive, probs[:, k]))}  # fmt: skip
    return out


def precision_recall_figure(data: dict, path: Path) -> Path:
    """The curves of :func:`precision_recall_data`, one line per class, as a PNG."""
    import matplotlib.pyplot as plt

    from profond.train.plots import save_figure

    fig, ax = plt.subplots(figsize=(6, 5))
    for name, curve in data.items():
        ax.plot(curve["recall"], curve["precision"],
                label=f"{name} (AP {curve['average_precision']:.3f})")  # fmt: skip
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("precision-recall, one class against the rest")
    return save_figure(fig, path)


def calibration_report(
    probs: Any, y: Any, classes: list[str] | None = None, outdir: Path | None = None, bins: int = 15
) -> dict[str, Any]:
    """ECE, reliability bins and per-class average precision; figures into ``outdir``.

    Returns:
        ``{"ece": float, "reliability": {...}, "average_precision": {class: float},
        "mean_average_precision": float, "figures": [paths]}``.
    """
    curves = precision_recall_data(probs, y, classes)
    ap = {name: c["average_precision"] for name, c in curves.items()}
    report: dict[str, Any] = {
        "ece": expected_calibration_error(probs, y, bins),
        "reliability": reliability_bins(probs, y, bins),
        "average_precision": ap,
        "mean_average_precision": float(np.mean(list(ap.values()))) if ap else float("nan"),
        "figures": [],
    }
    if outdir is not None:
        outdir.mkdir(parents=True, exist_ok=True)
        report["figures"] = [
            str(reliability_diagram(probs, y, outdir / "reliability.png", bins)),
            str(precision_recall_figure(curves, outdir / "precision_recall.png")),
        ]
    return report
