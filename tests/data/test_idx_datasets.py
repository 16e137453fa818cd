"""MNIST-style datasets: found locally, or downloaded from a mirror (here a local server)."""

import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest

from profond.data import idx_datasets
from profond.data.download import RemoteFile
from profond.data.idx import write_idx
from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError


def _write_fake_mnist(folder, n_train=50, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = (
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    )
    for part, array in zip(idx_datasets.PARTS, arrays, strict=True):
        write_idx(folder / f"{part}.gz", array)
    return arrays


def test_fashion_mnist_from_the_system_folder(system_data):
    system_data("fashion-mnist")
    bundle = load_dataset("fashion-mnist", DataOptions(limit=1000, val_fraction=0.2))
    assert bundle.x_train.shape == (800, 1, 28, 28)
    assert bundle.x_val.shape == (200, 1, 28, 28)
    assert bundle.x_test.shape == (10000, 1, 28, 28)
    assert 0.0 <= float(bundle.x_train.min()) and float(bundle.x_train.max()) <= 1.0
    assert bundle.classes[9] == "Ankle boot"


def test_standard_normalization_uses_train_statistics():
    bundle = load_dataset("digits", DataOptions(normalization="standard"))
    assert abs(float(bundle.x_train.mean())) < 1e-4
    assert abs(float(bundle.x_train.std()) - 1.0) < 1e-3
    assert bundle.preprocessing.normalization == "standard"


def test_data_dir_is_searched_first(tmp_path):
    arrays = _write_fake_mnist(tmp_path / "mine")
    bundle = load_dataset("mnist", DataOptions(data_dir=str(tmp_path / "mine"), val_fraction=0.0))
    np.testing.assert_allclose(bundle.x_test[:, 0].numpy() * 255.0, arrays[2], atol=1e-3)


def test_label_count_mismatch_is_a_clear_error(tmp_path):
    _write_fake_mnist(tmp_path / "bad")
    write_idx(tmp_path / "bad" / "train-labels-idx1-ubyte.gz", np.zeros(49, dtype=np.uint8))
    with pytest.raises(ProfondError, match="50 images but 49 labels"):
        load_dataset("mnist", DataOptions(data_dir=str(tmp_path / "bad")))


@pytest.fixture()
def mirror(tmp_path):
    """A local HTTP server standing in for the official mirror."""
    root = tmp_path / "mirror"
    _write_fake_mnist(root)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _remote(root, url, corrupt=None):
    files = []
    for part in idx_datasets.PARTS:
        digest = hashlib.sha256((root / f"{part}.gz").read_bytes()).hexdigest()
        files.append(RemoteFile(f"{part}.gz", "0" * 64 if part == corrupt else digest, (url,)))
    return files


def test_download_into_the_cache_with_checksums(mirror, monkeypatch, isolated_home):
    root, url = mirror
    monkeypatch.setattr(idx_datasets, "remote_files", lambda name: _remote(root, url))
    monkeypatch.setattr(
        idx_datasets, "resolve_dir", lambda options, name: [isolated_home / "datasets" / name]
    )
    bundle = load_dataset("mnist", DataOptions(val_fraction=0.0))
    assert bundle.x_train.shape == (50, 1, 28, 28)
    assert (isolated_home / "datasets" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_checksum_mismatch_discards_the_file(mirror, monkeypatch, isolated_home):
    root, url = mirror
    monkeypatch.setattr(
        idx_datasets, "remote_files", lambda name: _remote(root, url, corrupt=idx_datasets.PARTS[1])
    )
    monkeypatch.setattr(
        idx_datasets, "resolve_dir", lambda options, name: [isolated_home / "datasets" / name]
    )
    with pytest.raises(ProfondError, match="SHA-256 mismatch"):
        load_dataset("mnist", DataOptions())
    assert not (isolated_home / "datasets" / "mnist" / "train-labels-idx1-ubyte.gz").exists()


def test_offline_error_says_how_to_get_the_files(monkeypatch, isolated_home):
    dead = [RemoteFile(f"{p}.gz", "0" * 64, ("http://127.0.0.1:9/",)) for p in idx_datasets.PARTS]
    monkeypatch.setattr(idx_datasets, "remote_files", lambda name: dead)
    monkeypatch.setattr(
        idx_datasets, "resolve_dir", lambda options, name: [isolated_home / "nowhere"]
    )
    with pytest.raises(ProfondError, match="--data-dir"):
        load_dataset("mnist", DataOptions())
