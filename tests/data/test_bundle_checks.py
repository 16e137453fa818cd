"""A bundle refuses NaN inputs and class ids out of range, whatever dataset built it."""

import pytest
import torch

from profond.data.bundle import DataBundle
from profond.errors import ProfondError


def bundle(**changes) -> DataBundle:
    values = dict(
        name="toy", task="classification",
        x_train=torch.zeros(4, 3), y_train=torch.tensor([0, 1, 0, 1]),
        x_val=torch.zeros(2, 3), y_val=torch.tensor([0, 1]),
        x_test=torch.zeros(2, 3), y_test=torch.tensor([1, 0]),
        input_shape=(3,), classes=["a", "b"],
    )  # fmt: skip
    values.update(changes)
    return DataBundle(**values)


def test_a_clean_bundle_is_built():
    assert bundle().num_classes == 2


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"x_train": torch.tensor([[0.0, float("nan"), 1.0]] * 4)}, "train inputs hold 4 NaN"),
        ({"x_test": torch.full((2, 3), float("inf"))}, "test inputs hold 6 NaN or infinite"),
        ({"y_val": torch.tensor([0, 2])}, "val labels run from 0 to 2 but there are 2 classes"),
        ({"y_train": torch.tensor([-1, 0, 0, 1])}, "train labels run from -1 to 1"),
    ],
)
def test_corrupt_values_are_refused_as_data_problems(changes, message):
    with pytest.raises(ProfondError, match=message):
        bundle(**changes)


def test_regression_targets_are_not_read_as_class_ids():
    data = bundle(task="forecasting", classes=[], y_train=torch.randn(4, 1) * 100)
    assert data.num_classes == 0
