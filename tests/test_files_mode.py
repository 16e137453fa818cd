"""Files profond writes get the user's umask; a read-only home is one clear error line."""

import contextlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from profond.atomic import atomic_write, atomic_write_text, default_file_mode
from profond.data.idx import write_idx
from profond.errors import ProfondError
from profond.models.saved import ModelCard, save_model
from profond.paths import cache_dir, checkpoints_dir, writable_dir

SRC = str(Path(__file__).parents[1] / "src")


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path, mask, expected):
    with umask(mask):
        assert default_file_mode() == expected
        text = atomic_write_text(tmp_path / "a.json", "{}")
        binary = atomic_write(tmp_path / "w.pt", lambda tmp: torch.save({"x": 1}, tmp))
    assert mode(text) == expected and mode(binary) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "w.pt"]  # no temp file left


def test_a_saved_model_is_readable_by_others_under_umask_022(tmp_path):
    card = ModelCard(family="mlp", task="classification", data="digits",
                     config={"in_features": 4, "hidden_sizes": [3], "num_classes": 2},
                     input_shape=[4])  # fmt: skip
    with umask(0o022):
        folder = save_model(tmp_path / "m", torch.nn.Linear(4, 2), card)
    assert {p.name: mode(p) for p in folder.iterdir()} == {
        "model.json": 0o644,
        "weights.pt": 0o644,
    }


def test_idx_writes_follow_the_umask(tmp_path):
    with umask(0o022):
        assert mode(write_idx(tmp_path / "x.gz", np.zeros(3, np.uint8))) == 0o644


def test_a_file_where_a_folder_is_needed_is_one_error(tmp_path, monkeypatch):
    (tmp_path / "home").write_text("not a folder")
    monkeypatch.setenv("PROFOND_HOME", str(tmp_path / "home"))
    with pytest.raises(ProfondError, match=r"cannot write profond's home .*PROFOND_HOME"):
        cache_dir()


@contextlib.contextmanager
def read_only_folder(base: Path):
    """A folder this process cannot write into: chmod for a user, a read-only mount for root."""
    folder = base / "ro"
    folder.mkdir()
    (folder / "datasets").mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(folder)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"root without a way to make a read-only folder: {mounted.stderr!r}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_read_only_home_gives_one_error_line(tmp_path, monkeypatch):
    bank = tmp_path / "bank.md"
    bank.write_text("Question : T - q?\nAnswer : a\n", encoding="utf-8")
    with read_only_folder(tmp_path) as home:
        monkeypatch.setenv("PROFOND_HOME", str(home))
        with pytest.raises(ProfondError, match="the checkpoints folder.*cannot be created"):
            checkpoints_dir()
        with pytest.raises(ProfondError, match="not writable"):
            writable_dir(home, "x")
        outcomes = [
            subprocess.run(
                [sys.executable, "-m", "profond", *argv],
                env={**os.environ, "PYTHONPATH": SRC, "PROFOND_HOME": str(home)},
                capture_output=True,
                text=True,
                timeout=120,
            )
            for argv in (["study", "import", str(bank)], ["runs"])
        ]
    for done, what in zip(
        outcomes, ("the study database's folder", "profond's home (PROFOND_HOME)"), strict=True
    ):
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"error: cannot write {what} at ")
        assert "PROFOND_HOME" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_stale_temporary_files_are_removed_and_fresh_ones_kept(tmp_path):
    from profond.atomic import remove_stale_temp_files

    stale = tmp_path / ".weights.pt.abc123.tmp"
    fresh = tmp_path / ".model.json.def456.tmp"
    kept = tmp_path / "weights.pt"
    for path in (stale, fresh, kept):
        path.write_bytes(b"x")
    os.utime(stale, (1e9, 1e9))
    os.utime(kept, (1e9, 1e9))
    assert remove_stale_temp_files(tmp_path, older_than_s=60) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, kept.name]
    assert remove_stale_temp_files(tmp_path / "absent") == []
