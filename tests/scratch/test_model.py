import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from profond.errors import ProfondError
from profond.models.mlp import MLP, MLPConfig
from profond.scratch.activations import ReLU, Tanh
from profond.scratch.gradcheck import numerical_gradient, relative_error
from profond.scratch.layers import BatchNorm, Dense, Dropout
from profond.scratch.losses import BinaryCrossEntropy, SparseCategoricalCrossEntropy
from profond.scratch.model import Sequential, build_mlp
from profond.scratch.optimizers import make_optimizer

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))  # the file is sorted by writer
    x, y = x[order] / 16.0, y[order]
    return x[:1400], y[:1400], x[1400:], y[1400:]


def test_build_mlp_mirrors_the_torch_mlp():
    model = build_mlp(64, (32, 16), 10, "relu", 0.2, "he", seed=0)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Dense", "ReLU", "Dropout", "Dense", "ReLU", "Dropout", "Dense"]
    assert [layer.name for layer in model.layers][:3] == ["dense_0", "relu_1", "dropout_2"]
    reference = MLP(MLPConfig(64, 10, (32, 16), "relu", 0.2, False, "he"))
    ours = sum(p.size for p in model.parameters())
    assert ours == sum(p.numel() for p in reference.parameters())
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert isinstance(model.loss, SparseCategoricalCrossEntropy)
    no_dropout = build_mlp(64, (32,), 10, "tanh", 0.0, "xavier", seed=0, dtype=np.float64)
    assert [type(layer) for layer in no_dropout.layers] == [Dense, Tanh, Dense]
    assert no_dropout.parameters()[0].dtype == np.float64


