"""The VAE module: shapes, the reparameterization trick, clear errors."""

from __future__ import annotations

import pytest
import torch

from profond.data.bundle import DataBundle
from profond.errors import ProfondError
from profond.models import build_model, get_family
from profond.models.vae import VAE, VAEConfig


def small_vae(**overrides) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(hidden_channels=(8, 16), latent_dim=4, **overrides))


def test_shapes_of_encode_decode_forward_and_sample():
    model = small_vae()
    x = torch.rand(5, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 4)
    assert model.decode_logits(mu).shape == (5, 1, 28, 28)
    reconstruction = model(x)
    assert reconstruction.shape == (5, 1, 28, 28)
    samples = model.sample(7, torch.Generator().manual_seed(1))
    assert samples.shape == (7, 1, 28, 28)
    assert samples.min() >= 0 and samples.max() <= 1


def test_other_image_sizes_and_channels():
    model = VAE(VAEConfig(in_channels=3, height=8, width=12, hidden_channels=(4,), latent_dim=2))
    assert model(torch.rand(2, 3, 8, 12)).shape == (2, 3, 8, 12)


def test_sample_is_reproducible_with_a_seed():
    model = small_vae()
    a = model.sample(3, torch.Generator().manual_seed(5))
    b = model.sample(3, torch.Generator().manual_seed(5))
    c = model.sample(3, torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_reparameterization_lets_gradients_reach_mu_and_logvar():
    mu = torch.zeros(4, 3, requires_grad=True)
    logvar = torch.zeros(4, 3, requires_grad=True)
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    z.pow(2).sum().backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_reparameterized_draws_follow_the_posterior():
    mu = torch.full((20000, 1), 2.0)
    logvar = torch.full((20000, 1), torch.log(torch.tensor(0.25)).item())
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    assert z.mean().item() == pytest.approx(2.0, abs=0.02)
    assert z.std().item() == pytest.approx(0.5, abs=0.02)


def test_wrong_input_shape_names_the_expected_shape():
    model = small_vae()
    with pytest.raises(ProfondError, match=r"\(B, 1, 28, 28\).*\(5, 784\)"):
        model(torch.rand(5, 784))
    with pytest.raises(ProfondError, match=r"\(B, 1, 28, 28\)"):
        model.encode(torch.rand(2, 1, 32, 32))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"latent_dim": 0}, "latent_dim=0"),
        ({"height": 30}, "divisible by 4"),
        ({"beta": -1.0}, "beta=-1.0"),
        ({"likelihood": "poisson"}, "likelihood='poisson'"),
        ({"hidden_channels": ()}, "hidden_channels=()"),
    ],
)
def test_config_rejects_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        VAEConfig(**overrides)


def test_family_reads_image_fields_and_rejects_flat_data():
    family = get_family("vae")
    images = DataBundle(
        "imgs",
        "classification",
        *(torch.zeros(2, 1, 8, 8), torch.zeros(2)) * 3,
        input_shape=(1, 8, 8),
    )
    assert family.data_fields(images) == {"in_channels": 1, "height": 8, "width": 8}
    flat = DataBundle(
        "flat", "classification", *(torch.zeros(2, 64), torch.zeros(2)) * 3, input_shape=(64,)
    )
    with pytest.raises(ProfondError, match=r"\(C, H, W\).*\(64,\)"):
        family.data_fields(flat)


def test_build_model_from_a_saved_config_dict():
    model = build_model(
        "vae", {"height": 8, "width": 8, "hidden_channels": [4, 8], "latent_dim": 3}
    )
    assert isinstance(model, VAE)
    assert model.config.hidden_channels == (4, 8)
