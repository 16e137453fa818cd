"""Recurrent forecasters: simple RNN, LSTM and GRU (course §44.3.2).

One module holds the three cells because they differ only in the recurrence: the same weights
are applied at every time step, the hidden state carries the past, and the last state is read
by a linear head that forecasts the next values.

Two ways to forecast ``horizon`` steps:

- ``direct``: the head outputs all ``horizon`` values at once.
- ``recursive``: the head outputs one step; that forecast is appended to the window, the oldest
  value dropped, and the model is applied again, ``horizon`` times. It is trained on one-step
  targets only (:meth:`RecurrentForecaster.one_step`).

In both cases ``forward`` returns ``(B, horizon)``, so evaluation, predict and serve treat the
two strategies alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from profond.models.registry import ModelFamily

STRATEGIES = ("direct", "recursive")
MASKS = ("sequence", "step")
# The cells one time step at a time, with nn.RNN/LSTM/GRU's own weights (same parameters).
STEPS: dict[str, Callable[..., Any]] = {
    "rnn": torch.rnn_tanh_cell,
    "lstm": torch.lstm_cell,
    "gru": torch.gru_cell,
}
CELLS: dict[str, Callable[..., nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def keep_mask(like: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted-dropout mask: 0 with probability ``p``, else ``1 / (1 - p)`` (same mean).

    Shape: that of ``like``.
    """
    return (torch.rand_like(like) >= p).to(like.dtype) / (1 - p)


@dataclass(frozen=True)
class RecurrentConfig:
    """Configuration shared by the three cells; ``cell`` is fixed by each subclass."""

    cell: ClassVar[str] = "lstm"
    input_size: int = 1  # values per time step (1: a univariate series)
    horizon: int = 1  # steps forecast by ``forward``; set from the data
    hidden_size: int = 64  # width of the recurrent state
    num_layers: int = 2  # stacked recurrent layers
    dropout: float = 0.1  # between stacked layers (PyTorch applies none after the last)
    bidirectional: bool = False  # also read the window backwards; doubles the state
    strategy: str = "direct"  # direct (horizon outputs) | recursive (one step, rolled forward)
    residual: bool = True  # forecast the change from the last value, so trends extrapolate
    head_dropout: float = 0.0  # on the last hidden state, before the head (in training)
    # In training, share of the hidden state zeroed before it is fed back at each step. Above 0
    # the cells are stepped one time step at a time (slower) instead of by the fused kernel.
    recurrent_dropout: float = 0.0
    # sequence: one mask for the whole window (Gal & Ghahramani, 2016) | step: a new one each step
    recurrent_dropout_mask: str = "sequence"

    def __post_init__(self) -> None:
        for name in ("input_size", "horizon", "hidden_size", "num_layers"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"expected a positive integer. Received: {name}={getattr(self, name)}"
                )
        for name in ("dropout", "head_dropout", "recurrent_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(
                    f"expected 0 <= {name} < 1. Received: {name}={getattr(self, name)}"
                )
        if self.recurrent_dropout_mask not in MASKS:
            raise ValueError(
                f"expected recurrent_dropout_mask in {', '.join(MASKS)}. "
                f"Received: recurrent_dropout_mask={self.recurrent_dropout_mask!r}"
            )
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"expected strategy in {', '.join(STRATEGIES)}. Received: strategy={self.strategy!r}"
            )
        if self.strategy == "recursive" and self.input_size != 1:
            raise ValueError(
                "a recursive forecaster feeds its output back as input, so it needs "
                f"input_size=1. Received: input_size={self.input_size}"
            )

    @property
    def out_features(self) -> int:
        """Values produced by one application of the head."""
        return self.horizon if self.strategy == "direct" else 1


@dataclass(frozen=True)
class RNNConfig(RecurrentConfig):
    cell: ClassVar[str] = "rnn"  # Elman RNN, tanh non-linearity


@dataclass(frozen=True)
class LSTMConfig(RecurrentConfig):
    cell: ClassVar[str] = "lstm"  # Hochreiter & Schmidhuber (1997): cell state and 3 gates


@dataclass(frozen=True)
class GRUConfig(RecurrentConfig):
    cell: ClassVar[str] = "gru"  # Cho et al. (2014): update and reset gates


