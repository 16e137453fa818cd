"""Reading user-given arrays (``.npy``, ``.csv``) with their size checked before any allocation.

``np.load`` trusts the header of a ``.npy`` file: one claiming 10^12 elements makes it try
to allocate terabytes. Here the header is read first, its dtype must be numeric and its size
must match the file's, so a crafted file costs nothing to refuse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from profond.errors import ProfondError

MAX_ARRAY_BYTES = 1 << 30  # far above any input a model of the course takes


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` file's header declares, and where its data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int

    @property
    def count(self) -> int:
        return math.prod(self.shape)


def read_npy_header(path: str | Path) -> NpyHeader:
    """The header of a ``.npy`` file, read without its data (and never unpickled).

    Raises:
        ProfondError: unreadable file or header.
    """
    path = Path(path)
    try:
        with path.open("rb") as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            return NpyHeader(tuple(shape), dtype, stream.tell())
    except (OSError, ValueError, SyntaxError) as exc:
        raise ProfondError(f"{path} is not a readable .npy array ({exc})") from None


def load_npy(path: str | Path, max_bytes: int = MAX_ARRAY_BYTES) -> np.ndarray:
    """A numeric ``.npy`` array, never unpickled, its header checked against the file size.

    Raises:
        ProfondError: unreadable file, bad header, non-numeric dtype (strings, objects),
            a size over ``max_bytes`` or not matching the file.
    """
    path = Path(path)
    header = read_npy_header(path)
    shape, dtype = header.shape, header.dtype
    if dtype.hasobject or dtype.kind not in "biuf":
        raise ProfondError(
            f"{path} holds {dtype} values; expected numbers (integers or floats), not text or objects"
        )
    expected = header.count * dtype.itemsize
    if expected > max_bytes:
        raise ProfondError(
            f"{path}: header declares shape {shape} ({expected} bytes), more than the "
            f"{max_bytes} bytes accepted"
        )
    actual = path.stat().st_size - header.offset
    if actual != expected:
        raise ProfondError(
            f"{path} is truncated or corrupt: header declares shape {shape} ({expected} bytes) "
            f"but the file holds {actual}"
        )
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ProfondError(f"{path} is not a readable .npy array ({exc})") from None


def load_csv_values(path: str | Path, max_bytes: int = MAX_ARRAY_BYTES) -> np.ndarray:
    """The numbers of a comma-separated file, as float64; one clear line when it holds text.

    Raises:
        ProfondError: unreadable, too large, or not numbers.
    """
    path = Path(path)
    try:
        if path.stat().st_size > max_bytes:
            raise ProfondError(f"{path} is larger than the {max_bytes} bytes accepted")
        values = np.loadtxt(path, delimiter=",", ndmin=1, dtype=np.float64)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ProfondError(f"{path}: cannot read numbers from it ({exc})") from None
    return values
