"""``generate_grid``: PNG grids from saved VAE and GAN runs, and the refusals."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
import torch
from PIL import Image

from profond.errors import ProfondError
from profond.models.gan import GAN, GANConfig
from profond.models.mlp import MLP, MLPConfig
from profond.models.saved import ModelCard, load_model, save_model
from profond.models.vae import VAE, VAEConfig
from profond.train.generate import generate_grid, image_grid


def saved(tmp_path, family, model, task):
    card = ModelCard(
        family=family, task=task, data="fashion-mnist", config=asdict(model.config),
        input_shape=[1, 28, 28], run_id="abc123",
    )  # fmt: skip
    return load_model(save_model(tmp_path / family, model, card))


@pytest.mark.parametrize(
    ("family", "build"),
    [
        ("vae", lambda: VAE(VAEConfig(hidden_channels=(4, 8), latent_dim=4))),
        ("gan", lambda: GAN(GANConfig(hidden_channels=(4, 8), latent_dim=8))),
    ],
)
def test_grid_of_a_saved_generative_run(tmp_path, family, build):
    torch.manual_seed(0)
    loaded = saved(tmp_path, family, build(), family)
    path = generate_grid(loaded, n=10, seed=3, path=tmp_path / "grid.png")
    picture = np.asarray(Image.open(path))
    # ceil(sqrt(10)) = 4 columns, 3 rows of 28-pixel images with 2-pixel borders, doubled.
    assert picture.shape == (2 * (3 * 30 + 2), 2 * (4 * 30 + 2))
    same = generate_grid(loaded, n=10, seed=3, path=tmp_path / "again.png")
    other = generate_grid(loaded, n=10, seed=4, path=tmp_path / "other.png")
    assert path.read_bytes() == same.read_bytes()
    assert path.read_bytes() != other.read_bytes()


def test_grid_tiles_images_in_order():
    images = torch.zeros(3, 1, 2, 2)
    images[1] = 1.0
    grid = np.asarray(image_grid(images, nrow=3, padding=1, scale=1))
    assert grid.shape == (4, 10)
    assert (grid[1:3, 1:3] == 0).all() and (grid[1:3, 4:6] == 255).all()
    assert grid[0, 0] == 128  # grey padding


def test_non_generative_runs_are_refused(tmp_path):
    loaded = saved(tmp_path, "mlp", MLP(MLPConfig()), "classification")
    with pytest.raises(ProfondError, match=r"run abc123 is a 'mlp' model.*vae and gan.*predict"):
        generate_grid(loaded, n=4, seed=0, path=tmp_path / "grid.png")


def test_bad_requests_are_refused_and_nothing_is_overwritten(tmp_path):
    loaded = saved(tmp_path, "vae", VAE(VAEConfig(hidden_channels=(4,), latent_dim=2)), "vae")
    with pytest.raises(ProfondError, match="between 1 and 1024"):
        generate_grid(loaded, n=0, seed=0, path=tmp_path / "grid.png")
    with pytest.raises(ProfondError, match=r"\.png"):
        generate_grid(loaded, n=4, seed=0, path=tmp_path / "grid.jpg")
    existing = tmp_path / "mine.png"
    existing.write_bytes(b"precious")
    with pytest.raises(ProfondError, match="already exists"):
        generate_grid(loaded, n=4, seed=0, path=existing)
    assert existing.read_bytes() == b"precious"
    generate_grid(loaded, n=4, seed=0, path=existing, overwrite=True)
    assert Image.open(existing).size == (2 * (2 * 30 + 2), 2 * (2 * 30 + 2))


def test_image_grid_rejects_bad_shapes():
    with pytest.raises(ProfondError, match=r"\(N, 1 or 3, H, W\)"):
        image_grid(torch.zeros(4, 28, 28))
