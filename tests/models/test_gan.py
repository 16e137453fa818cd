"""The DCGAN generator and discriminator: shapes, ranges, initialization, clear errors."""

from __future__ import annotations

import pytest
import torch

from profond.errors import ProfondError
from profond.models import get_family
from profond.models.gan import GAN, GANConfig


def small_gan(**overrides) -> GAN:
    torch.manual_seed(0)
    return GAN(GANConfig(hidden_channels=(8, 16), latent_dim=8, **overrides))


def test_generator_and_discriminator_shapes_and_range():
    gan = small_gan().eval()
    z = torch.randn(6, 8)
    images = gan.generator(z)
    assert images.shape == (6, 1, 28, 28)
    assert images.min() >= 0 and images.max() <= 1
    assert gan.discriminator(images).shape == (6,)
    assert gan(torch.rand(3, 1, 28, 28)).shape == (3,)  # forward scores images
    samples = gan.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 1, 28, 28)


def test_other_sizes_and_channels():
    gan = GAN(
        GANConfig(in_channels=3, height=8, width=16, hidden_channels=(4,), latent_dim=2)
    ).eval()
    images = gan.sample(2)
    assert images.shape == (2, 3, 8, 16)
    assert gan(images).shape == (2,)


def test_sample_is_reproducible_with_a_seed():
    gan = small_gan().eval()
    a = gan.sample(4, torch.Generator().manual_seed(3))
    b = gan.sample(4, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, gan.sample(4, torch.Generator().manual_seed(4)))


def test_dcgan_initialization():
    gan = small_gan()
    conv = gan.discriminator.body[0].weight
    assert conv.mean().abs() < 0.01
    assert conv.std().item() == pytest.approx(0.02, rel=0.2)


def test_wrong_shapes_name_the_expected_shape():
    gan = small_gan()
    with pytest.raises(ProfondError, match=r"\(B, 1, 28, 28\).*\(2, 1, 32, 32\)"):
        gan(torch.rand(2, 1, 32, 32))
    with pytest.raises(ProfondError, match=r"\(B, 8\).*\(2, 7\)"):
        gan.generator(torch.randn(2, 7))
    with pytest.raises(ProfondError, match="positive"):
        gan.sample(0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"label_smoothing": 0.6}, "label_smoothing=0.6"),
        ({"width": 30}, "divisible by 4"),
        ({"latent_dim": -1}, "latent_dim=-1"),
    ],
)
def test_config_rejects_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        GANConfig(**overrides)


def test_family_is_registered():
    family = get_family("gan")
    assert family.module_class is GAN
    assert family.task == "gan"
    assert family.default_data == "fashion-mnist"
