"""The autoencoder family: both variants, odd sizes, errors, and learning to reconstruct."""

from __future__ import annotations

import pytest
import torch

from profond.models import build_model
from profond.models.autoencoder import Autoencoder, AutoencoderConfig


@pytest.mark.parametrize("variant", ["conv", "dense"])
@pytest.mark.parametrize("size", [(28, 28), (7, 9)])
def test_shapes_of_code_and_reconstruction(variant: str, size: tuple[int, int]) -> None:
    model = Autoencoder(AutoencoderConfig(variant=variant, image_size=size, latent_size=5))
    x = torch.rand(3, 1, *size, requires_grad=True)
    z = model.encode(x)
    assert z.shape == (3, 5)
    y_hat = model.decode(z)
    assert y_hat.shape == x.shape
    assert (
        0.0 <= float(y_hat.detach().min()) and float(y_hat.detach().max()) <= 1.0
    )  # sigmoid output
    y_hat.sum().backward()
    assert x.grad is not None


def test_wrong_shapes_and_bad_config() -> None:
    model = Autoencoder(AutoencoderConfig())
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model(torch.rand(2, 784))
    with pytest.raises(ValueError, match=r"\(B, 16\)"):
        model.decode(torch.rand(2, 3))
    with pytest.raises(ValueError, match="variant"):
        AutoencoderConfig(variant="lstm")
    with pytest.raises(ValueError, match="noise_std"):
        AutoencoderConfig(noise_std=-0.1)


@pytest.mark.parametrize("variant", ["conv", "dense"])
def test_learns_to_reconstruct_a_fixed_subset(variant: str) -> None:
    torch.manual_seed(0)
    # images made of 4 blobs of random brightness: a 4-dimensional family the code can hold
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(64, 1, 12, 12)
    levels = torch.rand(64, 4, generator=g)
    for k, (r, c) in enumerate([(0, 0), (0, 6), (6, 0), (6, 6)]):
        x[:, 0, r : r + 6, c : c + 6] = levels[:, k, None, None]
    model = build_model(
        "autoencoder", {"variant": variant, "image_size": [12, 12], "latent_size": 8}
    )
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    first = torch.nn.functional.mse_loss(model(x), x).item()
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), x).backward()
        opt.step()
    assert torch.nn.functional.mse_loss(model(x), x).item() < first / 5
