"""Per-epoch metrics on groups of classes (old and new), for continual learning runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from profond.train.callbacks import Callback

if TYPE_CHECKING:
    from profond.train.trainer import Trainer


class GroupAccuracy(Callback):
    """Adds ``{prefix}{group}_accuracy`` to each epoch's logs (the tracker then logs them).

    Place it before the tracker in the callback list.

    Args:
        groups: ``{"old": [0, 1, 2, 3, 4], "new": [5, 6, 7, 8, 9]}``: class ids per group.
        x: evaluation inputs ``(N, *input_shape)``; y: their classes ``(N,)``.
        prefix: prepended to the metric names (``"val_"``).
    """

    def __init__(
        self, groups: dict[str, list[int]], x: torch.Tensor, y: torch.Tensor, prefix: str = "val_"
    ) -> None:
        self.groups = {name: torch.tensor(ids) for name, ids in groups.items()}
        self.x, self.y, self.prefix = x, y, prefix

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        model = trainer.model
        if model is None:
            return
        logs.update(group_accuracy(model, self.x, self.y, self.groups, self.prefix))


@torch.no_grad()
def group_accuracy(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    groups: dict[str, torch.Tensor],
    prefix: str = "",
    batch_size: int = 512,
) -> dict[str, float]:
    """Accuracy of ``model`` on the samples of each group of classes (nan for an empty group)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    predictions = torch.cat([model(x[i : i + batch_size].to(device)).argmax(1).cpu()
                             for i in range(0, len(x), batch_size)])  # fmt: skip
    model.train(was_training)
    out = {}
    for name, ids in groups.items():
        mask = torch.isin(y, ids)
        correct = (predictions[mask] == y[mask]).float()
        out[f"{prefix}{name}_accuracy"] = float(correct.mean()) if mask.any() else float("nan")
    return out
