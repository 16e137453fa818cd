"""A temporal convolutional network: stacked dilated causal convolutions (Bai et al., 2018).

A causal convolution at time ``t`` reads only steps ``<= t`` (the input is padded on the left);
doubling the dilation at each block (1, 2, 4, ...) makes the receptive field grow exponentially
with depth, so a few layers see a long past without any recurrence. Each block holds two dilated
causal convolutions and a residual connection; the last time step's features feed a linear
head, as the recurrent forecasters read their last hidden state.

The family trains on the forecasting data (sunspots, co2) like the RNN/LSTM/GRU families and
takes any ``(B, T, input_size)`` sequence, so it also reads the adding problem
(:mod:`profond.data.adding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from profond.models.registry import ModelFamily


@dataclass(frozen=True)
class TCNConfig:
    input_size: int = 1  # values per time step (1: a univariate series)
    horizon: int = 1  # values produced by ``forward``; set from the data
    channels: int = 32  # width of every block
    num_blocks: int = 4  # blocks; block i is dilated by 2**i
    kernel_size: int = 3  # taps of each causal convolution
    dropout: float = 0.1  # after each convolution, in training
    residual: bool = True  # forecast the change from the last value of the first input

    def __post_init__(self) -> None:
        for name in ("input_size", "horizon", "channels", "num_blocks"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"expected a positive integer. Received: {name}={getattr(self, name)}"
                )
        if self.kernel_size < 2:
            raise ValueError(
                f"expected kernel_size >= 2 (a causal conv of 1 tap sees no past). "
                f"Received: kernel_size={self.kernel_size}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"expected 0 <= dropout < 1. Received: dropout={self.dropout}")

    @property
    def receptive_field(self) -> int:
        """Time steps the last output depends on: ``1 + 2 (k - 1) (2**blocks - 1)``."""
        return 1 + 2 * (self.kernel_size - 1) * (2**self.num_blocks - 1)


class CausalConv1d(nn.Conv1d):
    """A ``Conv1d`` padded on the left only, so output ``t`` depends on inputs ``<= t``.

    Shape: ``(B, C_in, T)`` → ``(B, C_out, T)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(nn.functional.pad(x, (self.left_pad, 0)))


class TemporalBlock(nn.Module):
    """Two dilated causal convolutions with ReLU and dropout, plus a residual path.

    Shape: ``(B, C_in, T)`` → ``(B, C_out, T)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, dropout: float
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            CausalConv1d(in_channels, out_channels, kernel_size, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
            CausalConv1d(out_channels, out_channels, kernel_size, dilation),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        # A 1x1 convolution matches the widths when they differ (the first block).
        self.skip = (
            nn.Conv1d(in_channels, out_channels, 1)
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class TCNForecaster(nn.Module):
    """Dilated causal convolutions, then a linear head on the last time step.

    Args:
        config: a :class:`TCNConfig`.

    Shape:
        - Input: ``(B, T, input_size)``, oldest step first; any ``T >= 1`` (steps older than
          ``config.receptive_field`` do not reach the output).
        - Output: ``(B, horizon)``.
    """

    def __init__(self, config: TCNConfig) -> None:
        super().__init__()
        self.config = config
        blocks = []
        width = config.input_size
        for i in range(config.num_blocks):
            blocks.append(
                TemporalBlock(width, config.channels, config.kernel_size, 2**i, config.dropout)
            )
            width = config.channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(config.channels, config.horizon)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.config.input_size or x.shape[1] == 0:
            raise ValueError(
                f"expected input of shape (B, T, {self.config.input_size}) with T >= 1 "
                f"(batch, time steps, values per step). Received: {tuple(x.shape)}"
            )

    def sequence_features(self, x: torch.Tensor) -> torch.Tensor:
        """Features at every time step. Shape: ``(B, T, input_size)`` → ``(B, T, channels)``."""
        self._check_input(x)
        return self.blocks(x.transpose(1, 2)).transpose(1, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last step's features. Shape: ``(B, T, input_size)`` → ``(B, channels)``."""
        return self.sequence_features(x)[:, -1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y_hat = self.head(self.features(x))  # (B, horizon)
        if self.config.residual:
            # As the recurrent forecasters: start from persistence, learn the change.
            y_hat = y_hat + x[:, -1, :1]
        return y_hat


def _data_fields(bundle: Any) -> dict[str, Any]:
    return {"input_size": int(bundle.input_shape[-1]), "horizon": int(bundle.extra["horizon"])}


FAMILY = ModelFamily(
    name="tcn",
    config_class=TCNConfig,
    module_class=TCNForecaster,
    task="forecasting",
    data_fields=_data_fields,
    default_data="sunspots",
    data_tasks=("forecasting",),
)
