"""The measuring parts of the compression, robustness, drift, imbalance and missing-data labs."""

import numpy as np
import pytest
import torch

from profond.labs import small_train as st
from profond.labs.toy import classification_bundle


def _images(n: int = 400, seed: int = 0, classes: int = 3):
    """Random 8×8 images in [0, 1] whose class sets the brightness of one row."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.random((n, 1, 8, 8)).astype(np.float32) * 0.5
    x[np.arange(n), 0, y * 2, :] += 0.5
    return x, y


def _bundle(classes: int = 3):
    train, val, test = _images(400, 0, classes), _images(100, 1, classes), _images(200, 2, classes)
    return classification_bundle("rows", train, test, val)


def test_fgsm_moves_a_linear_models_logit_gaps_exactly_by_the_projection():
    from profond.labs.adversarial_fgsm import _gap_shift_error

    data = _bundle()
    x, y = data.x_test, data.y_test
    linear = st.build_model(st.Setting(model_options={"hidden_sizes": (), "dropout": 0.0}), data, 0)
    error, bound = _gap_shift_error(linear.eval(), x, y, 0.1)
    assert error < 1e-4 and bound > 0
    deep = st.build_model(
        st.Setting(model_options={"hidden_sizes": (64,), "dropout": 0.0}), data, 0
    )
    # a hidden layer as wide as the input: the same formula, applied to the head, must miss
    assert _gap_shift_error(deep.eval(), x, y, 0.1)[0] > 1e-2


def test_controlled_shifts_do_what_they_say():
    from profond.labs.covariate_shift_drift import shifted

    x = torch.rand(20, 1, 8, 8)
    assert shifted(x, "noise", 0.0, 0) is x
    noisy = shifted(x, "noise", 0.3, 0)
    assert not torch.equal(noisy, x) and noisy.min() >= 0 and noisy.max() <= 1
    assert torch.all(shifted(x, "brightness", 0.2, 0) >= x)
    flat = shifted(x, "contrast", 0.5, 0)
    assert torch.allclose(flat.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-6)
    assert flat.std() < x.std()
    assert torch.equal(shifted(x, "translation", 1.0, 0)[..., 1:], x[..., :-1])
    with pytest.raises(ValueError):
        shifted(x, "rotation", 1.0, 0)


def test_drift_monitor_quiet_on_the_same_data_and_alarmed_by_a_bright_shift():
    from profond.labs.covariate_shift_drift import Config, _alarm_rate, drift_module, shifted

    data = _bundle()
    model = st.build_model(
        st.Setting(model_options={"hidden_sizes": (16,), "dropout": 0.0}), data, 0
    )
    drift = drift_module()
    c = Config(window=100, windows=3)
    monitor = drift.DriftMonitor(
        drift.build_reference(model, data.x_train), window=100, min_samples=100
    )
    assert _alarm_rate(monitor, model.eval(), data.x_test, c, 0) == 0.0
    bright = shifted(data.x_test, "brightness", 0.3, 0)
    assert _alarm_rate(monitor, model, bright, c, 0) == 1.0


def test_missingness_masks_and_imputed_bundles():
    from profond.labs.missing_values import Config, _mask
    from profond.labs.missing_values import _bundle as missing_bundle

    c = Config()
    x = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (2000, 1))
    mcar, mnar = _mask(x, "mcar", c, 0), _mask(x, "mnar", c, 0)
    assert abs(mcar.mean() - c.missing_rate) < 0.01
    assert not mnar[:, 0].any() and mnar[:, -1].mean() > 0.7  # dark never missing, bright often
    data = _bundle()
    plain = missing_bundle(data, "mnar", False, c, 0)
    marked = missing_bundle(data, "mnar", True, c, 0)
    assert plain.x_train.shape[1] == 64 and marked.x_train.shape[1] == 128
    assert not torch.isnan(marked.x_train).any()
    indicators = marked.x_test[:, 64:]
    assert set(indicators.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(marked.x_test[:, :64], plain.x_test)


def test_omitted_class_is_removed_from_training_only_and_bias_shift_recovers_it():
    from profond.labs.distillation import _omitted_accuracy, _without

    data = _bundle()
    without = _without(data, 1)
    assert (without.y_train != 1).all() and (without.y_val != 1).all()
    assert (without.y_test == 1).any()

    class Rows(torch.nn.Module):  # reads the class off the bright row, class 1 handicapped
        def forward(self, x):
            logits = x[:, 0, [0, 2, 4], :].mean(-1) * 10
            return logits - torch.tensor([0.0, 8.0, 0.0])

    accuracy, shift = _omitted_accuracy(Rows(), data, 1, (0.0, 4.0, 8.0, 10.0))
    assert _omitted_accuracy(Rows(), data, 1, (0.0,))[0] < 0.5
    assert accuracy > 0.9 and shift >= 8.0


def test_few_keeps_that_many_images_per_class():
    from profond.labs.transfer_learning_layers import _few

    few = _few(_bundle(), 5, 0)
    assert torch.bincount(few.y_train).tolist() == [5, 5, 5]
    assert torch.equal(_few(_bundle(), 5, 0).x_train, few.x_train)
