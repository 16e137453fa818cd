"""Reader for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in row-major order.

The reader trusts nothing it has not checked: the header is read first (through the gzip
stream, never after decompressing the whole file), the size it announces is bounded, and no
more than that many bytes (plus one, to detect trailing data) are ever decompressed. A small
``.gz`` crafted to expand to gigabytes is refused after reading a few bytes past its header.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import numpy as np

from profond.errors import ProfondError

_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# The largest payload read: 16x the 47 MB of MNIST's training images, well above EMNIST's
# largest split (550 MB). A header announcing more is refused before any data is read.
MAX_IDX_BYTES = 1 << 30
_CHUNK = 1 << 20  # bytes decompressed at a time


def read_idx(path: str | Path, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into an array of its declared shape.

    Args:
        path: the file.
        max_bytes: the largest data payload accepted (the header's product of dimensions
            times the value size).

    Returns:
        an array of the header's shape, in native byte order.

    Raises:
        ProfondError: the file is missing or unreadable, not IDX, announces too much data,
            is truncated, or has trailing bytes.
    """
    path = Path(path)
    try:
        with path.open("rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=raw) as stream:
                    return _read_stream(path, stream, None, max_bytes)
            return _read_stream(path, raw, os.fstat(raw.fileno()).st_size, max_bytes)
    except FileNotFoundError:
        raise ProfondError(f"IDX file not found: {path}") from None
    except IsADirectoryError:
        raise ProfondError(f"{path} is a folder, not an IDX file") from None
    except PermissionError:
        raise ProfondError(f"cannot read {path}: permission denied") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ProfondError(
            f"{path} is a corrupt or truncated gzip file ({exc}); delete it and fetch it again"
        ) from None


def _read_stream(
    path: Path, stream: BinaryIO | gzip.GzipFile, file_size: int | None, max_bytes: int
) -> np.ndarray:
    """Header, bounds, then exactly the announced payload from ``stream``."""
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _DTYPES:
        raise ProfondError(f"{path} is not an IDX file (bad magic number)")
    dtype, ndim = _DTYPES[magic[2]], magic[3]
    if ndim == 0:
        raise ProfondError(f"{path} is not a usable IDX file: it declares 0 dimensions")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ProfondError(f"{path} is truncated: its header is incomplete")
    shape = struct.unpack(f">{ndim}I", dims)
    # Python integers: a product of up to 255 uint32 values cannot overflow here.
    expected = _product(shape) * dtype.itemsize
    if expected > max_bytes:
        raise ProfondError(
            f"{path}: header declares shape {tuple(shape)}, {expected} bytes of data, more than "
            f"the {max_bytes} bytes accepted; the file is corrupt or not a dataset profond reads"
        )
    header = 4 + 4 * ndim
    if file_size is not None and file_size - header != expected:
        _size_mismatch(path, shape, expected, file_size - header)
    payload = _read_exactly(stream, expected)
    if len(payload) < expected:
        _size_mismatch(path, shape, expected, len(payload))
    if stream.read(1):
        _size_mismatch(path, shape, expected, None)
    return np.frombuffer(payload, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _product(shape: tuple[int, ...]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def _read_exactly(stream: BinaryIO | gzip.GzipFile, size: int) -> bytearray:
    """Up to ``size`` bytes; fewer only when the stream ends first. Grows with what is read."""
    buffer = bytearray()
    while len(buffer) < size:
        chunk = stream.read(min(_CHUNK, size - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def _size_mismatch(
    path: Path, shape: tuple[int, ...], expected: int, actual: int | None
) -> NoReturn:
    holds = "more" if actual is None else str(actual)
    raise ProfondError(
        f"{path} is truncated or corrupt: header declares shape {tuple(shape)} "
        f"({expected} bytes of data) but the file holds {holds}; delete it and fetch it again"
    )


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip when the name ends with ``.gz``)."""
    path = Path(path)
    codes = {v.newbyteorder("="): k for k, v in _DTYPES.items()}
    dtype = array.dtype.newbyteorder("=")
    if dtype not in codes:
        raise ProfondError(f"IDX cannot store dtype {array.dtype}")
    big_endian = array.astype(_DTYPES[codes[dtype]])
    payload = bytes([0, 0, codes[dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += big_endian.tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, compresslevel=1)
    path.write_bytes(payload)
    return path
