"""PNG figures of image tasks: image grids, latent-space scatter plots, segmentation masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from profond.train.plots import plt, save_figure


def image_rows(rows: list[torch.Tensor], labels: list[str], path: Path, title: str = "") -> Path:
    """One row of images per tensor, each row labelled on its left.

    Args:
        rows: tensors of shape ``(N, C, H, W)`` (``C`` = 1 or 3), all with the same ``N``.
        labels: one label per row.
    """
    count = rows[0].shape[0]
    fig, axes = plt.subplots(
        len(rows), count, figsize=(1.3 * count, 1.4 * len(rows)), squeeze=False
    )
    for r, (images, label) in enumerate(zip(rows, labels, strict=True)):
        for c in range(count):
            ax = axes[r][c]
            image = images[c].detach().cpu().float()
            if image.shape[0] == 1:
                ax.imshow(image[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0)
            else:
                ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(label)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def latent_scatter(
    latent: np.ndarray, labels: np.ndarray, classes: list[str], path: Path, title: str
) -> Path:
    """Scatter of 2-D codes coloured by class. Shape: ``latent`` ``(N, 2)``, ``labels`` ``(N,)``."""
    fig, ax = plt.subplots(figsize=(7, 6))
    cmap = plt.get_cmap("tab10")
    for k in np.unique(labels):
        chosen = labels == k
        name = classes[int(k)] if int(k) < len(classes) else str(int(k))
        ax.scatter(
            latent[chosen, 0],
            latent[chosen, 1],
            s=6,
            alpha=0.6,
            color=cmap(int(k) % 10),
            label=name,
        )
    ax.legend(markerscale=3, fontsize=8, loc="best")
    ax.set_title(title)
    return save_figure(fig, path)


def mask_triptychs(
    images: torch.Tensor,
    truth: torch.Tensor,
    prediction: torch.Tensor,
    classes: list[str],
    path: Path,
) -> Path:
    """Columns image | true mask | predicted mask, one row per sample.

    Shape: ``images`` ``(N, C, H, W)``; ``truth`` and ``prediction`` ``(N, H, W)`` class ids.
    """
    count = images.shape[0]
    fig, axes = plt.subplots(count, 3, figsize=(6, 2 * count), squeeze=False)
    vmax = max(len(classes) - 1, 1)
    for i in range(count):
        axes[i][0].imshow(images[i, 0].cpu().numpy(), cmap="gray")
        axes[i][1].imshow(truth[i].cpu().numpy(), cmap="viridis", vmin=0, vmax=vmax)
        axes[i][2].imshow(prediction[i].cpu().numpy(), cmap="viridis", vmin=0, vmax=vmax)
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, name in zip(axes[0], ("image", "truth", "prediction"), strict=True):
        ax.set_title(name)
    fig.suptitle(
        "colours: " + ", ".join(f"{k}={name}" for k, name in enumerate(classes)), fontsize=8
    )
    return save_figure(fig, path)
