"""The table of datasets: ``--data`` name → the module that loads it, imported when used.

Each dataset module defines ``DATASETS: dict[str, DatasetSpec]`` (or one ``DATASET``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profond.data.bundle import DataBundle
from profond.errors import ProfondError


@dataclass(frozen=True)
class DataOptions:
    """How to load and split a dataset; one object per run, saved with it."""

    seed: int = 0  # the split and any generated data depend on it alone
    val_fraction: float = 0.1  # share of the training split held out for validation
    normalization: str = "minmax"  # minmax (to [0, 1]) | standard (zero mean, unit std) | none
    data_dir: str | None = None  # a folder holding the files; else $PROFOND_DATA, system, cache
    limit: int | None = None  # keep only the first N training samples (quick runs, tests)
    download: bool = True  # fetch missing files into the cache (with SHA-256 checks)
    window: int = 24  # forecasting: input window length (time steps)
    horizon: int = 1  # forecasting: steps predicted at once
    max_len: int = 64  # text: tokens kept per sample

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0:
            raise ProfondError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.limit is not None and self.limit <= 0:
            raise ProfondError(f"limit must be a positive number of samples, got {self.limit}")
        for name in ("window", "horizon", "max_len"):
            if getattr(self, name) <= 0:
                raise ProfondError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class DatasetSpec:
    """One ``--data`` choice.

    Attributes:
        name: the ``--data`` name.
        task: the data's task (``classification``, ``forecasting``, ``text-classification``,
            ``segmentation``).
        description: one line for ``profond data list``.
        load: ``load(options) -> DataBundle``.
        status: ``status(options) -> str``: where the files are, or what would be downloaded.
        train_defaults: :class:`~profond.train.config.TrainConfig` values that suit this data
            (e.g. ``{"epochs": 40}``), used where the user gave none.
    """

    name: str
    task: str
    description: str
    load: Callable[[DataOptions], DataBundle]
    status: Callable[[DataOptions], str]
    train_defaults: dict[str, Any] = field(default_factory=dict)  # TrainConfig values for this data


DATASET_MODULES: dict[str, str] = {
    "digits": "profond.data.digits",
    "fashion-mnist": "profond.data.idx_datasets",
    "mnist": "profond.data.idx_datasets",
    "sunspots": "profond.data.series",
    "co2": "profond.data.series",
    "fortunes": "profond.data.text",
    "shapes": "profond.data.shapes",
    "ring": "profond.data.mixture",
    "adding": "profond.data.adding",
}


def dataset_names() -> list[str]:
    return list(DATASET_MODULES)


def get_dataset(name: str) -> DatasetSpec:
    if name not in DATASET_MODULES:
        raise ProfondError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_MODULES)}")
    module = importlib.import_module(DATASET_MODULES[name])
    specs = getattr(module, "DATASETS", None) or {module.DATASET.name: module.DATASET}
    return specs[name]


def load_dataset(name: str, options: DataOptions | None = None) -> DataBundle:
    """Load ``name`` as an in-memory :class:`DataBundle`."""
    return get_dataset(name).load(options or DataOptions())


def resolve_dir(options: DataOptions, name: str) -> list[Path]:
    """Folders searched for a dataset's files, in order."""
    import os

    from profond.paths import cache_dir

    candidates = []
    if options.data_dir:
        candidates.append(Path(options.data_dir).expanduser())
    if os.environ.get("PROFOND_DATA"):
        base = Path(os.environ["PROFOND_DATA"]).expanduser()
        candidates += [base / name, base]
    candidates.append(Path("/usr/share/datasets") / name)
    candidates.append(cache_dir() / name)
    return candidates
