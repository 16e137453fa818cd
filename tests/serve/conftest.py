"""Fixtures of the serving tests (helpers in ``serving_helpers``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from serving_helpers import digits_split, make_config, running_server, train_digits_model

from profond.models.saved import LoadedModel, load_model

# The server runs one intra-op thread (ServeConfig.threads); on a busy 2-core machine more
# threads spin against each other and make a tiny MLP 20x slower.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits() -> dict[str, np.ndarray]:
    return digits_split()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, digits: dict[str, np.ndarray]) -> Path:
    return train_digits_model(tmp_path_factory.mktemp("saved") / "model", digits)


@pytest.fixture(scope="session")
def loaded(model_dir: Path) -> LoadedModel:
    return load_model(model_dir)


@pytest.fixture(scope="module")
def server(model_dir: Path, loaded: LoadedModel) -> Iterator[str]:
    """One server shared by a test module: micro-batching on, torch runtime, a reload token."""
    with running_server(make_config(model_dir, token="secret-token"), loaded) as url:
        yield url
