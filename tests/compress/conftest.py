"""The digits MLP of the serving tests, shared with the export tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))

from serving_helpers import digits_split, train_digits_model  # noqa: E402

from profond.models.saved import LoadedModel, load_model  # noqa: E402

torch.set_num_threads(1)  # see tests/serve/conftest.py


@pytest.fixture(scope="session")
def digits() -> dict[str, np.ndarray]:
    return digits_split()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, digits: dict[str, np.ndarray]) -> Path:
    return train_digits_model(tmp_path_factory.mktemp("saved") / "model", digits)


@pytest.fixture(scope="session")
def loaded(model_dir: Path) -> LoadedModel:
    return load_model(model_dir)
