"""RNN, LSTM and GRU forecasters: shapes, strategies, errors, registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from profond.models import build_model, get_family, make_config
from profond.models.rnn import GRUConfig, LSTMConfig, RecurrentForecaster, RNNConfig
from profond.models.saved import ModelCard, load_model, save_model


@pytest.fixture(autouse=True)
def one_thread():
    # Small recurrent nets run fastest on one thread; more only adds contention.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("config_class", [RNNConfig, LSTMConfig, GRUConfig])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_output_shape_and_parameter_count(config_class, bidirectional) -> None:
    config = config_class(horizon=3, hidden_size=8, num_layers=2, bidirectional=bidirectional)
    model = RecurrentForecaster(config)
    x = torch.randn(5, 24, 1)
    assert model(x).shape == (5, 3)
    assert model(torch.randn(2, 7, 1)).shape == (2, 3)  # any window length
    directions = 2 if bidirectional else 1
    assert model.features(x).shape == (5, 8 * directions)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[config.cell]
    # Per layer and direction: input weights, recurrent weights and two bias vectors per gate.
    first = gates * 8 * (1 + 8 + 2)
    upper = gates * 8 * (8 * directions + 8 + 2)
    expected = directions * (first + upper) + (8 * directions + 1) * 3
    assert sum(p.numel() for p in model.parameters()) == expected
    assert isinstance(model.rnn, {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[config.cell])


def test_bidirectional_features_read_the_whole_window_backwards() -> None:
    torch.manual_seed(0)
    model = RecurrentForecaster(GRUConfig(hidden_size=4, num_layers=1, bidirectional=True)).eval()
    x = torch.randn(3, 10, 1)
    features = model.features(x)
    # The backward half is the backward pass's state after reading from t=T-1 down to t=0:
    # changing the first value of the window must change it.
    x2 = x.clone()
    x2[:, 0] += 1.0
    assert not torch.allclose(model.features(x2)[:, 4:], features[:, 4:])
    output, _ = model.rnn(x)
    torch.testing.assert_close(features[:, 4:], output[:, 0, 4:])
    torch.testing.assert_close(features[:, :4], output[:, -1, :4])


def test_recursive_forecast_rolls_the_one_step_model_forward() -> None:
    torch.manual_seed(0)
    model = RecurrentForecaster(LSTMConfig(horizon=3, hidden_size=8, strategy="recursive")).eval()
    x = torch.randn(4, 12, 1)
    with torch.no_grad():
        y_hat = model(x)
        window, manual = x, []
        for _ in range(3):
            step = model.one_step(window)  # (B, 1)
            manual.append(step)
            window = torch.cat([window[:, 1:], step.unsqueeze(-1)], dim=1)
    assert y_hat.shape == (4, 3)
    torch.testing.assert_close(y_hat, torch.cat(manual, dim=1))
    # A direct model rolled past its horizon chains blocks of `horizon` values the same way.
    direct = RecurrentForecaster(GRUConfig(horizon=2, hidden_size=8)).eval()
    with torch.no_grad():
        long = direct.forecast(x, 5)
        first = direct(x)
        second = direct(torch.cat([x[:, 2:], first.unsqueeze(-1)], dim=1))
    assert long.shape == (4, 5)
    torch.testing.assert_close(long[:, :4], torch.cat([first, second], dim=1))


def test_lstm_forget_gate_starts_open() -> None:
    model = RecurrentForecaster(LSTMConfig(hidden_size=6, num_layers=2))
    for layer in range(2):
        bias = getattr(model.rnn, f"bias_ih_l{layer}")
        assert torch.all(bias[6:12] == 1.0)


def test_wrong_input_shape_names_the_expected_shape() -> None:
    model = RecurrentForecaster(RNNConfig(hidden_size=4))
    with pytest.raises(
        ValueError, match=r"expected input of shape \(B, T, 1\).*Received: \(3, 24\)"
    ):
        model(torch.randn(3, 24))
    with pytest.raises(ValueError, match=r"Received: \(3, 24, 2\)"):
        model(torch.randn(3, 24, 2))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_size": 0}, "hidden_size=0"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"strategy": "beam"}, "strategy='beam'"),
        ({"strategy": "recursive", "input_size": 3}, "input_size=3"),
    ],
)
def test_config_rejects_bad_values(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        LSTMConfig(**kwargs)


def test_families_are_registered_and_saved_models_rebuild(tmp_path) -> None:
    assert {get_family(n).task for n in ("rnn", "lstm", "gru")} == {"forecasting"}
    family = get_family("gru")
    config = make_config(
        family, {"horizon": 2, "input_size": 1}, {"hidden_size": "8", "bidirectional": "true"}
    )
    assert config == GRUConfig(horizon=2, hidden_size=8, bidirectional=True)
    model = build_model("gru", config)
    card = ModelCard(
        family="gru",
        task="forecasting",
        data="sunspots",
        config=vars(config).copy(),
        input_shape=[24, 1],
    )
    loaded = load_model(save_model(tmp_path / "m", model, card))
    assert isinstance(loaded.model.rnn, nn.GRU)
    x = torch.randn(2, 24, 1)
    model.eval()
    torch.testing.assert_close(loaded.model(x), model(x))


@pytest.mark.parametrize("config_class", [RNNConfig, LSTMConfig, GRUConfig])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_stepped_cells_match_the_fused_kernel(config_class, bidirectional) -> None:
    """With a mask that keeps every unit, the stepped path computes what nn.RNN/LSTM/GRU do."""
    torch.manual_seed(0)
    config = config_class(input_size=2, hidden_size=5, num_layers=2, dropout=0.0, bidirectional=bidirectional, recurrent_dropout=1e-12)  # fmt: skip
    model = RecurrentForecaster(config)
    x = torch.randn(3, 7, 2)
    stepped = model.train().features(x)
    fused = model.eval().features(x)
    torch.testing.assert_close(stepped, fused, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("mask", "same_every_step"), [("sequence", True), ("step", False)])
def test_recurrent_dropout_masks_per_sequence_or_per_step(mask, same_every_step) -> None:
    torch.manual_seed(0)
    config = LSTMConfig(input_size=2, hidden_size=16, num_layers=1, recurrent_dropout=0.5, recurrent_dropout_mask=mask)  # fmt: skip
    model = RecurrentForecaster(config).train()
    outputs, _ = model._run_layer(torch.randn(4, 6, 2), "_l0", backwards=False)  # (4, 6, 16)
    zeros = outputs == 0
    assert 0.2 < float(zeros.float().mean()) < 0.8
    assert all(torch.equal(zeros[:, t], zeros[:, 0]) for t in range(6)) == same_every_step
    model.eval()
    x = torch.randn(4, 6, 2)
    torch.testing.assert_close(model(x), model(x))  # no dropout at evaluation


def test_head_dropout_acts_in_training_only() -> None:
    torch.manual_seed(0)
    model = RecurrentForecaster(LSTMConfig(hidden_size=32, head_dropout=0.5, residual=False))
    x = torch.randn(8, 5, 1)
    assert not torch.allclose(model.train()(x), model.train()(x))
    torch.testing.assert_close(model.eval()(x), model.eval()(x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"recurrent_dropout": 1.0}, "recurrent_dropout=1.0"),
        ({"head_dropout": -0.1}, "head_dropout=-0.1"),
        ({"recurrent_dropout_mask": "batch"}, "recurrent_dropout_mask='batch'"),
    ],
)
def test_dropout_options_reject_bad_values(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        GRUConfig(**kwargs)