def test_build_mlp_is_seeded():
    a, b, c = (build_mlp(8, (4,), 3, "relu", 0.5, "default", seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.parameters()[0], b.parameters()[0])
    assert not np.array_equal(a.parameters()[0], c.parameters()[0])


def test_build_mlp_rejects_bad_arguments():
    with pytest.raises(ProfondError, match="unknown activation 'gelu'"):
        build_mlp(8, (4,), 3, "gelu", 0.0, "he", seed=0)
    with pytest.raises(ProfondError, match="dropout=1.5"):
        build_mlp(8, (4,), 3, "relu", 1.5, "he", seed=0)
    with pytest.raises(ProfondError, match="unknown init"):
        build_mlp(8, (4,), 3, "relu", 0.0, "orthogonal", seed=0)


def test_whole_network_backprop_matches_finite_differences_and_torch():
    model = Sequential(
        [
            Dense(6, 5, seed=1, dtype=np.float64),
            BatchNorm(5, momentum=0.0, dtype=np.float64),
            Tanh(),
            Dense(5, 4, seed=2, dtype=np.float64),
            ReLU(),
            Dense(4, 3, seed=3, dtype=np.float64),
        ],
        loss=SparseCategoricalCrossEntropy(),
        dtype=np.float64,
    )
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 6)), rng.integers(0, 3, 7)

    def cost():
        return model.loss.forward(model.forward(x, training=True), y)

    cost()
    model.backward(model.loss.backward())
    analytic = [g.copy() for g in model.gradients()]
    for param, grad in zip(model.parameters(), analytic, strict=True):
        assert relative_error(grad, numerical_gradient(cost, param)) < 1e-6

    tensors = [torch.tensor(p, requires_grad=True) for p in model.parameters()]
    w1, b1, gamma, beta, w2, b2, w3, b3 = tensors
    h = torch.nn.functional.linear(torch.tensor(x), w1, b1)
    h = torch.nn.functional.batch_norm(h, None, None, gamma, beta, training=True)
    h = torch.relu(torch.nn.functional.linear(torch.tanh(h), w2, b2))
    loss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(h, w3, b3), torch.tensor(y))
    loss.backward()
    for grad, tensor in zip(analytic, tensors, strict=True):
        np.testing.assert_allclose(grad, tensor.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_fit_learns_digits_and_reports_history(digits):
    x, y, x_val, y_val = digits
    model = build_mlp(64, (64,), 10, "relu", 0.1, "he", seed=0).compile(
        make_optimizer("adam", 1e-2)
    )
    seen = []
    history = model.fit(
        x,
        y,
        epochs=6,
        batch_size=64,
        validation_data=(x_val, y_val),
        seed=0,
        on_epoch_end=lambda epoch, logs: seen.append((epoch, dict(logs))),
    )
    assert set(history) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 6 for values in history.values())
    assert [epoch for epoch, _ in seen] == [1, 2, 3, 4, 5, 6]
    assert seen[-1][1]["val_accuracy"] == history["val_accuracy"][-1]
    assert history["train_loss"][-1] < history["train_loss"][0] / 3
    scores = model.evaluate(x_val, y_val)
    assert scores["accuracy"] > 0.9
    assert scores == {"loss": history["val_loss"][-1], "accuracy": history["val_accuracy"][-1]}
    probs = model.predict(x_val)
    assert probs.shape == (len(x_val), 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert np.mean(probs.argmax(axis=1) == y_val) == scores["accuracy"]


def test_fit_is_reproducible_and_shuffle_matters(digits):
    x, y, _, _ = digits

    def run(shuffle, seed):
        model = build_mlp(64, (16,), 10, "relu", 0.3, "he", seed=0).compile(
            make_optimizer("sgd", 0.1)
        )
        return model.fit(x, y, epochs=2, batch_size=50, shuffle=shuffle, seed=seed)["train_loss"]

    assert run(True, 3) == run(True, 3)
    assert run(True, 3) != run(True, 4)
    assert run(False, 3) == run(False, 4)


def test_a_hidden_layer_solves_xor():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    model = Sequential(
        [
            Dense(2, 8, init="xavier", seed=0, dtype=np.float64),
            Tanh(),
            Dense(8, 1, seed=1, dtype=np.float64),
        ],
        loss=BinaryCrossEntropy(from_logits=True),
        optimizer=make_optimizer("adam", 0.05),
        dtype=np.float64,
    )
    model.fit(x, y, epochs=300, batch_size=4, shuffle=False)
    assert model.evaluate(x, y)["accuracy"] == 1.0


def test_early_stopping_stops_and_restores_the_best_weights():
    rng = np.random.default_rng(0)
    # Random labels: the network can only memorise, so validation loss soon rises.
    x, y = rng.standard_normal((200, 30)), rng.integers(0, 5, 200)
    x_val, y_val = rng.standard_normal((200, 30)), rng.integers(0, 5, 200)
    model = build_mlp(30, (128,), 5, "relu", 0.0, "he", seed=0).compile(
        make_optimizer("adam", 1e-2)
    )
    history = model.fit(x, y, epochs=100, batch_size=20, validation_data=(x_val, y_val), patience=3)
    epochs_run = len(history["val_loss"])
    best = int(np.argmin(history["val_loss"]))
    assert epochs_run == best + 1 + 3 < 100
    assert model.evaluate(x_val, y_val)["loss"] == pytest.approx(
        history["val_loss"][best], rel=1e-6
    )


def test_save_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("PROFOND_HOME", str(tmp_path))
    model = Sequential(
        [Dense(6, 5, seed=1), BatchNorm(5), ReLU(), Dropout(0.2, seed=3), Dense(5, 3, seed=2)],
        loss="sparse_categorical_crossentropy",
        optimizer=make_optimizer("sgd", 0.1),
    )
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    model.fit(x, y, epochs=2, batch_size=8)
    path = model.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        architecture = json.loads(str(data["architecture"]))
        np.testing.assert_array_equal(
            data["1.running_mean"], model.layers[1].buffers["running_mean"]
        )
    assert [spec["type"] for spec in architecture["layers"]] == [
        "Dense",
        "BatchNorm",
        "ReLU",
        "Dropout",
        "Dense",
    ]
    loaded = Sequential.load(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    assert [p.dtype for p in loaded.parameters()] == [p.dtype for p in model.parameters()]
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ProfondError, match="already exists"):
        model.save(path)
    model.fit(x, y, epochs=1, batch_size=8)
    model.save(path, overwrite=True)
    np.testing.assert_array_equal(Sequential.load(path).predict(x), model.predict(x))


def test_load_rejects_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ProfondError, match="no saved model"):
        Sequential.load(tmp_path / "absent.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip file")
    with pytest.raises(ProfondError, match="not a readable profond scratch model"):
        Sequential.load(corrupt)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(ProfondError, match="not a readable"):
        Sequential.load(foreign)


