import numpy as np
import pytest
import torch
import torch.nn.functional as F

from profond.errors import ProfondError
from profond.scratch.gradcheck import check_loss
from profond.scratch.losses import (
    MSE,
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    SparseCategoricalCrossEntropy,
)

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((6, 4)) * 2
LABELS = np.array([0, 3, 1, 1, 2, 3])
ONE_HOT = np.eye(4)[LABELS]
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
BINARY = RNG.integers(0, 2, size=(6, 4)).astype(np.float64)


def _torch_reference(name):
    """(loss object, outputs, targets, torch loss of a tensor of outputs)."""
    y_t = {
        "labels": torch.tensor(LABELS),
        "one_hot": torch.tensor(ONE_HOT),
        "binary": torch.tensor(BINARY),
    }
    return {
        "mse": (MSE(), LOGITS, ONE_HOT, lambda o: F.mse_loss(o, y_t["one_hot"])),
        "bce_probs": (
            BinaryCrossEntropy(),
            1 / (1 + np.exp(-LOGITS)),
            BINARY,
            lambda o: F.binary_cross_entropy(o, y_t["binary"]),
        ),
        "bce_logits": (
            BinaryCrossEntropy(from_logits=True),
            LOGITS,
            BINARY,
            lambda o: F.binary_cross_entropy_with_logits(o, y_t["binary"]),
        ),
        "cce_logits": (
            CategoricalCrossEntropy(),
            LOGITS,
            ONE_HOT,
            lambda o: F.cross_entropy(o, y_t["one_hot"]),
        ),
        "cce_probs": (
            CategoricalCrossEntropy(from_logits=False),
            PROBS,
            ONE_HOT,
            lambda o: -(y_t["one_hot"] * o.log()).sum(dim=1).mean(),
        ),
        "sparse_logits": (
            SparseCategoricalCrossEntropy(),
            LOGITS,
            LABELS,
            lambda o: F.cross_entropy(o, y_t["labels"]),
        ),
        "sparse_probs": (
            SparseCategoricalCrossEntropy(from_logits=False),
            PROBS,
            LABELS,
            lambda o: F.nll_loss(o.log(), y_t["labels"]),
        ),
    }[name]


NAMES = [
    "mse",
    "bce_probs",
    "bce_logits",
    "cce_logits",
    "cce_probs",
    "sparse_logits",
    "sparse_probs",
]


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    loss, outputs, y, _ = _torch_reference(name)
    assert check_loss(loss, outputs, y) < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_match_torch(name):
    loss, outputs, y, torch_loss = _torch_reference(name)
    value = loss.forward(outputs.copy(), y)
    grad = loss.backward()
    outputs_t = torch.tensor(outputs, requires_grad=True)
    reference = torch_loss(outputs_t)
    reference.backward()
    assert value == pytest.approx(reference.item(), rel=1e-12)
    np.testing.assert_allclose(grad, outputs_t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_fused_softmax_gradient_is_y_hat_minus_y_over_batch():
    loss = SparseCategoricalCrossEntropy()
    loss.forward(LOGITS, LABELS)
    np.testing.assert_allclose(loss.backward(), (PROBS - ONE_HOT) / len(LABELS), atol=1e-15)


def test_float32_stays_float32_and_finite_on_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    loss = SparseCategoricalCrossEntropy()
    assert loss.forward(logits, np.array([1])) == pytest.approx(2e4)
    assert loss.backward().dtype == np.float32
    assert np.isfinite(loss.backward()).all()


def test_accuracy_and_probabilities():
    loss = SparseCategoricalCrossEntropy()
    predicted = LOGITS.argmax(axis=1)
    assert loss.accuracy(LOGITS, LABELS) == np.mean(predicted == LABELS)
    np.testing.assert_allclose(loss.probabilities(LOGITS), PROBS)
    assert CategoricalCrossEntropy().accuracy(LOGITS, ONE_HOT) == loss.accuracy(LOGITS, LABELS)


def test_labels_outside_the_class_range_are_rejected():
    loss = SparseCategoricalCrossEntropy()
    with pytest.raises(ProfondError, match=r"class label 10 is outside \[0, 10\)"):
        loss.check_targets(np.array([1, 10]), (2, 10), np.float32)
    with pytest.raises(ProfondError, match="class label -1"):
        loss.check_targets(np.array([-1, 0]), (2, 10), np.float32)
    with pytest.raises(ProfondError, match="whole numbers"):
        loss.check_targets(np.array([0.5, 1.0]), (2, 10), np.float32)
    with pytest.raises(ProfondError, match=r"shape \(2,\)"):
        loss.check_targets(np.zeros((2, 10)), (2, 10), np.float32)
    np.testing.assert_array_equal(
        loss.check_targets(np.array([1.0, 9.0]), (2, 10), np.float32), [1, 9]
    )


def test_other_targets_are_validated():
    with pytest.raises(ProfondError, match=r"\[0, 1\]"):
        BinaryCrossEntropy().check_targets(np.array([[2.0]]), (1, 1), np.float64)
    with pytest.raises(ProfondError, match="NaN"):
        MSE().check_targets(np.array([[np.nan]]), (1, 1), np.float64)
    with pytest.raises(ProfondError, match=r"\(3, 2\)"):
        MSE().check_targets(np.zeros((3, 1)), (3, 2), np.float64)
