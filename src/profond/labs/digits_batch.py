"""The data the fast labs share: sklearn's digits (8×8 images, 1 797 samples), as tensors.

It ships inside scikit-learn, so these labs never download anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported by the labs when they run, not when they are listed
    import torch


def load_digits_tensors(standardize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """All digits as ``(x, y)``.

    Args:
        standardize: scale each pixel to zero mean and unit variance (else to ``[0, 1]``).

    Shape:
        - ``x``: ``(N, 64)`` float32, ``N = 1797``.
        - ``y``: ``(N,)`` int64 class ids in ``0..9``.
    """
    import torch
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32)
    if standardize:
        # Constant border pixels have zero variance; the epsilon keeps them at 0 rather than NaN.
        x = (x - x.mean(dim=0)) / (x.std(dim=0) + 1e-6)
    else:
        x = x / 16.0  # digits' pixels are integers in 0..16
    return x, torch.tensor(digits.target, dtype=torch.int64)