def test_mismatched_layers_name_the_layer_and_the_shapes():
    with pytest.raises(ProfondError, match=r"dense_2 expects inputs of shape \(B, 7\).*\(B, 5\)"):
        Sequential([Dense(4, 5), ReLU(), Dense(7, 2)])


def test_bad_data_is_a_clear_error():
    model = build_mlp(4, (3,), 2, "relu", 0.0, "he", seed=0).compile(make_optimizer("sgd", 0.1))
    x, y = np.ones((5, 4)), np.array([0, 1, 0, 1, 1])
    with pytest.raises(ProfondError, match=r"dense_0 .*\(N, 4\).*\(5, 6\)"):
        model.fit(np.ones((5, 6)), y)
    with pytest.raises(ProfondError, match=r"class label 2 is outside \[0, 2\)"):
        model.fit(x, np.array([0, 1, 2, 1, 1]))
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ProfondError, match="NaN.*first at index 3"):
        model.fit(bad, y)
    with pytest.raises(ProfondError, match="NaN"):
        model.predict(bad)
    with pytest.raises(ProfondError, match="5 examples but y has 4"):
        model.fit(x, y[:4])
    with pytest.raises(ProfondError, match="batch_size"):
        model.fit(x, y, batch_size=0)
    with pytest.raises(ProfondError, match="optimizer"):
        build_mlp(4, (3,), 2, "relu", 0.0, "he", seed=0).fit(x, y)


def test_images_are_flattened():
    model = build_mlp(12, (4,), 2, "relu", 0.0, "he", seed=0)
    images = np.random.default_rng(0).random((3, 1, 3, 4))
    np.testing.assert_array_equal(model.predict(images), model.predict(images.reshape(3, 12)))


def test_the_engine_never_imports_torch():
    code = "import sys, profond.scratch; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def _read_idx(path):
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _fashion(split):
    x = _read_idx(FASHION / f"{split}-images-idx3-ubyte.gz").reshape(-1, 784) / np.float32(255)
    return x.astype(np.float32), _read_idx(FASHION / f"{split}-labels-idx1-ubyte.gz").astype(
        np.int64
    )


@pytest.mark.slow
def test_lab_mlp_on_fashion_mnist_matches_torch_accuracy():
    x, y = _fashion("train")
    x_test, y_test = _fashion("t10k")
    model = build_mlp(784, (128,), 10, "relu", 0.2, "default", seed=0)
    model.compile(make_optimizer("adam", 1e-3))
    model.fit(x, y, epochs=5, batch_size=128, seed=0)
    ours = model.evaluate(x_test, y_test)["accuracy"]

    torch.manual_seed(0)
    reference = MLP(MLPConfig(784, 10, (128,), "relu", 0.2))
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        reference.train()
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 128):
            index = order[start : start + 128]
            loss = torch.nn.functional.cross_entropy(reference(xt[index]), yt[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    reference.eval()
    with torch.no_grad():
        theirs = (reference(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    print(f"fashion-mnist test accuracy: scratch {ours:.4f}, torch {theirs:.4f}")
    assert ours > 0.85
    assert abs(ours - theirs) < 0.01
