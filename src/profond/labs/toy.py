"""Generated data for labs (XOR, blobs, moons, 1-D functions) as profond DataBundles, and a
regression task for the trainer (a loss of the lab's choice on ``(N, 1)`` targets).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

    from profond.data.bundle import DataBundle


def xor_points(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points around the 4 corners (±1, ±1); label 1 where ``x1·x2 < 0`` (XOR of signs).

    Shape: ``(n, 2)`` float32, ``(n,)`` int64.
    """
    rng = np.random.default_rng(seed)
    corners = rng.choice([-1.0, 1.0], size=(n, 2))
    x = corners + noise * rng.standard_normal((n, 2))
    return x.astype(np.float32), (corners[:, 0] * corners[:, 1] < 0).astype(np.int64)


def blobs(n: int, centers: list[tuple[float, float]], std: float, seed: int) -> tuple:
    """``n`` points split evenly between Gaussian blobs; the label is the blob's index."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(centers)
    x = np.asarray(centers, dtype=float)[labels] + std * rng.standard_normal((n, 2))
    return x.astype(np.float32), labels.astype(np.int64)


def moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


def classification_bundle(
    name: str, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None = None,
) -> DataBundle:  # fmt: skip
    """A classification :class:`DataBundle` from arrays already scaled as the lab wants.

    Shape: ``x``: ``(N, F)``; ``y``: ``(N,)`` int64 class ids.
    """
    import torch

    from profond.data.bundle import DataBundle

    val = val if val is not None else (train[0][:0], train[1][:0])
    classes = sorted({int(c) for c in np.concatenate([train[1], test[1]])})
    t = [torch.as_tensor(a) for a in (*train, *val, *test)]
    return DataBundle(name, "classification", t[0].float(), t[1].long(), t[2].float(),
                      t[3].long(), t[4].float(), t[5].long(), tuple(train[0].shape[1:]),
                      [str(c) for c in range(max(classes) + 1)])  # fmt: skip


def regression_bundle(
    name: str, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None = None,
) -> DataBundle:  # fmt: skip
    """A regression :class:`DataBundle` (task ``regression``). Shape: ``x`` ``(N, F)``, ``y`` ``(N, 1)``."""
    import torch

    from profond.data.bundle import DataBundle

    val = val if val is not None else (train[0][:0], train[1][:0])
    t = [torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in (*train, *val, *test)]
    width = int(np.prod(np.shape(train[1])[1:]))  # targets become (N, width), width ≥ 1
    ys = [y.reshape(len(y), width) for y in (t[1], t[3], t[5])]
    return DataBundle(name, "regression", t[0], ys[0], t[2], ys[1], t[4], ys[2],
                      tuple(train[0].shape[1:]))  # fmt: skip


def regression_task(data: DataBundle, loss: str = "mse") -> Any:
    """A :class:`~profond.train.task.Task` that fits ``(N, 1)`` targets with ``loss``.

    ``loss``: ``mse``, ``mae`` or ``huber`` (δ = 1). Evaluation reports ``loss`` (the training
    loss), ``mse`` and ``mae`` on the split.
    """
    import torch
    import torch.nn.functional as F

    from profond.train.task import Task

    losses: dict[str, Callable[..., torch.Tensor]] = {
        "mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss,
    }  # fmt: skip

    class RegressionTask(Task):
        name = "regression"

        def training_step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return losses[loss](model(x), y)

        @torch.no_grad()
        def evaluate(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int):
            pred = model(x)
            return {
                "loss": losses[loss](pred, y).item(),
                "mse": F.mse_loss(pred, y).item(),
                "mae": F.l1_loss(pred, y).item(),
            }

    return RegressionTask(data)


def sequential(*layers: Any) -> nn.Module:
    """``nn.Sequential`` after flattening the input: a model for bundles of ``(N, F)`` inputs."""
    from torch import nn

    return nn.Sequential(nn.Flatten(), *layers)
