"""Corrupt files of every kind given to the CLI: one ``error:`` line, exit 2, no traceback.

Each case writes its files into a fresh folder and returns the command line that reads
them. The fast test runs ``profond.cli.main`` in this process (any exception other than the
one user-facing error type would escape it and fail the test); the slow one runs ``profond``
in a subprocess per case.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from profond.cli import main
from profond.data.idx import write_idx
from profond.data.idx_datasets import PARTS
from profond.models.saved import ModelCard, save_model

SRC = str(Path(__file__).parents[2] / "src")


def mnist_folder(folder: Path, **replace: np.ndarray) -> Path:
    """Four small valid IDX files, some replaced by ``replace[part_index_name]``."""
    rng = np.random.default_rng(0)
    arrays = {
        "train_x": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train_y": rng.integers(0, 10, 30, dtype=np.uint8),
        "test_x": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "test_y": rng.integers(0, 10, 10, dtype=np.uint8),
    }
    arrays.update(replace)
    folder.mkdir(parents=True, exist_ok=True)
    for part, array in zip(PARTS, arrays.values(), strict=True):
        write_idx(folder / f"{part}.gz", array)
    return folder


def idx_case(edit: Callable[[Path], object]) -> Callable[[Path], list[str]]:
    """A case whose valid MNIST folder is then damaged by ``edit(folder)``."""

    def make(tmp: Path) -> list[str]:
        folder = mnist_folder(tmp / "mnist")
        edit(folder)
        return ["data", "info", "mnist", "--data-dir", str(folder)]

    return make


def arrays_case(**replace: np.ndarray) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        return ["data", "info", "mnist", "--data-dir", str(mnist_folder(tmp / "m", **replace))]

    return make


def put(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


IMAGES = "train-images-idx3-ubyte"
IMAGES_GZ = f"{IMAGES}.gz"
LABELS_GZ = "train-labels-idx1-ubyte.gz"
GOOD = gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", 30, 28, 28) + bytes(30 * 784))


def bomb(expanded_mb: int) -> bytes:
    """A gzip stream: a (30, 28, 28) header then ``expanded_mb`` MB of zeros."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 30, 28, 28)
    head = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(bytes(1 << 20)) + deflate.flush(zlib.Z_FULL_FLUSH)
    gz_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return gz_header + head + block * expanded_mb + deflate.flush() + bytes(8)


def model_case(edit: Callable[[Path, dict], object]) -> Callable[[Path], list[str]]:
    """A saved model folder whose files ``edit(folder, card_dict)`` damages."""

    def make(tmp: Path) -> list[str]:
        card = ModelCard(family="mlp", task="classification", data="digits",
                         config={"in_features": 64, "num_classes": 10, "hidden_sizes": [8]},
                         input_shape=[1, 8, 8], classes=[str(i) for i in range(10)])  # fmt: skip
        torch.manual_seed(0)
        from profond.models import build_model

        folder = save_model(tmp / "model", build_model("mlp", card.config), card)
        document = json.loads((folder / "model.json").read_text())
        edit(folder, document)
        return ["export", "--model-dir", str(folder), "--out", str(tmp / "out.onnx")]

    return make


def card_edit(**changes: object) -> Callable[[Path, dict], None]:
    def edit(folder: Path, document: dict) -> None:
        for key, value in changes.items():
            if key.startswith("config."):
                document["config"][key.removeprefix("config.")] = value
            else:
                document[key] = value
        (folder / "model.json").write_text(json.dumps(document))

    return edit


def drift_file(content: str) -> Callable[[Path, dict], None]:
    return lambda folder, _: (folder / "drift_reference.json").write_text(content)


def data_dir_is_a_file(tmp: Path) -> list[str]:
    (tmp / "f").write_bytes(b"x")
    return ["data", "info", "mnist", "--data-dir", str(tmp / "f")]


