"""Figures of the sequence models: forecasts against the truth, and attention maps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from profond.data.bundle import DataBundle
    from profond.models.transformer import TransformerClassifier


def _save(fig: Figure, path: Path) -> Path:
    from profond.train.plots import save_figure  # imports matplotlib only when drawing

    return save_figure(fig, path)


def forecast_figure(data: DataBundle, forecasts: np.ndarray, path: str | Path) -> Path:
    """Plot the test span's truth, the model's forecasts and the persistence baseline.

    The forecast made one step ahead from every test window is drawn as a line; with
    ``horizon > 1`` the forecast ``horizon`` steps ahead is drawn too, the harder target.
    The end of the training and validation spans is drawn for context.

    Args:
        data: the forecasting bundle (its ``extra`` holds the raw series and time axis).
        forecasts: ``(N_test, horizon)`` forecasts in the series' units, one row per test
            window in time order.
        path: the PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    extra = data.extra
    series = np.asarray(extra["series"], dtype=np.float64)
    time = np.asarray(extra["time"], dtype=np.float64)
    first = int(extra["first_target"]["test"])
    n, horizon = forecasts.shape
    context_start = max(0, first - 3 * int(extra["window"]))

    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(
        time[context_start:first], series[context_start:first], color="0.6", label="before test"
    )
    ax.plot(time[first:], series[first:], color="black", linewidth=1.5, label="truth")
    targets = first + np.arange(n)
    ax.plot(time[targets], forecasts[:, 0], color="tab:blue", label="model, 1 step ahead")
    if horizon > 1:
        late = targets + horizon - 1
        ax.plot(
            time[late], forecasts[:, -1], color="tab:orange", label=f"model, {horizon} steps ahead"
        )
    ax.plot(
        time[targets], series[targets - 1], color="tab:green", linestyle=":", label="persistence"
    )
    ax.axvline(time[first], color="0.3", linestyle="--", linewidth=0.8)
    ax.set_xlabel("time")
    ax.set_ylabel(str(extra.get("unit", "value")))
    ax.set_title(f"{data.name}: forecasts on the test span")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, Path(path))


@torch.no_grad()
def attention_figure(
    model: TransformerClassifier, x: torch.Tensor, vocab: list[str], path: str | Path
) -> Path:
    """Draw the attention weights of every layer and head for one tokenized text.

    Args:
        model: a transformer classifier whose ``attention_maps`` returns the weights.
        x: ``(T,)`` or ``(1, T)`` token ids, 0 for padding (padding is left out of the plot).
        vocab: token id → token string.
        path: the PNG to write.

    Rows are layers and columns heads; in each panel row ``i`` shows how position ``i``
    spreads its attention over the positions it reads (each row sums to 1).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if x.dim() == 1:
        x = x.unsqueeze(0)
    if x.dim() != 2 or x.shape[0] != 1:
        raise ValueError(f"expected one text of shape (T,) or (1, T). Received: {tuple(x.shape)}")
    was_training = model.training
    model.eval()
    maps = model.attention_maps(x.to(next(model.parameters()).device))  # layers × (1, h, T, T)
    model.train(was_training)
    length = max(1, int((x[0] != 0).sum()))
    tokens = [vocab[i] if 0 <= i < len(vocab) else "?" for i in x[0, :length].tolist()]
    tokens = [repr(t)[1:-1] if t.isspace() else t for t in tokens]
    layers, heads = len(maps), maps[0].shape[1]
    size = min(2.0 + 0.18 * length, 8.0)
    fig, axes = plt.subplots(layers, heads, figsize=(size * heads, size * layers), squeeze=False)
    for layer, weights in enumerate(maps):
        for head in range(heads):
            ax = axes[layer][head]
            ax.imshow(weights[0, head, :length, :length].cpu().numpy(), cmap="viridis", vmin=0.0)
            ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=9)
            if length <= 48:  # beyond that, tick labels overlap into noise
                ax.set_xticks(range(length), tokens, fontsize=6, rotation=90)
                ax.set_yticks(range(length), tokens, fontsize=6)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
    fig.suptitle("self-attention weights (row: query position, column: key position)")
    return _save(fig, Path(path))
