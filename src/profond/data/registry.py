"""The table of datasets: ``--data`` name → the module that loads it, imported when used.

Each dataset module defines ``DATASETS: dict[str, DatasetSpec]`` (or one ``DATASET``).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profond.data.bundle import DataBundle
from profond.data.names import DATASET_MODULES
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
        from profond.data.preprocess import NORMALIZATIONS
        from profond.validation import check_bool, check_choice, check_float, check_int

        check_int("seed", self.seed, minimum=0, maximum=2**63 - 1)
        check_float("val_fraction", self.val_fraction, minimum=0.0, below=1.0)
        check_choice("normalization", self.normalization, NORMALIZATIONS)
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ProfondError(f"data_dir must be a folder path, got {self.data_dir!r}")
        check_int("limit", self.limit, minimum=1, optional=True,
                  label="a positive number of samples")  # fmt: skip
        check_bool("download", self.download)
        for name in ("window", "horizon", "max_len"):
            check_int(name, getattr(self, name), minimum=1)


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
        reads_files: whether it is read from files a ``--data-dir`` can point to; for other
            datasets (embedded, generated) a ``--data-dir`` is refused rather than ignored.
    """

    name: str
    task: str
    description: str
    load: Callable[[DataOptions], DataBundle]
    status: Callable[[DataOptions], str]
    train_defaults: dict[str, Any] = field(default_factory=dict)  # TrainConfig values for this data
    reads_files: bool = False  # a --data-dir may hold its files


def get_dataset(name: str) -> DatasetSpec:
    if name not in DATASET_MODULES:
        raise ProfondError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_MODULES)}")
    module = importlib.import_module(DATASET_MODULES[name])
    specs = getattr(module, "DATASETS", None) or {module.DATASET.name: module.DATASET}
    spec = specs[name]
    if spec.reads_files:
        return spec
    return dataclasses.replace(spec, load=functools.partial(_load_without_files, spec))


def _load_without_files(spec: DatasetSpec, options: DataOptions) -> DataBundle:
    """Load a dataset that reads no file, refusing a ``--data-dir`` it would silently ignore."""
    if options.data_dir:
        raise ProfondError(
            f"dataset {spec.name!r} is not read from files, so --data-dir {options.data_dir} "
            "has no use here; leave it out"
        )
    return spec.load(options)


def load_dataset(name: str, options: DataOptions | None = None) -> DataBundle:
    """Load ``name`` as an in-memory :class:`DataBundle`."""
    return get_dataset(name).load(options or DataOptions())


def explicit_dir(options: DataOptions | None) -> Path | None:
    """The folder the user named with ``--data-dir``, checked to exist; None when not given.

    A named folder is used or refused with the reason: a loader must never fall back to
    another copy of the dataset when this one is missing files or corrupt.

    Raises:
        ProfondError: the folder does not exist or is not a folder.
    """
    if options is None or not options.data_dir:
        return None
    folder = Path(options.data_dir).expanduser()
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ProfondError(f"--data-dir {folder} {what}; pass the folder that holds the files")
    return folder


def resolve_dir(options: DataOptions, name: str) -> list[Path]:
    """Folders searched for a dataset's files, in order."""
    import os

    from profond.paths import profond_home

    candidates = []
    if options.data_dir:
        candidates.append(Path(options.data_dir).expanduser())
    if os.environ.get("PROFOND_DATA"):
        base = Path(os.environ["PROFOND_DATA"]).expanduser()
        candidates += [base / name, base]
    candidates.append(Path("/usr/share/datasets") / name)
    candidates.append(profond_home() / "datasets" / name)  # the cache, read without writing
    return candidates
