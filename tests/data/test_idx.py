import gzip

import numpy as np
import pytest

from profond.data.idx import read_idx, write_idx
from profond.errors import ProfondError


def test_round_trip_gzip_and_raw(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    for name in ("a.gz", "a"):
        back = read_idx(write_idx(tmp_path / name, images))
        np.testing.assert_array_equal(back, images)
        assert back.shape == (5, 28, 28)


def test_reads_the_real_fashion_mnist_labels():
    labels = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [1000] * 10


def test_truncated_file_is_rejected_with_shapes(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((10, 4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(
        ProfondError, match=r"truncated or corrupt: header declares shape \(10, 4, 4\)"
    ):
        read_idx(path)


def test_truncated_gzip_is_rejected(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((100, 4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(ProfondError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_not_an_idx_file(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"hello world, not idx"))
    with pytest.raises(ProfondError, match="not an IDX file"):
        read_idx(path)
