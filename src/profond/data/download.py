"""Fetching dataset files into the cache, with SHA-256 checks and a progress bar."""

from __future__ import annotations

import gzip
import hashlib
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from profond.atomic import atomic_write
from profond.data.idx import MAX_IDX_BYTES
from profond.errors import ProfondError

_CHUNK = 1 << 20  # bytes hashed at a time


@dataclass(frozen=True)
class RemoteFile:
    """A file that can be downloaded from one of several mirrors.

    Attributes:
        name: the file name (e.g. ``train-images-idx3-ubyte.gz``).
        sha256: SHA-256 of the file as published, or of its decompressed content (some
            distributions recompress the same data; both are accepted).
        mirrors: base URLs tried in order; the file's URL is ``mirror + name``.
    """

    name: str
    sha256: str
    mirrors: tuple[str, ...]


def sha256_matches(path: Path, expected: str, max_bytes: int = MAX_IDX_BYTES) -> bool:
    """True when ``path``'s bytes, or its gunzipped bytes, hash to ``expected``.

    Both are hashed in chunks; decompression stops after ``max_bytes`` (a file expanding
    further is no dataset profond reads), so a small crafted ``.gz`` cannot fill the memory.
    """
    with path.open("rb") as raw:
        digest = hashlib.sha256()
        while chunk := raw.read(_CHUNK):
            digest.update(chunk)
        if digest.hexdigest() == expected:
            return True
        raw.seek(0)
        if raw.read(2) != b"\x1f\x8b":
            return False
        raw.seek(0)
        digest, total = hashlib.sha256(), 0
        try:
            with gzip.GzipFile(fileobj=raw) as stream:
                while chunk := stream.read(_CHUNK):
                    total += len(chunk)
                    if total > max_bytes:
                        return False
                    digest.update(chunk)
        except (OSError, EOFError, zlib.error):
            return False
    return digest.hexdigest() == expected


def download(remote: RemoteFile, folder: Path, show_progress: bool = True) -> Path:
    """Download ``remote`` into ``folder`` (atomically) and verify its checksum.

    Raises:
        ProfondError: every mirror failed (offline), or the checksum does not match.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.name
    errors = []
    for mirror in remote.mirrors:
        url = mirror + remote.name
        try:
            atomic_write(
                target, partial(_fetch, url, label=remote.name, show_progress=show_progress)
            )
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        if not sha256_matches(target, remote.sha256):
            target.unlink()
            errors.append(f"{url}: SHA-256 mismatch (file discarded)")
            continue
        return target
    raise ProfondError(
        f"cannot download {remote.name} ({'; '.join(errors)}). Copy the file into {folder} "
        "or pass --data-dir DIR pointing to a folder that holds it"
    )


def _fetch(url: str, destination: Path, *, label: str, show_progress: bool) -> None:
    with urllib.request.urlopen(url, timeout=30) as response, destination.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, disable=not show_progress, transient=True) as progress:
            task = progress.add_task(label, total=total)
            written = 0
            while chunk := response.read(1 << 16):
                written += len(chunk)
                if written > MAX_IDX_BYTES:  # no dataset file is that large: a broken mirror
                    raise OSError(f"more than {MAX_IDX_BYTES} bytes sent; download stopped")
                out.write(chunk)
                progress.update(task, advance=len(chunk))
