"""The U-Net family: per-pixel logits, skip connections used, errors, learning a mask."""

from __future__ import annotations

import pytest
import torch

from profond.models.unet import UNet, UNetConfig


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_forward_backward_shapes(depth: int) -> None:
    model = UNet(UNetConfig(image_size=(16, 24), num_classes=3, base_channels=4, depth=depth))
    x = torch.rand(2, 1, 16, 24, requires_grad=True)
    logits = model(x)
    assert logits.shape == (2, 3, 16, 24)
    logits.sum().backward()
    assert x.grad is not None


def test_size_must_divide_by_two_to_the_depth() -> None:
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth=4"):
        UNetConfig(image_size=(30, 32), depth=2)
    with pytest.raises(ValueError, match=r"\(B, 1, 32, 32\)"):
        UNet(UNetConfig())(torch.rand(1, 1, 16, 16))


def test_learns_a_pixel_mask() -> None:
    """Label bright pixels: a per-pixel rule the network must localise exactly."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(32, 1, 16, 16, generator=g)
    y = (x[:, 0] > 0.6).long()  # (B, H, W)
    model = UNet(UNetConfig(image_size=(16, 16), num_classes=2, base_channels=4, depth=2))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    first = torch.nn.functional.cross_entropy(model(x), y).item()
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    # measured in training mode: 40 steps are too few for batch norm's running statistics
    assert torch.nn.functional.cross_entropy(model(x), y).item() < first / 3
    assert (model(x).argmax(1) == y).float().mean() > 0.9
