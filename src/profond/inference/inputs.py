"""What a person gives ``profond predict`` (a file path or a text) → a model input batch.

The task says what its models read through class attributes (``predict_input``,
``predict_refusal``, ``image_invert``) and the model card says the rest (input shape,
preprocessing, a text vocabulary); the reading itself lives here, next to the other decoders.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from profond.errors import ProfondError
from profond.inference.decode import read_values, rows_or_image, series_windows

if TYPE_CHECKING:
    from profond.models.saved import ModelCard
    from profond.train.task import Task


def prepare_input(task: type[Task] | Task, source: str, card: ModelCard) -> torch.Tensor:
    """Turn ``source`` (a file path or a text) into a batch for a model of ``task``.

    Args:
        task: the task class (or an instance) whose model will read the batch.
        source: an image/``.npy``/``.csv`` path, a series file, or a text for text models.
        card: the saved model's card (input shape, preprocessing, ``extra["vocab"]``).

    Shape: returns ``(B, *card.input_shape)``, preprocessed as in training.

    Raises:
        ProfondError: the task makes no predictions, or ``source`` does not fit (the message
            names the expected shape or format).
    """
    if task.predict_refusal:
        raise ProfondError(task.predict_refusal.format(family=card.family, task=card.task))
    kind = task.predict_input
    if kind == "rows_or_image":
        if card.extra.get("vocab") is not None:
            from profond.data.text import encode_text

            return encode_text(source, card)
        return rows_or_image(source, card, invert=task.image_invert)
    if kind == "series":
        return _series(source, card)
    if kind == "npy":
        return _npy_rows(source, card)
    raise ProfondError(f"predict does not apply to {card.task} models")


def _series(source: str, card: ModelCard) -> torch.Tensor:
    """The last ``window`` values of a series (original units) from .csv or .npy.

    A file may hold one window (``window`` numbers, in a row or a column) or several
    (one window per row). Shape: returns ``(B, window, 1)`` scaled as in training.
    """
    from profond.data.preprocess import Preprocessing

    window = int(card.input_shape[0])
    values = series_windows(read_values(Path(source)), window, source)
    prep = Preprocessing.from_dict(card.preprocessing) if card.preprocessing else Preprocessing()
    return prep.apply(torch.tensor(values)).unsqueeze(-1)  # (B, window, 1)


def _npy_rows(source: str, card: ModelCard) -> torch.Tensor:
    """A ``.npy`` array of inputs, ``(B, *input_shape)`` or one sample ``input_shape``.

    Shape: returns ``(B, *card.input_shape)`` float32, raw units.
    """
    path = Path(source)
    if not path.is_file() or path.suffix.lower() != ".npy":
        raise ProfondError(f"{source}: expected an existing .npy file of inputs")
    try:
        array = np.load(path, allow_pickle=False).astype(np.float32)
    except ValueError as exc:
        raise ProfondError(f"{path}: not a readable .npy array ({exc})") from None
    shape = tuple(card.input_shape)
    size = int(np.prod(shape))
    if array.size == 0 or array.size % size or not np.isfinite(array).all():
        raise ProfondError(
            f"{path}: expected finite inputs of shape {list(shape)} (or a batch of them); "
            f"got shape {array.shape}"
        )
    return torch.from_numpy(array.reshape(-1, *shape))
