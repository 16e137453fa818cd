"""Parts of the optimization and generalization labs, checked on real computation."""

import numpy as np
import pytest
import torch

from profond.labs import small_train as st


def test_the_two_momentum_formulas_coincide_and_momentum_needs_fewer_steps():
    from profond.labs.momentum_ill_conditioned import CONFIG, _formulas, _iterations, _quadratic

    assert _formulas(CONFIG, seed=0) < 1e-12
    a, start = _quadratic(10, 100.0, seed=0)
    gd = _iterations(a, start, "sgd", 2 / (1 + 0.01), 0.0, CONFIG)
    heavy = _iterations(a, start, "momentum", 4 / (1 + 0.1) ** 2, (9 / 11) ** 2, CONFIG)
    assert heavy < gd / 2
    assert 0.5 * float(start @ a @ start) > 0


def test_dropout_layers_removed_give_the_test_time_output_exactly():
    from profond.labs.dropout_claims import _without_dropout

    data = st.digits()
    setting = st.Setting(model_options={"hidden_sizes": (32, 32), "dropout": 0.5})
    model = st.build_model(setting, data, seed=0).eval()
    twin = _without_dropout(model)
    assert not any(isinstance(m, torch.nn.Dropout) for m in twin.modules())
    with torch.no_grad():
        assert torch.equal(model(data.x_test), twin(data.x_test))
        model.train()
        assert not torch.equal(model(data.x_test), twin(data.x_test))


def test_minimum_norm_random_features_interpolate_past_n():
    from profond.labs.double_descent import _fit_predict

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 8)), rng.integers(0, 3, 40)
    fitted = _fit_predict(x, y, x, 200, np.random.default_rng(1))
    assert np.allclose(fitted, np.eye(3)[y], atol=1e-6)  # p > n: the training set is fitted
    under = _fit_predict(x, y, x, 5, np.random.default_rng(1))
    assert not np.allclose(under, np.eye(3)[y], atol=1e-3)


def test_scaled_task_multiplies_the_training_loss():
    from profond.labs.adam_vs_sgd import _scaled_task

    data = st.digits()
    model = st.build_model(
        st.Setting(model_options={"hidden_sizes": (16,), "dropout": 0.0}), data, 0
    )
    plain = st._family_task("mlp", data).training_step(model, data.x_val, data.y_val)
    scaled = _scaled_task(1000.0)(data).training_step(model, data.x_val, data.y_val)
    assert scaled.item() == pytest.approx(1000.0 * plain.item(), rel=1e-5)


def test_augmented_task_transforms_only_training_batches():
    from profond.labs.data_augmentation import _augmented_task

    data = st.digits(normalization="minmax")
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(x.clone())
            return torch.zeros(len(x), 10, requires_grad=True)

    task = _augmented_task("upside_down", 1)(data)
    torch.manual_seed(0)
    task.training_step(Spy(), data.x_train[:64], data.y_train[:64])
    flipped = [not torch.equal(a, b) for a, b in zip(seen[0], data.x_train[:64], strict=True)]
    assert 10 < sum(flipped) < 54  # about half of the batch turned upside down
    task.evaluate(Spy(), data.x_val[:8], data.y_val[:8], 8)
    assert torch.equal(seen[-1], data.x_val[:8])
