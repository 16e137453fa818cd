"""``adding``: the adding problem, a test of long memory (Hochreiter & Schmidhuber, 1997).

Each sequence has ``length`` steps of two values: a random number in [0, 1] and a marker that is
1 at exactly two steps (one in the first half, one in the second) and 0 elsewhere. The target is
the sum of the two marked numbers. The first marker sits on average ``3/4 length`` steps before
the end, so the sequence length is the lag a model has to remember across. Predicting 1 whatever
the input gives an MSE of 1/6 ≈ 0.167; a model below that has learned something, one near 0
has solved the task.

As a ``--data`` choice the length is ``--window`` (``DataOptions.window``) and the task is
regression; every sample derives from the seed.
"""

from __future__ import annotations

import numpy as np
import torch

from profond.data.bundle import DataBundle
from profond.data.preprocess import Preprocessing
from profond.data.registry import DataOptions, DatasetSpec
from profond.data.splits import split_indices
from profond.errors import ProfondError

TRAIN_SIZE = 4000  # sequences before the validation split
TEST_SIZE = 1000
CONSTANT_MSE = 1.0 / 6.0  # MSE of always predicting 1, the best input-blind guess


def make_adding(count: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``count`` adding-problem sequences of ``length`` steps.

    Args:
        count: number of sequences.
        length: time steps per sequence (at least 2): the lag to remember.
        seed: the only source of randomness.

    Shape:
        Returns ``x`` ``(count, length, 2)`` float32 (value, marker) and ``y`` ``(count, 1)``
        float32, the sum of the two marked values.
    """
    if length < 2 or count < 0:
        raise ProfondError(f"the adding problem needs length >= 2; got length={length}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(count, length))
    half = length // 2
    first = rng.integers(0, half, size=count)
    second = rng.integers(half, length, size=count)
    markers = np.zeros((count, length))
    rows = np.arange(count)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=2).astype(np.float32)
    y = (values[rows, first] + values[rows, second])[:, None].astype(np.float32)
    return x, y


def load(options: DataOptions) -> DataBundle:
    """The ``adding`` bundle with sequences of ``options.window`` steps.

    The inputs are already in [0, 1]: no normalization is applied whatever ``options`` says,
    so that the target stays the plain sum of two inputs.
    """
    length = options.window
    x_train, y_train = make_adding(TRAIN_SIZE, length, options.seed)
    x_test, y_test = make_adding(TEST_SIZE, length, options.seed + 1_000_003)
    if options.limit is not None:
        x_train, y_train = x_train[: options.limit], y_train[: options.limit]
    train_idx, val_idx = split_indices(len(x_train), options.val_fraction, options.seed)
    x_all, y_all = torch.from_numpy(x_train), torch.from_numpy(y_train)
    return DataBundle(
        name="adding",
        task="regression",
        x_train=x_all[train_idx],
        y_train=y_all[train_idx],
        x_val=x_all[val_idx],
        y_val=y_all[val_idx],
        x_test=torch.from_numpy(x_test),
        y_test=torch.from_numpy(y_test),
        input_shape=(length, 2),
        preprocessing=Preprocessing(raw_max=1.0, normalization="none"),
        extra={"length": length, "horizon": 1, "constant_mse": CONSTANT_MSE},
    )


DATASETS = {
    "adding": DatasetSpec(
        name="adding",
        task="regression",
        description=(
            "generated adding problem: sum the two marked values of a (value, marker) sequence "
            f"of --window steps ({TRAIN_SIZE} train, {TEST_SIZE} test)"
        ),
        load=load,
        status=lambda options: f"generated on demand from seed {options.seed}; nothing to download",
    )
}
