"""The ResNet family: shapes, residual identity at start, learning (with augmentation)."""

from __future__ import annotations

import pytest
import torch

from profond.models.resnet import ResidualBlock, ResNet, ResNetConfig


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


def test_forward_backward_shapes() -> None:
    model = ResNet(ResNetConfig(channels=(8, 16, 32), blocks_per_stage=2))
    x = torch.rand(4, 1, 28, 28, requires_grad=True)
    assert model.features(x).shape == (4, 32)
    logits = model(x)
    assert logits.shape == (4, 10)
    logits.sum().backward()
    assert x.grad is not None
    assert model.gradcam_layer is model.blocks[-1].conv2


def test_block_starts_as_identity_plus_relu() -> None:
    model = ResNet(ResNetConfig(channels=(8,)))
    block = model.blocks[0]
    x = torch.randn(2, 8, 6, 6)
    # The zero-initialised last BN scale makes the residual branch output 0 at the start.
    assert torch.allclose(block(x), torch.relu(x))
    projected = ResidualBlock(8, 16, stride=2)
    assert projected(x).shape == (2, 16, 3, 3)


def test_wrong_input_and_bad_config() -> None:
    model = ResNet(ResNetConfig(channels=(8,)))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model(torch.rand(1, 3, 28, 28))
    with pytest.raises(ValueError, match="blocks_per_stage"):
        ResNetConfig(blocks_per_stage=0)


def test_augmentation_is_a_training_default_of_the_family_not_a_model_field() -> None:
    from dataclasses import fields

    from profond.models import get_family

    assert get_family("resnet").train_defaults["augment"] == "shift_flip"
    assert "augment" not in {f.name for f in fields(ResNetConfig)}


def test_learns_bars_on_a_fixed_subset() -> None:
    torch.manual_seed(0)
    x, y = two_class_images(96)
    model = ResNet(ResNetConfig(image_size=(12, 12), num_classes=2, channels=(8, 16)))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    first = torch.nn.functional.cross_entropy(model(x), y).item()
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    # measured in training mode: 30 steps are too few for batch norm's running statistics
    assert torch.nn.functional.cross_entropy(model(x), y).item() < first / 3
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() > 0.95


def test_trains_with_augmentation_through_the_trainer(tmp_path, monkeypatch) -> None:
    from profond.data.bundle import DataBundle
    from profond.models import get_family, make_config
    from profond.train.config import TrainConfig
    from profond.train.tasks import task_class
    from profond.train.trainer import Trainer

    monkeypatch.setenv("PROFOND_HOME", str(tmp_path))
    x, y = two_class_images(160)
    bundle = DataBundle(
        name="bars", task="classification",
        x_train=x[:128], y_train=y[:128], x_val=x[128:144], y_val=y[128:144],
        x_test=x[144:], y_test=y[144:], input_shape=(1, 12, 12), classes=["v", "h"],
    )  # fmt: skip
    family = get_family("resnet")
    config = make_config(family, family.data_fields(bundle), {"channels": "8,16"})
    torch.manual_seed(0)
    train = TrainConfig(epochs=5, batch_size=16, lr=1e-2, augment="shift_flip")
    result = Trainer(train).fit(
        family.module_class(config), task_class(family.task)(bundle), bundle
    )
    assert result.history["train_loss"][-1] < result.history["train_loss"][0] / 2
    assert result.test_metrics["test_accuracy"] > 0.85
