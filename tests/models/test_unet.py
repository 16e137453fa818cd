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
    with pytest.raises(ValueError, match="skips='no'"):
        UNetConfig(skips="no")  # type: ignore[arg-type]


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


def test_without_skips_the_decoder_gets_zeros_from_the_same_layers() -> None:
    from profond.models import get_family, make_config

    family = get_family("unet")
    fields = {"in_channels": 1, "image_size": (16, 16), "num_classes": 3}
    config = make_config(
        family, fields, {"skips": "false", "base_channels": 4}
    )  # as --set gives it
    assert config.skips is False
    torch.manual_seed(0)
    with_skips = UNet(UNetConfig(**fields, base_channels=4)).eval()
    without = UNet(config).eval()
    without.load_state_dict(with_skips.state_dict())  # same parameters, only the wiring differs
    seen: list[torch.Tensor] = []
    without.merge[-1].register_forward_hook(lambda m, i, o: seen.append(i[0]))
    x = torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        out = without(x)
        assert out.shape == (2, 3, 16, 16) and not torch.allclose(out, with_skips(x))
    skip_half = seen[0][:, 4:]  # the up-sampled map comes first, the skip second
    assert skip_half.abs().sum() == 0 and seen[0][:, :4].abs().sum() > 0
