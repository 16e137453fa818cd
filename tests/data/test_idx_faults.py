"""Hostile and mismatched IDX files: refused early, with bounded memory, naming the file."""

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from profond.data import idx_datasets
from profond.data.idx import MAX_IDX_BYTES, read_idx, write_idx
from profond.data.registry import DataOptions, load_dataset
from profond.errors import ProfondError

SRC = str(Path(__file__).parents[2] / "src")


def gzip_bomb(path: Path, header: bytes, expanded_mb: int) -> Path:
    """A ``.gz`` whose stream is ``header`` then ``expanded_mb`` MB of zeros.

    Built from one flushed deflate block repeated, so it is cheap to make; its trailer is
    wrong, which a reader that stops in time never reaches.
    """
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(bytes(1 << 20)) + deflate.flush(zlib.Z_FULL_FLUSH)
    with path.open("wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head)
        for _ in range(expanded_mb):
            out.write(block)
        out.write(deflate.flush() + struct.pack("<II", 0, 0))
    return path


MEASURE = """
import sys
from pathlib import Path
from profond.data.idx import read_idx
from profond.errors import ProfondError
try:
    read_idx(sys.argv[1])
    print("read")
except ProfondError as exc:
    print("refused:", exc)
# VmHWM: this process's peak RSS (getrusage's maxrss would include the parent's, kept over exec)
status = Path("/proc/self/status").read_text()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


def read_in_subprocess(path: Path) -> tuple[str, int]:
    """The outcome of ``read_idx(path)`` in a fresh process, and its peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    outcome, rss = done.stdout.strip().rsplit("\n", 1)
    return outcome, int(rss)


def test_a_2_mb_gzip_that_expands_to_4_gb_is_refused_with_bounded_memory(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2, 28, 28)
    bomb = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz", header, 4096)
    assert bomb.stat().st_size < 5 << 20
    outcome, rss_mb = read_in_subprocess(bomb)
    assert outcome.startswith("refused:") and "(2, 28, 28)" in outcome and "holds more" in outcome
    assert rss_mb < 200  # the interpreter and numpy; the 4 GB are never decompressed


def test_a_header_announcing_gigabytes_is_refused_before_reading(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 3_000_000, 28, 28)  # 2.3 GB
    bomb = gzip_bomb(tmp_path / "x.gz", header, 64)
    outcome, rss_mb = read_in_subprocess(bomb)
    assert "more than the" in outcome and str(MAX_IDX_BYTES) in outcome
    assert rss_mb < 200


@pytest.mark.parametrize(
    "dims",
    [(0xFFFFFFFF,) * 4, (2,) * 200, (1 << 20, 1 << 20)],
    ids=["uint32 max x4", "2^200", "2^40"],
)
def test_overflowing_header_products_are_refused(tmp_path, dims):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x0E, len(dims)]) + struct.pack(f">{len(dims)}I", *dims))
    with pytest.raises(ProfondError, match="bytes accepted"):
        read_idx(path)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "bad magic"),
        (b"\x00\x00\x08", "bad magic"),
        (b"\x00\x00\x07\x01", "bad magic"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x02\x00\x00", "header is incomplete"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03abcd", "holds 4"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt or truncated gzip"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path, raw, message):
    path = tmp_path / "x"
    path.write_bytes(raw)
    with pytest.raises(ProfondError, match=message):
        read_idx(path)


def test_a_folder_or_unreadable_file_is_one_clear_error(tmp_path):
    with pytest.raises(ProfondError, match="is a folder"):
        read_idx(tmp_path)


def fake_mnist(folder: Path, train_x=None, train_y=None, test_x=None, test_y=None) -> Path:
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, (30, 28, 28), dtype=np.uint8) if train_x is None else train_x,
        rng.integers(0, 10, 30, dtype=np.uint8) if train_y is None else train_y,
        rng.integers(0, 256, (10, 28, 28), dtype=np.uint8) if test_x is None else test_x,
        rng.integers(0, 10, 10, dtype=np.uint8) if test_y is None else test_y,
    ]
    folder.mkdir(parents=True, exist_ok=True)
    for part, array in zip(idx_datasets.PARTS, arrays, strict=True):
        write_idx(folder / f"{part}.gz", array)
    return folder


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"train_y": np.full(30, 10, np.uint8)}, r"train-labels.*30 label\(s\) out of range"),
        ({"test_y": np.full(10, -1, np.int8)}, r"t10k-labels.*out of range \(e.g. -1\)"),
        ({"test_y": np.zeros(10, np.float32)}, "labels must be integers"),
        ({"test_x": np.zeros((10, 14, 14), np.uint8)}, "28x28.*test images are 14x14"),
        ({"train_x": np.zeros((30, 784), np.uint8)}, r"\(N, H, W\) array, got shape \(30, 784\)"),
        ({"train_x": np.full((30, 28, 28), np.nan, np.float32)}, "23520 NaN or infinite"),
        ({"test_x": np.full((10, 28, 28), np.inf)}, "NaN or infinite.*corrupt"),
    ],
    ids=["label 10", "label -1", "float labels", "sizes differ", "flat", "nan", "inf"],
)
def test_mismatched_data_is_refused_at_load(tmp_path, arrays, message):
    folder = fake_mnist(tmp_path / "bad", **arrays)
    with pytest.raises(ProfondError, match=message):
        load_dataset("mnist", DataOptions(data_dir=str(folder)))


def test_explicit_data_dir_is_never_bypassed_for_another_copy(tmp_path):
    # fashion-mnist is installed system-wide; a named folder missing a file must not fall back.
    folder = fake_mnist(tmp_path / "partial")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(ProfondError, match="lacks fashion-mnist file.*t10k-labels-idx1-ubyte"):
        load_dataset("fashion-mnist", DataOptions(data_dir=str(folder)))
    with pytest.raises(ProfondError, match="does not exist"):
        load_dataset("fashion-mnist", DataOptions(data_dir=str(tmp_path / "nowhere")))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(ProfondError, match="t10k-labels-idx1-ubyte.gz is a corrupt"):
        load_dataset("fashion-mnist", DataOptions(data_dir=str(folder)))


def test_explicit_data_dir_is_used_when_whole(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    folder = fake_mnist(tmp_path / "mine", test_y=labels)
    bundle = load_dataset("fashion-mnist", DataOptions(data_dir=str(folder)))
    assert bundle.x_test.shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(bundle.y_test.numpy(), labels)


def test_fortunes_data_dir_is_never_bypassed(tmp_path):
    from profond.data.text import FORTUNE_DIRS, find_fortunes_dir

    with pytest.raises(ProfondError, match=f"not in {tmp_path};") as caught:
        find_fortunes_dir(DataOptions(data_dir=str(tmp_path)))
    assert not any(str(folder) in str(caught.value) for folder in FORTUNE_DIRS)


def test_a_data_dir_is_refused_by_datasets_that_read_no_file(tmp_path):
    with pytest.raises(ProfondError, match="'digits' is not read from files, so --data-dir"):
        load_dataset("digits", DataOptions(data_dir=str(tmp_path)))
    assert load_dataset("digits", DataOptions()).num_classes == 10
