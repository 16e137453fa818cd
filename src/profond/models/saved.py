"""A trained model as it is saved with a run and loaded back by evaluate, predict and serve.

On disk, a saved model is a folder with two files:

- ``model.json``: :class:`ModelCard` (family, config, input shape, classes, preprocessing, ...)
- ``weights.pt``: the state dict, loaded with ``torch.load(weights_only=True)``; nothing is
  ever unpickled.
- ``drift_reference.json`` (optional): training-time statistics the server's drift monitor
  compares live inputs with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from profond.atomic import atomic_write, atomic_write_text
from profond.data.preprocess import Preprocessing
from profond.errors import ProfondError
from profond.models.card_checks import build_checked_model, read_card, read_drift_reference
from profond.models.wrappers import unwrap


@dataclass
class ModelCard:
    """What is needed to rebuild a model and feed it raw inputs.

    Attributes:
        family: the ``--model`` name (``"mlp"``, ``"cnn"``, ...).
        task: the task name (``"classification"``, ``"forecasting"``, ...).
        data: the ``--data`` name it was trained on.
        config: the model's keyword arguments for :func:`profond.models.build_model`.
        input_shape: per-sample input shape, e.g. ``[1, 28, 28]``.
        classes: class names (empty for regression/generation).
        preprocessing: :meth:`Preprocessing.to_dict` of the training transform.
        run_id: the MLflow run that produced it (empty when not tracked).
        metrics: final test metrics at training time.
        extra: task-specific facts (vocabulary, series scale, horizon, ...).
    """

    family: str
    task: str
    data: str
    config: dict[str, Any]
    input_shape: list[int]
    classes: list[str] = field(default_factory=list)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadedModel:
    """A model ready for inference (eval mode, on the CPU) with its card."""

    model: nn.Module
    card: ModelCard
    drift_reference: dict[str, Any] | None = None  # ``drift_reference.json`` when saved

    @property
    def preprocessing(self) -> Preprocessing:
        return (
            Preprocessing.from_dict(self.card.preprocessing)
            if self.card.preprocessing
            else Preprocessing()
        )

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.card.input_shape)

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    @property
    def run_id(self) -> str:
        return self.card.run_id


def save_model(folder: str | Path, model: nn.Module, card: ModelCard) -> Path:
    """Write ``model.json`` and ``weights.pt`` into ``folder`` (atomically, each)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # kept as returned (its ``_metadata`` holds each module's format version, which int8 layers
    # read back); int8 layers also store dtypes and tuples, saved unchanged
    state = unwrap(model).state_dict()
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            state[key] = value.detach().cpu()
    atomic_write(folder / "weights.pt", lambda tmp: torch.save(state, tmp))
    atomic_write_text(folder / "model.json", json.dumps(asdict(card), indent=2, default=float))
    return folder


def load_model(folder: str | Path) -> LoadedModel:
    """Rebuild the model described by ``folder/model.json`` and load its weights safely.

    Every field of the card, and of ``drift_reference.json``, is checked before use: a
    tampered file gives one line naming the file and the field, and a config describing an
    oversized model is refused before anything is allocated.
    """
    folder = Path(folder)
    card_path, weights_path = folder / "model.json", folder / "weights.pt"
    if not card_path.is_file() or not weights_path.is_file():
        raise ProfondError(f"no saved model in {folder} (expected model.json and weights.pt)")
    card = read_card(card_path)
    model = build_checked_model(card, card_path)
    if card.extra.get("compression", {}).get("int8"):  # an int8 model: rebuild its structure
        from profond.models.quantized import rebuild_quantized

        model = rebuild_quantized(model, card.family, card.extra["compression"]["int8"])
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception:  # corrupt, truncated, or holding objects that are not tensors
        raise ProfondError(
            f"cannot load weights from {weights_path}: not a tensor file profond saved "
            "(corrupt, truncated, or holding other objects, which are never unpickled)"
        ) from None
    try:
        model.load_state_dict(state)
    except Exception as exc:  # weights of another architecture
        reason = " ".join(str(exc).split())  # PyTorch's message spans several lines
        raise ProfondError(
            f"cannot load weights from {weights_path}: they do not fit the model that "
            f"model.json describes ({reason[:300]})"
        ) from None
    model.eval()
    reference_path = folder / "drift_reference.json"
    reference = read_drift_reference(reference_path) if reference_path.is_file() else None
    return LoadedModel(model=model, card=card, drift_reference=reference)