class RecurrentForecaster(nn.Module):
    """A stacked RNN/LSTM/GRU followed by a linear head on the last hidden state.

    Args:
        config: an :class:`RNNConfig`, :class:`LSTMConfig` or :class:`GRUConfig`.

    Shape:
        - Input: ``(B, T, input_size)``, oldest step first; any ``T >= 1``.
        - Output: ``(B, horizon)`` forecasts of the steps after the window, in the scaled
          units of the input.
    """

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__()
        self.config = config
        self.rnn = CELLS[config.cell](
            input_size=config.input_size,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            bidirectional=config.bidirectional,
            batch_first=True,
        )
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(config.hidden_size * directions, config.out_features)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.config.cell != "lstm":
            return
        # A forget-gate bias of 1 keeps the cell state by default at the start of training,
        # so gradients reach early steps (Jozefowicz et al., 2015). PyTorch orders the gates
        # input, forget, cell, output in each bias vector.
        hidden = self.config.hidden_size
        for name, bias in self.rnn.named_parameters():
            if name.startswith("bias_ih"):
                with torch.no_grad():
                    bias[hidden : 2 * hidden].fill_(1.0)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.config.input_size or x.shape[1] == 0:
            raise ValueError(
                f"expected input of shape (B, T, {self.config.input_size}) with T >= 1 "
                f"(batch, time steps, values per step). Received: {tuple(x.shape)}"
            )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden state of the top layer (both directions when bidirectional).

        Shape: ``(B, T, input_size)`` → ``(B, hidden_size * directions)``.
        """
        self._check_input(x)
        directions = 2 if self.config.bidirectional else 1
        if self.training and self.config.recurrent_dropout > 0:
            return self._stepped(x)
        _, state = self.rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM returns (h_n, c_n)
        # h_n: (num_layers * directions, B, H); the top layer's states are the last ones.
        # For the backward direction this is its state after reading the whole window
        # (at t = 0), which output[:, -1] would not give.
        top = h_n[-directions:]  # (directions, B, H)
        return top.transpose(0, 1).reshape(x.shape[0], -1)  # (B, directions * H)

    def _stepped(self, x: torch.Tensor) -> torch.Tensor:
        """The stack stepped one time step at a time, with dropout on the fed-back state.

        Shape: ``(B, T, input_size)`` → ``(B, hidden_size * directions)``, as :meth:`features`.
        """
        c = self.config
        directions = 2 if c.bidirectional else 1
        sequence, finals = x, []
        for layer in range(c.num_layers):
            runs = [self._run_layer(sequence, f"_l{layer}" + ("_reverse" if d else ""), d == 1)
                    for d in range(directions)]  # fmt: skip
            finals = [final for _, final in runs]
            sequence = torch.cat([outputs for outputs, _ in runs], dim=2)  # (B, T, dirs * H)
            if layer < c.num_layers - 1 and c.dropout > 0:
                sequence = nn.functional.dropout(sequence, c.dropout, training=True)
        return torch.cat(finals, dim=1)

    def _run_layer(
        self, sequence: torch.Tensor, suffix: str, backwards: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One layer in one direction. Shape: ``(B, T, F)`` → ``(B, T, H)`` and ``(B, H)``."""
        c, p = self.config, self.config.recurrent_dropout
        weights = [getattr(self.rnn, f"{k}{suffix}") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]  # fmt: skip
        h = sequence.new_zeros(sequence.shape[0], c.hidden_size)
        cell = h.clone()
        mask = keep_mask(h, p)
        outputs = []
        steps = range(sequence.shape[1] - 1, -1, -1) if backwards else range(sequence.shape[1])
        for n, t in enumerate(steps):
            if c.cell == "lstm":
                h, cell = torch.lstm_cell(sequence[:, t], (h, cell), *weights)
            else:
                h = STEPS[c.cell](sequence[:, t], h, *weights)
            if c.recurrent_dropout_mask == "step" and n:
                mask = keep_mask(h, p)
            h = h * mask
            outputs.append(h)
        if backwards:
            outputs.reverse()
        return torch.stack(outputs, dim=1), h

    def one_step(self, x: torch.Tensor) -> torch.Tensor:
        """One application of the head. Shape: ``(B, T, input_size)`` → ``(B, out_features)``.

        With ``residual`` the head gives the change from the window's last value (of the
        first input, the forecast one). A tanh or sigmoid state saturates outside the values
        seen in training, so a series that keeps rising (CO2) cannot be forecast as a level;
        as a change it can, and "no change" (persistence) is where the model starts from.
        """
        features = self.features(x)  # (B, hidden_size * directions)
        if self.training and self.config.head_dropout > 0:
            features = features * keep_mask(features, self.config.head_dropout)
        y_hat = self.head(features)  # (B, out_features)
        if self.config.residual:
            y_hat = y_hat + x[:, -1, :1]  # (B, 1) broadcast over the forecast steps
        return y_hat

    def forecast(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """Forecast ``steps`` values after each window, rolling the model forward as needed.

        A direct model produces ``horizon`` values per application and a recursive one a
        single value; either way each new block of forecasts is appended to the window (and
        as many of the oldest values dropped) until ``steps`` values exist.

        Shape: ``(B, T, 1)`` → ``(B, steps)``.
        """
        if steps <= 0:
            raise ValueError(f"expected a positive number of steps. Received: steps={steps}")
        self._check_input(x)
        produced: list[torch.Tensor] = []
        count = 0
        window = x
        while count < steps:
            block = self.one_step(window)  # (B, out_features)
            produced.append(block)
            count += block.shape[1]
            if count < steps:
                if self.config.input_size != 1:
                    raise ValueError(
                        "rolling a forecast forward needs a univariate model (input_size=1). "
                        f"Received: input_size={self.config.input_size}"
                    )
                shift = block.shape[1]
                window = torch.cat([window, block.unsqueeze(-1)], dim=1)[:, shift:]  # (B, T, 1)
        return torch.cat(produced, dim=1)[:, :steps]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.strategy == "direct":
            return self.one_step(x)
        return self.forecast(x, self.config.horizon)


def _data_fields(bundle: Any) -> dict[str, Any]:
    return {"input_size": int(bundle.input_shape[-1]), "horizon": int(bundle.extra["horizon"])}


def _family(name: str, config_class: type[RecurrentConfig]) -> ModelFamily:
    return ModelFamily(
        name=name,
        config_class=config_class,
        module_class=RecurrentForecaster,
        task="forecasting",
        data_fields=_data_fields,
        default_data="sunspots",
        data_tasks=("forecasting",),
    )


FAMILIES: dict[str, ModelFamily] = {
    "rnn": _family("rnn", RNNConfig),
    "lstm": _family("lstm", LSTMConfig),
    "gru": _family("gru", GRUConfig),
}
