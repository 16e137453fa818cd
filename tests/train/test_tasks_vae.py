"""The VAE task: the ELBO's terms, learning on Fashion-MNIST, figures, and what it refuses."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.inference.inputs import prepare_input
from profond.models.saved import ModelCard
from profond.models.vae import VAE, VAEConfig
from profond.train.config import TrainConfig
from profond.train.tasks import task_class
from profond.train.tasks.vae import VAETask, elbo_terms
from profond.train.trainer import Trainer


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small convolutions run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fashion(tmp_path_factory, system_data):
    system_data("fashion-mnist")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROFOND_HOME", str(tmp_path_factory.mktemp("home")))
        bundle = load_dataset("fashion-mnist", DataOptions(limit=1200, val_fraction=0.2))
    # A small fixed test split keeps evaluation fast.
    return dataclasses.replace(bundle, x_test=bundle.x_test[:300], y_test=bundle.y_test[:300])


def small_vae(**overrides) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(hidden_channels=(8, 16), latent_dim=8, **overrides))


def test_registered_under_its_name():
    assert task_class("vae") is VAETask


def test_kl_term_matches_torch_distributions():
    model = small_vae()
    x = torch.rand(4, 1, 28, 28)
    _, kl = elbo_terms(model, x, torch.Generator().manual_seed(0))
    mu, logvar = model.encode(x)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(dim=1)
    torch.testing.assert_close(kl, expected)


def test_reconstruction_term_is_the_bernoulli_negative_log_likelihood():
    model = small_vae()
    x = (torch.rand(2, 1, 28, 28) > 0.5).float()
    recon, _ = elbo_terms(model, x, torch.Generator().manual_seed(0))
    mu, logvar = model.encode(x)
    z = VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    probs = model.decode(z)
    log_likelihood = (x * probs.log() + (1 - x) * (1 - probs).log()).flatten(1).sum(1)
    torch.testing.assert_close(recon, -log_likelihood, rtol=1e-4, atol=1e-3)


def test_elbo_improves_with_a_few_steps_on_fashion_mnist(fashion):
    model = small_vae()
    task = VAETask(fashion)
    before = task.evaluate(model.eval(), fashion.x_val, fashion.y_val, batch_size=256)
    assert set(before) == {"loss", "elbo", "recon", "kl"}
    assert before["elbo"] == pytest.approx(-(before["recon"] + before["kl"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for step in range(40):
        index = torch.arange(step * 64, (step + 1) * 64) % len(fashion.x_train)
        loss = task.training_step(model, fashion.x_train[index], fashion.y_train[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = task.evaluate(model.eval(), fashion.x_val, fashion.y_val, batch_size=256)
    # The untrained decoder predicts ~0.5 everywhere (784 · ln 2 ≈ 543 nats); 40 steps learn
    # the dark background and the rough silhouettes.
    assert before["elbo"] < -500
    assert after["elbo"] > before["elbo"] + 150


def test_evaluation_is_deterministic(fashion):
    model = small_vae().eval()
    task = VAETask(fashion)
    a = task.evaluate(model, fashion.x_val[:100], fashion.y_val[:100], 50)
    b = task.evaluate(model, fashion.x_val[:100], fashion.y_val[:100], 50)
    assert a == b


def test_beta_weights_the_kl_term_of_the_loss(fashion):
    task = VAETask(fashion)
    plain = task.evaluate(small_vae().eval(), fashion.x_val[:64], fashion.y_val[:64], 64)
    weighted = task.evaluate(small_vae(beta=4.0).eval(), fashion.x_val[:64], fashion.y_val[:64], 64)
    assert weighted["elbo"] == pytest.approx(plain["elbo"])
    assert weighted["loss"] == pytest.approx(plain["recon"] + 4.0 * plain["kl"])


def test_gaussian_likelihood_gives_a_finite_elbo(fashion):
    model = small_vae(likelihood="gaussian").eval()
    metrics = VAETask(fashion).evaluate(model, fashion.x_val[:64], fashion.y_val[:64], 64)
    # 784 pixels · ½ log 2π ≈ 720 nats of constant, plus the squared errors.
    assert metrics["recon"] > 784 * 0.5 * math.log(2 * math.pi)
    assert math.isfinite(metrics["elbo"])


def test_pixels_outside_unit_range_are_refused(fashion):
    standardized = dataclasses.replace(fashion, x_train=fashion.x_train * 4 - 2)
    task = VAETask(standardized)
    with pytest.raises(ProfondError, match=r"\[0, 1\].*likelihood=gaussian"):
        task.training_step(small_vae(), standardized.x_train[:8], standardized.y_train[:8])


def test_flat_data_is_refused(fashion):
    flat = dataclasses.replace(fashion, input_shape=(784,))
    with pytest.raises(ProfondError, match=r"\(C, H, W\)"):
        VAETask(flat)


def test_predict_points_to_generate():
    card = ModelCard(
        family="vae", task="vae", data="fashion-mnist", config={}, input_shape=[1, 28, 28]
    )
    with pytest.raises(ProfondError, match="profond generate"):
        prepare_input(VAETask, "image.png", card)


def test_trainer_end_to_end_with_figures(fashion, tmp_path, monkeypatch):
    monkeypatch.setenv("PROFOND_HOME", str(tmp_path / "home"))
    model = small_vae()
    config = TrainConfig(epochs=2, batch_size=128, device="cpu", seed=0)
    result = Trainer(config, figures_dir=tmp_path).fit(model, VAETask(fashion), fashion)
    assert len(result.history["val_elbo"]) == 2
    assert result.history["val_elbo"][1] > result.history["val_elbo"][0]
    assert result.test_metrics["test_elbo"] < 0
    names = sorted(p.name for p in result.figures)
    assert names == ["vae_interpolation.png", "vae_samples.png"]
    assert all(p.stat().st_size > 0 for p in result.figures)
