"""The GAN task: the two updates, the quality score and its scale, figures, what it refuses."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.inference.inputs import prepare_input
from profond.models.gan import GAN, GANConfig
from profond.models.saved import ModelCard
from profond.train.config import TrainConfig
from profond.train.gan_quality import (
    QualityConfig,
    QualityScorer,
    frechet_distance,
    quality_classifier,
)
from profond.train.tasks import task_class
from profond.train.tasks.gan import GANTask
from profond.train.trainer import Trainer

QUICK = QualityConfig(hidden_sizes=(64, 32), epochs=2, max_samples=300)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small convolutions run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROFOND_HOME", str(tmp_path_factory.mktemp("home")))
        yield


@pytest.fixture(scope="module")
def fashion(home, system_data):
    system_data("fashion-mnist")
    bundle = load_dataset("fashion-mnist", DataOptions(limit=2000, val_fraction=0.15))
    return dataclasses.replace(bundle, x_test=bundle.x_test[:600], y_test=bundle.y_test[:600])


def small_gan(**overrides) -> GAN:
    torch.manual_seed(0)
    return GAN(GANConfig(hidden_channels=(8, 16), latent_dim=16, **overrides))


def test_registered_under_its_name():
    assert task_class("gan") is GANTask
    assert GANTask.manual_optimization


def test_default_optimizers_are_dcgan_adam(fashion):
    from profond.models.registry import get_family

    task = GANTask(fashion, QUICK)
    defaults = TrainConfig(**get_family("gan").train_defaults)
    opt_g, opt_d = task.configure_optimizers(small_gan(), defaults)
    for opt in (opt_g, opt_d):
        assert isinstance(opt, torch.optim.Adam)
        assert opt.param_groups[0]["lr"] == 2e-4
        assert opt.param_groups[0]["betas"] == (0.5, 0.999)
    gan = small_gan()
    opt_g, opt_d = task.configure_optimizers(gan, TrainConfig())
    assert {id(p) for p in opt_g.param_groups[0]["params"]} == {
        id(p) for p in gan.generator.parameters()
    }


def test_user_lr_and_optimizer_are_honoured(fashion):
    task = GANTask(fashion, QUICK)
    opt_g, _ = task.configure_optimizers(small_gan(), TrainConfig(lr=5e-4))
    assert opt_g.param_groups[0]["lr"] == 5e-4
    # an lr equal to TrainConfig's default is still the user's choice
    opt_g, _ = task.configure_optimizers(small_gan(), TrainConfig(lr=1e-3))
    assert opt_g.param_groups[0]["lr"] == 1e-3
    opt_g, _ = task.configure_optimizers(small_gan(), TrainConfig(optimizer="sgd", lr=2e-4))
    assert isinstance(opt_g, torch.optim.SGD)
    assert opt_g.param_groups[0]["lr"] == 2e-4


def test_discriminator_learns_to_separate_real_from_generated(fashion):
    gan = small_gan().train()
    task = GANTask(fashion, QUICK)
    optimizers = task.configure_optimizers(gan, TrainConfig(lr=1e-3))
    torch.manual_seed(0)
    for step in range(25):
        x = fashion.x_train[step * 32 : (step + 1) * 32]
        g_loss = task.manual_step(gan, x, fashion.y_train[:32], optimizers)
        assert not g_loss.requires_grad
    assert all(p.requires_grad for p in gan.discriminator.parameters())  # unfrozen after G's step
    gan.eval()
    with torch.no_grad():
        real = gan.discriminator(fashion.x_val[:200])
        fake = gan.discriminator(gan.sample(200, torch.Generator().manual_seed(1)))
    accuracy = ((real > 0).float().mean() + (fake < 0).float().mean()) / 2
    assert accuracy > 0.8


def test_manual_step_moves_both_networks(fashion):
    gan = small_gan().train()
    task = GANTask(fashion, QUICK)
    optimizers = task.configure_optimizers(gan, TrainConfig())
    g_before = [p.detach().clone() for p in gan.generator.parameters()]
    d_before = [p.detach().clone() for p in gan.discriminator.parameters()]
    task.manual_step(gan, fashion.x_train[:16], fashion.y_train[:16], optimizers)
    assert any(
        not torch.equal(a, b) for a, b in zip(g_before, gan.generator.parameters(), strict=True)
    )
    assert any(
        not torch.equal(a, b) for a, b in zip(d_before, gan.discriminator.parameters(), strict=True)
    )


def test_label_smoothing_raises_the_discriminator_loss_on_real_images(fashion):
    task = GANTask(fashion, QUICK)
    x = fashion.x_val[:64]
    plain = small_gan().eval()
    smoothed = small_gan(label_smoothing=0.2).eval()
    fake = plain.sample(64, torch.Generator().manual_seed(0))
    assert task._d_loss(smoothed, x, fake) != task._d_loss(plain, x, fake)


def test_frechet_distance_of_gaussians_has_its_closed_form():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g)
    b = torch.randn(20000, 3, generator=g) * 2 + 1
    # N(0, I) vs N(1, 4I): 3 · 1² + 3 · (1 + 4 - 2 · 2) = 6.
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ProfondError, match=r"same D"):
        frechet_distance(a, b[:, :2])


def test_real_vs_real_fid_is_far_below_noise_vs_real(fashion):
    classifier = quality_classifier(fashion, QUICK)
    scorer = QualityScorer(classifier, fashion.x_test, QUICK.max_samples)
    scale = scorer.scale()
    assert scale["real_vs_real"] * 20 < scale["noise_vs_real"]
    real = scorer.score(fashion.x_val[:300])
    assert real["class_coverage"] >= 0.9
    noise = scorer.score(torch.rand(300, 1, 28, 28))
    assert noise["fid"] > 10 * real["fid"]
    one_class = fashion.x_val[fashion.y_val == 1][:100]  # trousers only: a collapsed generator
    assert scorer.score(one_class)["class_coverage"] < 0.5


def test_quality_classifier_is_cached_per_data(fashion, tmp_path, monkeypatch):
    monkeypatch.setenv("PROFOND_HOME", str(tmp_path))
    first = quality_classifier(fashion, QUICK)
    folders = list((tmp_path / "quality").iterdir())
    assert len(folders) == 1
    again = quality_classifier(fashion, QUICK)
    x = fashion.x_val[:10]
    torch.testing.assert_close(first.features(x), again.features(x))
    smaller = dataclasses.replace(
        fashion, x_train=fashion.x_train[:500], y_train=fashion.y_train[:500]
    )
    quality_classifier(smaller, QUICK)
    assert len(list((tmp_path / "quality").iterdir())) == 2


def test_unlabelled_data_cannot_be_scored(fashion):
    unlabelled = dataclasses.replace(fashion, classes=[])
    with pytest.raises(ProfondError, match="labelled"):
        quality_classifier(unlabelled, QUICK)
    assert GANTask(unlabelled, QUICK).monitor == "g_loss"


def test_predict_points_to_generate():
    card = ModelCard(
        family="gan", task="gan", data="fashion-mnist", config={}, input_shape=[1, 28, 28]
    )
    with pytest.raises(ProfondError, match="profond generate"):
        prepare_input(GANTask, "image.png", card)


def test_trainer_end_to_end(fashion, tmp_path):
    gan = small_gan()
    task = GANTask(fashion, QUICK)
    config = TrainConfig(epochs=2, batch_size=64, device="cpu", seed=0)
    result = Trainer(config, figures_dir=tmp_path).fit(gan, task, fashion)
    for key in (
        "val_loss",
        "val_d_loss",
        "val_g_loss",
        "val_fid",
        "val_class_coverage",
        "val_confidence",
    ):
        assert len(result.history[key]) == 2
    assert set(result.final_metrics) == {
        "gan_fid", "gan_class_coverage", "gan_confidence", "gan_fid_real_vs_real", "gan_fid_noise_vs_real",
    }  # fmt: skip
    assert all(math.isfinite(v) for v in result.final_metrics.values())
    assert 0 < result.final_metrics["gan_class_coverage"] <= 1
    assert "test_fid" in result.test_metrics
    assert (tmp_path / "gan_samples_epoch000.png").is_file()
    assert (tmp_path / "gan_samples_epoch001.png").is_file()
    assert [p.name for p in result.figures] == ["gan_samples.png"]
