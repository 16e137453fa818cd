"""Segmentation: a class for every pixel (cross-entropy per pixel, mean IoU)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError
from profond.train.task import Task

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle
    from profond.models.saved import ModelCard

FIGURE_SAMPLES = 6  # rows of the masks figure


def confusion_matrix(y_hat: torch.Tensor, y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Pixel counts, rows = true class, columns = predicted class.

    Shape: ``y_hat`` and ``y`` ``(B, H, W)`` class ids → ``(num_classes, num_classes)`` int64.
    """
    index = y.reshape(-1).to(torch.int64) * num_classes + y_hat.reshape(-1).to(torch.int64)
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def iou_per_class(matrix: torch.Tensor) -> torch.Tensor:
    """Intersection over union of each class; NaN for a class absent from truth and prediction."""
    matrix = matrix.to(torch.float64)
    intersection = matrix.diag()
    union = matrix.sum(0) + matrix.sum(1) - intersection
    return torch.where(union > 0, intersection / union.clamp(min=1), torch.nan)


class SegmentationTask(Task):
    """Per-pixel cross-entropy; ``miou`` is the mean of the per-class IoU over the split."""

    name = "segmentation"
    predict_input = "rows_or_image"
    # shapes are light on a darker background, as the generated data draws them
    image_invert = "no"
    output_kind = "mask"
    main_metric, main_metric_greater_is_better = "test_miou", True
    monitor = "miou"
    monitor_mode = "max"

    def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(model(x), y)  # logits (B, K, H, W), y (B, H, W)

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
    ) -> dict[str, float]:
        device = next(model.parameters()).device
        num_classes = max(self.data.num_classes, int(y.max()) + 1 if y.numel() else 1)
        matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
        total_loss = 0.0
        for start in range(0, len(x), batch_size):
            xb, yb = (
                x[start : start + batch_size].to(device),
                y[start : start + batch_size].to(device),
            )
            logits = model(xb)
            total_loss += F.cross_entropy(logits, yb, reduction="sum").item()
            matrix += confusion_matrix(logits.argmax(1), yb, num_classes).cpu()
        pixels = max(int(matrix.sum()), 1)
        return {
            "loss": total_loss / pixels,
            "miou": float(iou_per_class(matrix).nanmean()),
            "pixel_accuracy": float(matrix.diag().sum()) / pixels,
        }

    @torch.no_grad()
    def figures(
        self, model: nn.Module, data: DataBundle, outdir: Path, history: dict[str, list[float]]
    ) -> list[Path]:
        from profond.train.figures_vision import mask_triptychs
        from profond.train.plots import training_curves

        outdir.mkdir(parents=True, exist_ok=True)
        device = next(model.parameters()).device
        x = data.x_test[:FIGURE_SAMPLES]
        prediction = model(x.to(device)).argmax(1).cpu()
        return [
            training_curves(history, outdir / "curves.png"),
            mask_triptychs(
                x, data.y_test[:FIGURE_SAMPLES], prediction, data.classes, outdir / "masks.png"
            ),
        ]

    @staticmethod
    def format_prediction(output: torch.Tensor, card: ModelCard) -> list[dict[str, Any]]:
        """Per image: the mask, each class's share of pixels, and the classes present.

        Shape: ``output`` ``(B, K, H, W)`` logits.
        """
        if output.dim() != 4:
            raise ProfondError(
                f"expected segmentation logits (B, K, H, W), got shape {tuple(output.shape)}"
            )
        masks = output.detach().argmax(1).cpu()  # (B, H, W)
        num_classes = output.shape[1]
        names = card.classes or [str(k) for k in range(num_classes)]
        results = []
        for mask in masks:
            counts = torch.bincount(mask.reshape(-1), minlength=num_classes).tolist()
            total = max(sum(counts), 1)
            results.append({
                "shape": list(mask.shape),
                "pixel_fraction": {names[k]: round(c / total, 4) for k, c in enumerate(counts)},
                "present": [names[k] for k, c in enumerate(counts) if k > 0 and c > 0],
                "mask": mask.tolist(),
            })  # fmt: skip
        return results
