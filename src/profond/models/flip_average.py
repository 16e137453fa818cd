"""Test-time flip augmentation as a module, so that a served model answers as it was tested.

A classifier trained with ``--tta flip`` is evaluated on each image and its left-right mirror
image, averaging the two class distributions. :class:`FlipAveraged` does the same in one
``forward``, which the PyTorch runtime runs and the ONNX export records: ``profond predict``,
the server and the exported graph then give the probabilities the test accuracy was measured
on.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class FlipAveraged(nn.Module):
    """``x → log(½ softmax(model(x)) + ½ softmax(model(flip(x))))``.

    The output is a log-probability, so that its softmax is the averaged distribution itself:
    code that applies a softmax to a classifier's logits reads the average unchanged.

    Args:
        model: an image classifier returning logits.

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B, num_classes)`` log-probabilities.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        both = torch.stack(
            [
                # in float32 even under bfloat16 autocast, which keeps log_softmax in bf16
                torch.log_softmax(self.model(x).float(), dim=1),
                torch.log_softmax(self.model(x.flip(-1)).float(), dim=1),
            ]
        )  # (2, B, K)
        return torch.logsumexp(both, dim=0) - math.log(2.0)  # log of the mean probability

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The model's own features of the unflipped image (what drift monitoring watches)."""
        return self.model.features(x)  # type: ignore[operator,no-any-return]


def with_test_time_augmentation(model: nn.Module, tta: str | None, input_dims: int) -> nn.Module:
    """``model`` wrapped as it was evaluated: :class:`FlipAveraged` for ``tta == "flip"`` on
    images (``input_dims == 3``: ``(C, H, W)`` per sample), ``model`` itself otherwise."""
    if tta == "flip" and input_dims == 3:
        return FlipAveraged(model).train(model.training)
    return model
