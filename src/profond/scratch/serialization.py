"""Saving and loading a scratch :class:`~profond.scratch.model.Sequential`: the architecture as
JSON and every array in one ``.npz`` file, written atomically and read back without pickle."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from profond.atomic import atomic_write
from profond.errors import ProfondError
from profond.scratch.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from profond.scratch.layers import BatchNorm, Dense, Dropout, Layer
from profond.scratch.losses import (
    MSE,
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    Loss,
    SparseCategoricalCrossEntropy,
)

if TYPE_CHECKING:
    from profond.scratch.model import Sequential

FORMAT = "profond.scratch/1"
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (Dense, Dropout, BatchNorm, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax)
}
LOSS_TYPES: dict[str, type[Loss]] = {
    cls.__name__: cls
    for cls in (MSE, BinaryCrossEntropy, CategoricalCrossEntropy, SparseCategoricalCrossEntropy)
}


def save_sequential(model: Sequential, path: str | Path, overwrite: bool = False) -> Path:
    """See :meth:`Sequential.save`."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ProfondError(f"{path} already exists; pass overwrite=True or choose another path")
    architecture = {
        "format": FORMAT,
        "dtype": model.dtype.name,
        "layers": [
            {"type": type(layer).__name__, "config": layer.get_config()} for layer in model.layers
        ],
        "loss": None
        if model.loss is None
        else {"type": type(model.loss).__name__, "config": model.loss.get_config()},
    }
    arrays: dict[str, np.ndarray] = {"architecture": np.array(json.dumps(architecture))}
    for index, layer in enumerate(model.layers):
        for name, array in {**layer.params, **layer.buffers}.items():
            arrays[f"{index}.{name}"] = array

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle, so numpy adds no ".npz" suffix
            np.savez(handle, allow_pickle=False, **arrays)

    return atomic_write(path, write)


def load_sequential(path: str | Path) -> Sequential:
    """See :meth:`Sequential.load`."""
    from profond.scratch.model import Sequential

    path = Path(path)
    if not path.is_file():
        raise ProfondError(f"no saved model at {path}; check the path")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        architecture = json.loads(str(arrays.pop("architecture")))
        if architecture.get("format") != FORMAT:
            raise ValueError(f"format {architecture.get('format')!r}")
        dtype = np.dtype(architecture["dtype"])
        layers = []
        for spec in architecture["layers"]:
            layer_class = LAYER_TYPES[spec["type"]]
            config = dict(spec["config"])
            if layer_class in (Dense, BatchNorm):
                config["dtype"] = dtype
            layers.append(layer_class(**config))
        loss_spec = architecture["loss"]
        loss = None if loss_spec is None else LOSS_TYPES[loss_spec["type"]](**loss_spec["config"])
        model = Sequential(layers, loss=loss, dtype=dtype)
        for index, layer in enumerate(model.layers):
            for store in (layer.params, layer.buffers):
                for name, array in store.items():
                    saved = arrays[f"{index}.{name}"]
                    if saved.shape != array.shape:
                        raise ValueError(f"{index}.{name} has shape {saved.shape}")
                    array[...] = saved
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise ProfondError(
            f"{path} is not a readable profond scratch model ({error}); save it again"
        ) from error
    return model
