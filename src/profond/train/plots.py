"""PNG figures shared by tasks: training curves and the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from profond.atomic import atomic_write  # noqa: E402


def save_figure(fig: plt.Figure, path: Path) -> Path:
    """Save ``fig`` as a PNG atomically and close it."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path


def training_curves(history: dict[str, list[float]], path: Path) -> Path:
    """Loss (train/val) on the left, the other validation metrics on the right, per epoch."""
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(history.get("train_loss", [])) + 1)
    for key in ("train_loss", "val_loss"):
        if key in history:
            ax_loss.plot(epochs, history[key], marker="o", label=key)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    metrics = [k for k in history if k.startswith("val_") and k != "val_loss"]
    for key in metrics:
        ax_metric.plot(epochs, history[key], marker="o", label=key)
    ax_metric.set_xlabel("epoch")
    ax_metric.set_title("validation metrics")
    if metrics:
        ax_metric.legend()
    ax_metric.grid(alpha=0.3)
    return save_figure(fig, path)


def confusion_matrix_figure(matrix: list[list[int]], classes: list[str], path: Path) -> Path:
    """The test confusion matrix, rows = true class, columns = predicted class."""
    m = np.asarray(matrix)
    size = max(5.0, 0.55 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = m.max() / 2 if m.size else 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if m[i, j] > threshold else "black")  # fmt: skip
    ax.set_title("confusion matrix (test split)")
    return save_figure(fig, path)
