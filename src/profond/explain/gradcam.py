"""Where a classifier looked: Grad-CAM for convolutional models, saliency for the others.

Grad-CAM (Selvaraju et al., 2017, arXiv:1610.02391) weighs each channel of the last
convolution by the mean gradient of the target score over that channel, keeps the positive
part of the weighted sum and upsamples it to the input: it shows *which regions* hold the
evidence for a class. A model without convolutions has no feature map to weigh, so it gets
a saliency map instead (Simonyan et al., 2013, arXiv:1312.6034): the absolute gradient of the
target score with respect to each input pixel.

Both come from Captum, so the gradients are computed the way the library's users expect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam, Saliency
from torch import nn

from profond.errors import ProfondError
from profond.models.wrappers import eval_mode


@dataclass(frozen=True)
class Explanation:
    """One explained prediction.

    Attributes:
        target: the class index that was explained.
        method: ``"gradcam"`` or ``"saliency"``.
        heatmap: ``(H, W)`` float32 in ``[0, 1]``, same height and width as the input image;
            1 marks the strongest evidence for ``target``.
    """

    target: int
    method: str
    heatmap: np.ndarray


def explain(model: nn.Module, x: torch.Tensor, target: int | None = None) -> Explanation:
    """Explain the model's score for ``target`` on one input.

    Models that expose ``gradcam_layer`` (their last convolution) get Grad-CAM on that layer,
    upsampled bilinearly to the input's size; other models get a saliency map. The model is
    put in eval mode for the computation and given back in the mode it was in.

    Args:
        model: a classifier returning logits ``(B, num_classes)``.
        x: one input, already preprocessed as in training.
        target: the class to explain; ``None`` explains the predicted class.

    Shape:
        - x: ``(1, C, H, W)``, ``(1, H, W)`` or ``(1, F)`` with ``F`` a square number
          (flattened square images, as an MLP sees them).
        - heatmap: ``(H, W)``.

    Returns:
        An :class:`Explanation`.
    """
    height, width = _image_size(x)
    x = x.detach().to(torch.float32)
    if not torch.isfinite(x).all():
        raise ProfondError("the input holds NaN or infinite values; send finite numbers")
    with eval_mode(model), torch.enable_grad():
        with torch.no_grad():
            logits = model(x)
        if logits.ndim != 2 or logits.shape[0] != 1:
            raise ProfondError(
                f"explain needs a classifier returning (1, num_classes) logits; "
                f"got output of shape {tuple(logits.shape)}"
            )
        num_classes = logits.shape[1]
        if target is None:
            target = int(logits.argmax(dim=1).item())
        elif not 0 <= target < num_classes:
            raise ProfondError(
                f"target must be a class index in 0..{num_classes - 1}. Received: target={target}"
            )
        layer = getattr(model, "gradcam_layer", None)
        if isinstance(layer, nn.Module):
            heatmap = _gradcam(model, layer, x, target, (height, width))
            method = "gradcam"
        else:
            heatmap = _saliency(model, x, target, (height, width))
            method = "saliency"
    return Explanation(target=target, method=method, heatmap=_normalize(heatmap))


def _gradcam(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, target: int, size: tuple[int, int]
) -> torch.Tensor:
    """Shape: x ``(1, ...)`` → ``(H, W)``, non-negative."""
    # relu_attributions keeps only the regions that raise the target score, as in the paper.
    cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
    if cam.ndim != 4:
        raise ProfondError(
            f"gradcam_layer must output a (B, C, H, W) feature map; got {cam.ndim - 1} dims"
        )
    cam = LayerAttribution.interpolate(cam, size, interpolate_mode="bilinear")  # (1, 1, H, W)
    return cam.detach()[0, 0].clamp(min=0)


def _saliency(
    model: nn.Module, x: torch.Tensor, target: int, size: tuple[int, int]
) -> torch.Tensor:
    """Shape: x ``(1, ...)`` → ``(H, W)``, non-negative."""
    x = x.clone().requires_grad_(True)  # a leaf that collects the input gradients
    grads = Saliency(model).attribute(x, target=target, abs=True).detach()
    if grads.ndim == 4:  # (1, C, H, W): a pixel matters as much as its strongest channel
        grads = grads.amax(dim=1)
    return grads.reshape(size)


def _normalize(heatmap: torch.Tensor) -> np.ndarray:
    """Scale to [0, 1] by the maximum; an all-zero map (no evidence) stays zero."""
    peak = float(heatmap.max())
    if not math.isfinite(peak):
        raise ProfondError("the explanation is not finite; the model's gradients overflowed")
    scaled = heatmap / peak if peak > 0 else torch.zeros_like(heatmap)
    return scaled.numpy().astype(np.float32)


def _image_size(x: torch.Tensor) -> tuple[int, int]:
    """The ``(H, W)`` a heatmap of input ``x`` has; a clear error when ``x`` is no image."""
    if not isinstance(x, torch.Tensor):
        raise ProfondError(f"expected a torch.Tensor input. Received: {type(x).__name__}")
    if x.ndim < 2 or x.shape[0] != 1:
        raise ProfondError(
            f"explain takes one input of shape (1, C, H, W), (1, H, W) or (1, F). "
            f"Received: shape={tuple(x.shape)}"
        )
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ProfondError(
                f"a flat input of {x.shape[1]} values is not a square image; "
                f"explain needs image inputs"
            )
        return side, side
    if x.ndim > 4:
        raise ProfondError(f"explain takes image inputs. Received: shape={tuple(x.shape)}")
    return int(x.shape[-2]), int(x.shape[-1])
