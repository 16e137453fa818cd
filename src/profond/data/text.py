"""Fortunes: which collection a quotation comes from, a text classification set that installs
offline.

Debian's ``fortunes`` package ships the quotations of the ``fortune`` program as plain text
files, one per category, the quotations separated by lines holding a single ``%``
(``/usr/share/games/fortunes/computers``, ``.../startrek``, ...). Each quotation of a few
chosen categories becomes a sample labelled by its file.

Texts are lower-cased and split into words and punctuation marks; the vocabulary is built on
the training split alone (id 0 pads, id 1 stands for any unknown token) and travels with the
bundle and the saved model, so that :func:`encode_text` prepares a user's text the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from profond.data.bundle import DataBundle
from profond.data.preprocess import Preprocessing
from profond.data.registry import DataOptions, DatasetSpec, explicit_dir
from profond.errors import ProfondError

if TYPE_CHECKING:
    from profond.models.saved import ModelCard

FORTUNE_DIRS = (Path("/usr/share/games/fortunes"), Path("/usr/share/fortune"))
# Collections with a few hundred quotations or more, each with its own subject or voice.
CATEGORIES = ("computers", "definitions", "people", "politics", "science", "startrek", "zippy")
TEST_FRACTION = 0.2  # held-out quotations, stratified by category
MIN_COUNT = 2  # a token seen once in training is treated as unknown
PAD, UNK = "<pad>", "<unk>"
TOKEN_PATTERN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")  # words and single marks
INSTALL_HINT = "install them with: apt-get install -y fortunes fortunes-min"


def tokenize(text: str) -> list[str]:
    """Lower-cased words (with their apostrophe suffix) and punctuation marks, in order."""
    return TOKEN_PATTERN.findall(text.lower())


def find_fortunes_dir(options: DataOptions | None = None) -> Path:
    """The folder that holds the fortune files; a :class:`ProfondError` saying how to get them."""
    explicit = explicit_dir(options)  # a named folder is used or refused, never bypassed
    candidates = [explicit] if explicit is not None else list(FORTUNE_DIRS)
    for folder in candidates:
        if all((folder / name).is_file() for name in CATEGORIES):
            return folder
    raise ProfondError(
        f"the fortune files ({', '.join(CATEGORIES)}) are not in "
        f"{' or '.join(str(c) for c in candidates)}; {INSTALL_HINT}"
    )


def read_fortunes(path: Path) -> list[str]:
    """The quotations of one fortune file, whitespace collapsed, empty ones dropped."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    quotes = (" ".join(chunk.split()) for chunk in re.split(r"(?m)^%\s*$", raw))
    return [q for q in quotes if q]


def build_vocab(texts: list[list[str]], min_count: int = MIN_COUNT) -> list[str]:
    """Tokens seen at least ``min_count`` times, most frequent first, after ``<pad>, <unk>``."""
    counts = Counter(token for tokens in texts for token in tokens)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return [PAD, UNK, *kept]


def encode(tokens: list[str], index: dict[str, int], max_len: int) -> list[int]:
    """Token ids, cut to ``max_len`` and padded with 0 up to it."""
    ids = [index.get(token, 1) for token in tokens[:max_len]]
    return ids + [0] * (max_len - len(ids))


def _stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out), holding out ``fraction`` of every class."""
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_held = int(round(len(members) * fraction))
        held.append(members[:n_held])
        kept.append(members[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def load_fortunes(options: DataOptions) -> DataBundle:
    """Quotations of :data:`CATEGORIES`, one class per file, as padded token ids.

    The test split is fixed (seed 0, stratified); the validation split is drawn from the rest
    with ``options.seed``. A quotation found in two files is dropped: it has no single label.
    """
    folder = find_fortunes_dir(options)
    by_text: dict[str, set[int]] = {}
    for label, name in enumerate(CATEGORIES):
        for quote in read_fortunes(folder / name):
            by_text.setdefault(quote, set()).add(label)
    texts = [t for t, labels in by_text.items() if len(labels) == 1]
    labels = np.array([next(iter(by_text[t])) for t in texts], dtype=np.int64)

    rest, test = _stratified_split(labels, TEST_FRACTION, seed=0)
    train_pos, val_pos = _stratified_split(labels[rest], options.val_fraction, options.seed)
    train, val = rest[train_pos], rest[val_pos]
    if options.limit is not None:
        # The files come one category after another: a plain prefix would keep a few classes.
        train = np.sort(np.random.default_rng(options.seed).permutation(train)[: options.limit])

    tokens = [tokenize(t) for t in texts]
    vocab = build_vocab([tokens[i] for i in train])
    index = {token: i for i, token in enumerate(vocab)}

    def split(rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        ids = [encode(tokens[i], index, options.max_len) for i in rows]
        x = torch.tensor(ids, dtype=torch.int64).reshape(len(rows), options.max_len)
        return x, torch.from_numpy(labels[rows])

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = split(train), split(val), split(test)
    return DataBundle(
        name="fortunes",
        task="text-classification",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=y_test,
        input_shape=(options.max_len,),
        classes=list(CATEGORIES),
        # Token ids are not scaled; "none" keeps predict and serve from touching them.
        preprocessing=Preprocessing(normalization="none"),
        extra={"vocab": vocab, "max_len": options.max_len, "tokenizer": "words"},
    )


def encode_text(text: str, card: ModelCard) -> torch.Tensor:
    """A user's text → the token ids the model saw in training.

    Args:
        text: the raw text (any length; it is cut to the model's ``max_len`` tokens).
        card: the saved model's card, whose ``extra["vocab"]`` is the training vocabulary.

    Shape: returns ``(1, max_len)`` int64.
    """
    if not isinstance(text, str):
        raise ProfondError(f"expected a text (a string), got {type(text).__name__}")
    vocab = card.extra.get("vocab")
    if not vocab:
        raise ProfondError(
            f"the model {card.family!r} was not trained on text: its card holds no vocabulary"
        )
    max_len = int(card.extra.get("max_len", card.input_shape[0]))
    tokens = tokenize(text)
    if not tokens:
        raise ProfondError("the text is empty; give at least one word")
    index = {token: i for i, token in enumerate(vocab)}
    return torch.tensor([encode(tokens, index, max_len)], dtype=torch.int64)


def fortunes_status(options: DataOptions) -> str:
    try:
        return f"found in {find_fortunes_dir(options)}"
    except ProfondError:
        return f"missing: {INSTALL_HINT}"


DATASET = DatasetSpec(
    name="fortunes",
    task="text-classification",
    description=f"fortune quotations, {len(CATEGORIES)} collections to tell apart (Debian 'fortunes')",
    load=load_fortunes,
    status=fortunes_status,
    reads_files=True,
)
