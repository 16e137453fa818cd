"""User arrays and images: sizes checked from headers, before anything is allocated or decoded."""

import io
import resource
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from profond.data.arrays import load_csv_values, load_npy
from profond.data.imaging import MAX_IMAGE_PIXELS, decode_image
from profond.data.preprocess import Preprocessing
from profond.errors import ProfondError


def npy_with_header(path, header: dict, payload: bytes = b"") -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    path.write_bytes(buffer.getvalue() + payload)


def test_a_header_claiming_10_to_the_12_elements_is_refused_unread(tmp_path):
    path = tmp_path / "huge.npy"
    npy_with_header(path, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ProfondError, match=r"shape \(1000000, 1000000\) .*more than"):
        load_npy(path)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: np.save(p, np.array(["a", "b"])), "holds <U1 values; expected numbers"),
        (lambda p: np.save(p, np.array([{"x": 1}], dtype=object)), "holds object values"),
        (lambda p: np.save(p, np.zeros(3, dtype=complex)), "holds complex128 values"),
        (lambda p: p.write_bytes(b"not numpy"), "not a readable .npy array"),
        (lambda p: p.write_bytes(np.lib.format.MAGIC_PREFIX + b"\x01\x00\x10\x00{'descr': "), "not a readable"),
        (lambda p: npy_with_header(p, {"descr": "<f4", "fortran_order": False, "shape": (4,)}, bytes(12)), "holds 12"),
    ],
    ids=["strings", "objects", "complex", "garbage", "cut header", "truncated"],
)  # fmt: skip
def test_bad_npy_files_are_one_line(tmp_path, make, message):
    path = tmp_path / "x.npy"
    make(path)
    with pytest.raises(ProfondError, match=message):
        load_npy(path)


def test_good_arrays_load(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6, dtype=np.uint8).reshape(2, 3))
    np.testing.assert_array_equal(load_npy(tmp_path / "a.npy"), [[0, 1, 2], [3, 4, 5]])
    (tmp_path / "v.csv").write_text("1.5,2\n3,4\n")
    np.testing.assert_array_equal(load_csv_values(tmp_path / "v.csv"), [[1.5, 2], [3, 4]])
    (tmp_path / "t.csv").write_text("a,b\n")
    with pytest.raises(ProfondError, match="cannot read numbers"):
        load_csv_values(tmp_path / "t.csv")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header announces ``width × height`` and whose data is one empty block."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize(
    "data, message",
    [
        (png_header_only(20000, 20000), "too large"),  # Pillow's own bomb limit, inside open()
        (png_header_only(5000, 5000), f"at most {MAX_IMAGE_PIXELS} pixels"),
        (b"GIF89a" + bytes(20), "cannot decode the image"),  # a format not offered
        (b"\x89PNG\r\n\x1a\n" + bytes(10), "cannot decode the image"),
    ],
    ids=["20000x20000", "5000x5000", "gif", "cut png"],
)
def test_hostile_images_are_refused_before_decoding(data, message):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ProfondError, match=message):
        decode_image(data, (1, 8, 8), Preprocessing(raw_max=16.0))
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50


def test_a_real_png_still_decodes():
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16), 255, np.uint8)).save(buffer, format="PNG")
    x = decode_image(buffer.getvalue(), (1, 8, 8), Preprocessing(raw_max=16.0), invert="no")
    assert x.shape == (1, 1, 8, 8) and float(x.min()) == pytest.approx(1.0)
