"""Fortune quotations as a text classification set: parsing, vocabulary, splits, encoding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from profond.data import text
from profond.data.registry import DataOptions, load_dataset
from profond.data.text import (
    CATEGORIES,
    build_vocab,
    encode,
    encode_text,
    find_fortunes_dir,
    read_fortunes,
    tokenize,
)
from profond.errors import ProfondError
from profond.models.saved import ModelCard

SYSTEM_FILES = all((text.FORTUNE_DIRS[0] / name).is_file() for name in CATEGORIES)


def _write_collections(folder: Path, per_class: int = 30) -> None:
    """Small fortune files: each category uses its own words, plus one shared quotation."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in CATEGORIES:
        quotes = [f"{name} says {name}word{i % 3} once{name}{i} again." for i in range(per_class)]
        quotes.append("A quotation found in every file.")
        (folder / name).write_text("\n%\n".join(quotes) + "\n%\n", encoding="utf-8")


def test_tokenize_vocab_and_encode() -> None:
    assert tokenize("Don't PANIC -- it's 42!") == ["don't", "panic", "-", "-", "it's", "42", "!"]
    vocab = build_vocab([["b", "a", "b"], ["c", "b", "a"]], min_count=2)
    assert vocab == ["<pad>", "<unk>", "b", "a"]  # c seen once is unknown; most frequent first
    index = {t: i for i, t in enumerate(vocab)}
    assert encode(["a", "c", "b"], index, 5) == [3, 1, 2, 0, 0]
    assert encode(["a"] * 9, index, 4) == [3, 3, 3, 3]


def test_read_fortunes_splits_on_percent_lines(tmp_path) -> None:
    path = tmp_path / "f"
    path.write_text("First  one\n  on two lines\n%\n%\nSecond -- Someone\n%\n", encoding="utf-8")
    assert read_fortunes(path) == ["First one on two lines", "Second -- Someone"]


def test_bundle_from_fortune_files(tmp_path) -> None:
    _write_collections(tmp_path / "fortunes")
    options = DataOptions(data_dir=str(tmp_path / "fortunes"), max_len=6, val_fraction=0.2)
    bundle = load_dataset("fortunes", options)
    assert bundle.task == "text-classification" and bundle.classes == list(CATEGORIES)
    assert bundle.x_train.dtype == torch.int64 and bundle.x_train.shape[1:] == (6,)
    assert bundle.input_shape == (6,)
    sizes = {len(bundle.x_train), len(bundle.x_val), len(bundle.x_test)}
    assert len(bundle.x_test) == 6 * len(CATEGORIES)  # a stratified fifth of 30 per class
    assert sum(sizes) > 0 and torch.bincount(bundle.y_test).tolist() == [6] * len(CATEGORIES)
    vocab = bundle.extra["vocab"]
    assert vocab[:2] == ["<pad>", "<unk>"] and "quotation" not in vocab  # shared text dropped
    # Tokens seen once in the training split are unknown: "once<name><i>" is in no vocabulary.
    assert not any(t.startswith("once") for t in vocab)
    assert (bundle.x_test[:, 3] == 1).all()  # "<name> says <name>wordK once<name><i> again."
    # The same seed gives the same split; another seed another validation split.
    again = load_dataset("fortunes", options)
    assert torch.equal(again.x_val, bundle.x_val)
    other = load_dataset(
        "fortunes", DataOptions(data_dir=options.data_dir, max_len=6, val_fraction=0.2, seed=1)
    )

    def words(b, column):  # the category name opening each test quotation
        return [b.extra["vocab"][i] for i in b.x_test[:, column].tolist()]

    assert words(other, 0) == words(bundle, 0) and words(other, 2) == words(bundle, 2)
    assert not torch.equal(other.y_val, bundle.y_val) or not torch.equal(other.x_val, bundle.x_val)


def test_encode_text_uses_the_saved_vocabulary(tmp_path) -> None:
    _write_collections(tmp_path / "fortunes")
    bundle = load_dataset("fortunes", DataOptions(data_dir=str(tmp_path / "fortunes"), max_len=5))
    card = ModelCard(
        family="transformer",
        task="classification",
        data="fortunes",
        config={},
        input_shape=[5],
        extra=bundle.extra,
    )
    x = encode_text("Zippy says ZIPPYWORD1 unheard.", card)
    vocab = bundle.extra["vocab"]
    assert x.shape == (1, 5) and x.dtype == torch.int64
    assert [vocab[i] for i in x[0].tolist()] == ["zippy", "says", "zippyword1", "<unk>", "."]
    with pytest.raises(ProfondError, match="empty"):
        encode_text("   ", card)
    bare = ModelCard(
        family="mlp", task="classification", data="digits", config={}, input_shape=[64]
    )
    with pytest.raises(ProfondError, match="no vocabulary"):
        encode_text("hello", bare)


def test_missing_files_say_which_packages_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(text, "FORTUNE_DIRS", (tmp_path / "nowhere",))
    with pytest.raises(ProfondError, match="apt-get install -y fortunes fortunes-min"):
        find_fortunes_dir(DataOptions())
    assert "missing" in text.fortunes_status(DataOptions())


@pytest.mark.skipif(
    not SYSTEM_FILES,
    reason="needs the Debian package(s) fortunes fortunes-min: apt-get install -y fortunes fortunes-min",
)
def test_real_fortunes_load() -> None:
    bundle = load_dataset("fortunes", DataOptions(max_len=32))
    assert len(bundle.x_train) > 3000 and len(bundle.classes) == len(CATEGORIES)
    assert 2000 < len(bundle.extra["vocab"]) < 20000
    counts = torch.bincount(bundle.y_train, minlength=len(CATEGORIES))
    assert counts.min() > 100
