"""The CNN family: shapes, options, errors, and learning on a fixed subset."""

from __future__ import annotations

import pytest
import torch

from profond.data.bundle import DataBundle
from profond.models import build_model, get_family, make_config
from profond.models.cnn import CNN, CNNConfig, count_parameters
from profond.train.config import TrainConfig
from profond.train.tasks import task_class
from profond.train.trainer import Trainer


def two_class_images(n: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0: a bright vertical bar, class 1: a horizontal bar, at random places."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 12, 12, generator=g) * 0.2
    y = torch.arange(n) % 2
    pos = torch.randint(2, 10, (n,), generator=g)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, 2:10, pos[i]] = 1.0
        else:
            x[i, 0, pos[i], 2:10] = 1.0
    return x, y


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_forward_backward_shapes(padding: str, batch_norm: bool) -> None:
    model = CNN(CNNConfig(image_size=(28, 28), padding=padding, batch_norm=batch_norm))
    x = torch.rand(5, 1, 28, 28, requires_grad=True)
    logits = model(x)
    assert logits.shape == (5, 10)
    assert model.features(x).shape == (5, 128)
    logits.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_stride_kernel_and_channels_change_the_network() -> None:
    model = CNN(CNNConfig(channels=(8, 8, 8), kernel_size=5, stride=2, pool_size=1, hidden_size=0))
    # 28 → 14 → 7 → 4 with stride 2 and same padding; no dense layer: features are the flat map.
    assert model.features(torch.rand(2, 1, 28, 28)).shape == (2, 8 * 4 * 4)
    assert model.gradcam_layer is model.blocks[-1][0]
    assert model.gradcam_layer.kernel_size == (5, 5)


def test_parameter_count_of_the_default() -> None:
    # conv 1→16 (3x3, no bias) + BN(16) + conv 16→32 + BN(32) + dense 32*7*7→128 + head 128→10
    expected = (16 * 9 + 2 * 16) + (32 * 16 * 9 + 2 * 32) + (32 * 49 * 128 + 128) + (128 * 10 + 10)
    assert count_parameters(CNN(CNNConfig())) == expected
    plain = CNN(CNNConfig(batch_norm=False, hidden_size=64))
    assert count_parameters(plain) == (16 * 9 + 16) + (32 * 16 * 9 + 32) + (32 * 49 * 64 + 64) + 650


def test_wrong_input_shape_names_the_expected_shape() -> None:
    model = CNN(CNNConfig())
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model(torch.rand(2, 784))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model(torch.rand(2, 1, 32, 32))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"padding": "full"}, "padding"),
        ({"kernel_size": 4}, "odd kernel_size"),
        ({"channels": ()}, "channels"),
        ({"dropout": 1.0}, "dropout"),
        ({"image_size": (4, 4), "padding": "valid", "channels": (4, 4, 4)}, "shrink"),
    ],
)
def test_bad_config_is_rejected(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CNN(CNNConfig(**kwargs))


def test_learns_bars_on_a_fixed_subset() -> None:
    torch.manual_seed(0)
    x, y = two_class_images()
    model = build_model("cnn", {"image_size": [12, 12], "num_classes": 2, "channels": [8, 8]})
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    first = torch.nn.functional.cross_entropy(model(x), y).item()
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    assert torch.nn.functional.cross_entropy(model(x), y).item() < first / 5
    assert (model(x).argmax(1) == y).float().mean() > 0.95


def bars_bundle(n: int = 128) -> DataBundle:
    x, y = two_class_images(n + 64)
    return DataBundle(
        name="bars", task="classification",
        x_train=x[:n], y_train=y[:n], x_val=x[n : n + 32], y_val=y[n : n + 32],
        x_test=x[n + 32 :], y_test=y[n + 32 :], input_shape=(1, 12, 12), classes=["vertical", "horizontal"],
    )  # fmt: skip


def test_trains_through_the_trainer(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PROFOND_HOME", str(tmp_path))
    bundle = bars_bundle()
    family = get_family("cnn")
    config = make_config(family, family.data_fields(bundle), {"channels": "8,8"})
    torch.manual_seed(0)
    result = Trainer(TrainConfig(epochs=6, batch_size=16, lr=3e-3)).fit(
        family.module_class(config), task_class(family.task)(bundle), bundle
    )
    assert result.history["train_loss"][-1] < result.history["train_loss"][0] / 3
    assert result.test_metrics["test_accuracy"] > 0.9
