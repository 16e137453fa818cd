import pytest
import torch

from profond.errors import ProfondError
from profond.models import build_model, get_family, make_config
from profond.models.mlp import MLP, MLPConfig


def test_default_is_the_lab_network():
    model = MLP(MLPConfig())
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(784, 128), (128, 10)]
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.2 for m in model.modules())
    assert sum(p.numel() for p in model.parameters()) == 784 * 128 + 128 + 128 * 10 + 10


def test_shapes_and_features():
    model = build_model(
        "mlp", {"in_features": 64, "num_classes": 3, "hidden_sizes": [32, 16], "batch_norm": True}
    )
    x = torch.randn(5, 1, 8, 8)
    assert model(x).shape == (5, 3)
    assert model.features(x).shape == (5, 16)


@pytest.mark.parametrize("init", ["xavier", "he"])
def test_initializations_zero_the_biases(init):
    model = MLP(MLPConfig(init=init))
    assert all(
        float(m.bias.detach().abs().sum()) == 0
        for m in model.modules()
        if isinstance(m, torch.nn.Linear)
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"activation": "swish"}, "expected activation in relu, sigmoid"),
        ({"dropout": "1.5"}, "expected 0 <= dropout < 1. Received: dropout=1.5"),
        ({"hidden_sizes": "0"}, "expected positive hidden sizes"),
        ({"dropout": "lots"}, "option dropout='lots' is not a valid float"),
    ],
)
def test_bad_options_name_the_value(overrides, message):
    family = get_family("mlp")
    with pytest.raises(ProfondError, match=message):
        make_config(family, {"in_features": 64, "num_classes": 10}, overrides)


def test_wrong_input_size_is_reported():
    model = build_model("mlp", {"in_features": 64, "num_classes": 10})
    with pytest.raises(RuntimeError, match="64"):
        model(torch.randn(2, 1, 28, 28))


def test_second_head_shares_the_features_and_leaves_the_main_head_alone() -> None:
    torch.manual_seed(0)
    single = MLP(MLPConfig(in_features=12, num_classes=5, hidden_sizes=(8,)))
    torch.manual_seed(0)
    double = MLP(MLPConfig(in_features=12, num_classes=5, hidden_sizes=(8,), aux_classes=3))
    x = torch.randn(4, 12)
    double.eval(), single.eval()
    torch.testing.assert_close(double(x), single(x))  # same main weights from the same seed
    assert double.aux_logits(x).shape == (4, 3) and double.aux_head is not None
    torch.testing.assert_close(double.aux_logits(x), double.aux_head(double.features(x)))
    with pytest.raises(ValueError, match="aux_classes=0"):
        single.aux_logits(x)
    with pytest.raises(ValueError, match="aux_classes=1"):
        MLPConfig(aux_classes=1)
    with pytest.raises(ValueError, match="aux_weight=-1"):
        MLPConfig(aux_classes=2, aux_weight=-1)
