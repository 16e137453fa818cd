"""The tiny Vision Transformer: patches, shapes, patch-size choice, errors, a real step."""

from __future__ import annotations

import pytest
import torch

from profond.models import get_family, make_config
from profond.models.vit import PatchEmbedding, VisionTransformer, ViTConfig, default_patch_size


def test_patch_embedding_is_a_shared_linear_map_of_each_patch() -> None:
    torch.manual_seed(0)
    embed = PatchEmbedding(in_channels=1, patch_size=7, d_model=5)
    x = torch.randn(2, 1, 28, 28)
    tokens = embed(x)
    assert tokens.shape == (2, 16, 5)
    # token 5 is row 1, column 1 of the 4x4 grid of patches
    patch = x[:, :, 7:14, 7:14].reshape(2, -1)
    weight = embed.project.weight.reshape(5, -1)
    expected = patch @ weight.T + embed.project.bias
    torch.testing.assert_close(tokens[:, 5], expected, rtol=1e-5, atol=1e-5)


def test_default_patch_sizes_and_shapes() -> None:
    assert default_patch_size((28, 28)) == 7
    assert default_patch_size((8, 8)) == 2
    assert default_patch_size((32, 32)) == 4
    assert ViTConfig(image_size=(8, 8)).patch_size == 2
    model = VisionTransformer(ViTConfig(image_size=(28, 28), d_model=32, num_heads=4)).eval()
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    maps = model.attention_maps(torch.randn(2, 1, 28, 28))
    assert len(maps) == 2 and maps[0].shape == (2, 4, 17, 17)
    torch.testing.assert_close(maps[0].sum(-1), torch.ones(2, 4, 17))


def test_without_positions_the_model_ignores_patch_order() -> None:
    torch.manual_seed(0)
    model = VisionTransformer(
        ViTConfig(image_size=(28, 28), d_model=16, num_heads=2, positional="none")
    ).eval()
    x = torch.randn(2, 1, 28, 28)
    # swap the top-left and bottom-right patches: a bag of patches cannot tell
    swapped = x.clone()
    swapped[..., :7, :7], swapped[..., 21:, 21:] = x[..., 21:, 21:], x[..., :7, :7]
    torch.testing.assert_close(model(x), model(swapped), rtol=1e-4, atol=1e-5)
    learned = VisionTransformer(ViTConfig(image_size=(28, 28), d_model=16, num_heads=2)).eval()
    assert not torch.allclose(learned(x), learned(swapped), atol=1e-5)


def test_bad_configs_and_inputs_fail_clearly() -> None:
    with pytest.raises(ValueError, match="patch_size to divide"):
        ViTConfig(image_size=(28, 28), patch_size=5)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        ViTConfig(d_model=30, num_heads=4)
    model = VisionTransformer(ViTConfig(d_model=16, num_heads=2))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        model(torch.randn(2, 1, 8, 8))


def test_family_reads_digits_geometry() -> None:
    from profond.data.registry import DataOptions, load_dataset

    data = load_dataset("digits", DataOptions(limit=64))
    family = get_family("vit")
    config = make_config(family, family.data_fields(data), {"d_model": "32"})
    assert config.image_size == (8, 8) and config.patch_size == 2 and config.d_model == 32
    assert family.module_class(config)(data.x_train[:4]).shape == (4, 10)
