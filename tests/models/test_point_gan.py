"""The point GAN and its task: packing, losses, mode counting during training, errors."""

from __future__ import annotations

import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.models.point_gan import PointGAN, PointGANConfig
from profond.train.config import TrainConfig
from profond.train.tasks.point_gan import PointGANTask, g_loss
from profond.train.trainer import Trainer


def test_packed_discriminator_judges_groups_of_points() -> None:
    gan = PointGAN(PointGANConfig(pack=4, hidden=8))
    assert gan.discriminator(torch.randn(10, 2)).shape == (2,)  # 10 // 4 packs, rest dropped
    assert gan.sample(5).shape == (5, 2)
    with pytest.raises(ProfondError, match="at least pack=4"):
        gan.discriminator(torch.randn(3, 2))
    with pytest.raises(ProfondError, match=r"\(B, 2\)"):
        gan.discriminator(torch.randn(8, 3))
    with pytest.raises(ValueError, match="pack"):
        PointGANConfig(pack=0)


def test_minimax_loss_has_a_smaller_gradient_when_d_rejects_the_fakes() -> None:
    torch.manual_seed(0)
    gan = PointGAN(PointGANConfig(hidden=8))
    with torch.no_grad():  # a discriminator that says "fake" with high confidence everywhere
        gan.critic[-1].bias.fill_(-8.0)
    grads = {}
    for saturating in (True, False):
        fake = torch.randn(64, 2, requires_grad=True)
        g_loss(gan, fake, saturating).backward()
        grads[saturating] = fake.grad.norm()
    assert grads[True] < 0.01 * grads[False]


def test_trainer_fits_a_point_gan_and_counts_ring_modes(tmp_path) -> None:
    torch.set_num_threads(1)
    data = load_dataset("ring", DataOptions(val_fraction=0.2, limit=1000))
    task = PointGANTask(data)
    assert task.monitor == "modes" and task.monitor_mode == "max"
    torch.manual_seed(0)
    model = PointGAN(PointGANConfig(hidden=32))
    result = Trainer(TrainConfig(epochs=6, batch_size=64, lr=1e-3, device="cpu"), figures_dir=tmp_path).fit(model, task, data)  # fmt: skip
    for key in ("val_modes", "val_high_quality", "val_d_real", "val_d_fake"):
        assert len(result.history[key]) == 6
    assert all(0 <= m <= 8 for m in result.history["val_modes"])
    assert 0.0 < result.history["val_d_real"][-1] < 1.0
    assert (tmp_path / "point_gan_samples.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ProfondError, match=r"shape \(D,\)"):
        PointGANTask(load_dataset("digits", DataOptions(limit=50)))
