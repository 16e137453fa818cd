"""Linear probes: features from a named layer, probe accuracy on real data, errors."""

from __future__ import annotations

import pytest
import torch

from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError
from profond.models.mlp import MLP, MLPConfig
from profond.models.probe import fit_probe, layer_features, layer_names, probe_layers


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", DataOptions(normalization="standard"))


def test_layer_features_capture_the_named_layer(digits) -> None:
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=64, hidden_sizes=(32, 16), dropout=0.0))
    assert "body.2" in layer_names(model)
    # body: Flatten, Linear, ReLU, ...; body.2 is the first ReLU
    features = layer_features(model, "body.2", digits.x_test, batch_size=100)
    assert features.shape == (len(digits.x_test), 32)
    assert (features >= 0).all() and (features > 0).any()
    torch.testing.assert_close(features, model.body[:3](digits.x_test))


def test_probe_reads_more_from_pixels_than_from_a_random_bottleneck(digits) -> None:
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=64, hidden_sizes=(2,), dropout=0.0))
    train, test = (digits.x_train, digits.y_train), (digits.x_test, digits.y_test)
    pixels, bottleneck = probe_layers(model, ["body.0", "body.2"], train, test)  # Flatten, ReLU
    assert pixels.features == 64 and bottleneck.features == 2
    assert pixels.test_accuracy > 0.9  # digits are almost linearly separable
    assert bottleneck.test_accuracy < pixels.test_accuracy - 0.3  # 2 random units lose most
    raw = fit_probe(
        digits.x_train.flatten(1), digits.y_train, digits.x_test.flatten(1), digits.y_test
    )
    assert raw.test_accuracy == pytest.approx(pixels.test_accuracy)


def test_unknown_layer_and_single_class_fail_clearly(digits) -> None:
    model = MLP(MLPConfig(in_features=64))
    with pytest.raises(ProfondError, match="no layer named 'conv9'.*choose one of: body"):
        layer_features(model, "conv9", digits.x_test)
    one_class = torch.zeros(10, dtype=torch.int64)
    with pytest.raises(ProfondError, match="two classes"):
        fit_probe(torch.randn(10, 3), one_class, torch.randn(4, 3), one_class[:4])