def study_case(setup: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    return lambda tmp: ["study", *setup(tmp)]


def corrupt_study_db(tmp: Path) -> list[str]:
    (Path(os.environ["PROFOND_HOME"]) / "study.db").write_bytes(b"SQLite format 3\x00" + bytes(99))
    return ["decks"]


def newer_study_db(tmp: Path) -> list[str]:
    db = sqlite3.connect(Path(os.environ["PROFOND_HOME"]) / "study.db")
    db.execute("PRAGMA user_version=99")
    db.close()
    return ["stats"]


def empty_bank_folder(tmp: Path) -> list[str]:
    (tmp / "banks").mkdir()
    (tmp / "banks" / "notes.pdf").write_bytes(b"%PDF")
    return ["import", str(tmp / "banks")]


CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "idx bad magic": (idx_case(put(IMAGES_GZ, gzip.compress(b"\x08\x03\x00\x00" * 8))), "bad magic"),
    "idx empty file": (idx_case(put(IMAGES_GZ, b"")), "bad magic"),
    "idx raw truncated": (idx_case(lambda f: ((f / IMAGES_GZ).unlink(), (f / IMAGES).write_bytes(gzip.decompress(GOOD)[:-9]))), "truncated or corrupt"),
    "idx trailing bytes": (idx_case(put(IMAGES_GZ, gzip.compress(gzip.decompress(GOOD) + b"extra"))), "holds more"),
    "idx header incomplete": (idx_case(put(IMAGES_GZ, gzip.compress(b"\x00\x00\x08\x03\x00"))), "header is incomplete"),
    "idx header overflow": (idx_case(put(IMAGES_GZ, gzip.compress(b"\x00\x00\x0e\x04" + b"\xff" * 16))), "bytes accepted"),
    "idx zero dimensions": (idx_case(put(IMAGES_GZ, gzip.compress(b"\x00\x00\x08\x00"))), "0 dimensions"),
    "gz garbage": (idx_case(put(IMAGES_GZ, b"\x1f\x8b\x08\x00" + os.urandom(64))), "corrupt or truncated gzip"),
    "gz truncated": (idx_case(put(IMAGES_GZ, GOOD[: len(GOOD) // 2])), "corrupt or truncated gzip"),
    "gz bomb 256 MB": (idx_case(put(IMAGES_GZ, bomb(256))), "holds more"),
    "labels out of range": (arrays_case(train_y=np.full(30, 200, np.uint8)), "out of range"),
    "labels count": (arrays_case(train_y=np.zeros(29, np.uint8)), "30 images but 29 labels"),
    "label floats": (arrays_case(test_y=np.zeros(10, np.float64)), "labels must be integers"),
    "image sizes differ": (arrays_case(test_x=np.zeros((10, 20, 20), np.uint8)), "test images are 20x20"),
    "nan pixels": (arrays_case(train_x=np.full((30, 28, 28), np.nan, np.float32)), "NaN or infinite"),
    "flat images": (arrays_case(train_x=np.zeros((30, 784), np.uint8)), "(N, H, W)"),
    "data-dir missing a file": (idx_case(lambda f: (f / LABELS_GZ).unlink()), "lacks mnist file"),
    "data-dir is a file": (data_dir_is_a_file, "is not a folder"),
    "model.json not json": (model_case(lambda f, _: (f / "model.json").write_text("{nope")), "not valid JSON"),
    "model.json nested 100000 deep": (model_case(lambda f, _: (f / "model.json").write_text("[" * 100_000)), "not valid JSON"),
    "model.json a list": (model_case(lambda f, _: (f / "model.json").write_text("[1, 2]")), "expected a JSON object"),
    "model.json missing field": (model_case(lambda f, d: (f / "model.json").write_text(json.dumps({k: v for k, v in d.items() if k != "config"}))), "missing config"),
    "model.json input_shape text": (model_case(card_edit(input_shape="abc")), "input_shape must be a list"),
    "model.json negative shape": (model_case(card_edit(input_shape=[1, -8, 8])), "input_shape must be 1 to 4 positive"),
    "model.json unknown family": (model_case(card_edit(family="perceptron")), "family: unknown model"),
    "model.json huge hidden": (model_case(card_edit(**{"config.hidden_sizes": [100000, 100000]})), "parameters"),
    "model.json bad dropout": (model_case(card_edit(**{"config.dropout": "lots"})), "config: option dropout"),
    "model.json bool in_features": (model_case(card_edit(**{"config.in_features": True})), "config: option in_features"),
    "model.json preprocessing": (model_case(card_edit(preprocessing={"raw_max": -1})), "preprocessing: raw_max must be positive"),
    "model.json metrics text": (model_case(card_edit(metrics={"acc": "high"})), "metrics must map"),
    "weights.pt garbage": (model_case(lambda f, _: (f / "weights.pt").write_bytes(os.urandom(256))), "not a tensor file"),
    "weights.pt other shapes": (model_case(lambda f, _: torch.save({"w": torch.zeros(3)}, f / "weights.pt")), "do not fit the model"),
    "weights.pt pickled object": (model_case(lambda f, _: torch.save({"w": Path("x")}, f / "weights.pt")), "never unpickled"),
    "drift not json": (model_case(drift_file("{")), "drift_reference.json is not valid JSON"),
    "drift wrong version": (model_case(drift_file('{"version": "1"}')), "version must be 1"),
    "drift bad method": (model_case(drift_file('{"version": 1, "method": {"ks_alpha": 7}, "features": {}}')), "method.ks_alpha=7"),
    "drift bad shares": (model_case(drift_file('{"version": 1, "method": {}, "features": {"f": {"sample": [1], "edges": [0, 1], "shares": [1]}}}')), "features.f.shares"),
    "study db corrupt": (study_case(corrupt_study_db), "cannot open the study database"),
    "study db newer": (study_case(newer_study_db), "newer profond"),
    "study folder without banks": (study_case(empty_bank_folder), "no .md, .markdown or .txt file"),
}  # fmt: skip


def assert_one_error_line(code: int, stderr: str, expected: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert expected in lines[0], stderr


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_corrupt_file_is_one_error_line(case, tmp_path, capsys):
    make, expected = CASES[case]
    argv = make(tmp_path)
    code = main(argv)
    assert_one_error_line(code, capsys.readouterr().err, expected)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_corrupt_file_through_the_profond_process(case, tmp_path):
    make, expected = CASES[case]
    argv = make(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "profond", *argv],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_error_line(done.returncode, done.stderr, expected)
