"""Cost functions (§44.2.1) with their gradient with respect to the network's output.

Every loss is a mean over the batch, so each gradient carries a ``1/B``. The cross-entropies
take logits by default and fuse the softmax (or sigmoid) into the loss: the gradient of
``softmax`` followed by cross-entropy simplifies to ``(ŷ - y)/B``, the chapter's output error
``δ^(L)`` (§44.2.2, step 1) without ever forming the softmax's Jacobian, and the log of a
softmax computed as ``z - logsumexp(z)`` never takes the log of 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from profond.errors import ProfondError
from profond.scratch.activations import sigmoid, softmax


class Loss:
    """A cost ``J(ŷ, y)``: ``forward`` returns it, ``backward`` returns ``∂J/∂ŷ``.

    Attributes:
        classification: whether ``accuracy`` means something for this loss.
    """

    classification = False

    def forward(self, outputs: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """``∂J/∂outputs`` for the last ``forward``, same shape as the outputs."""
        raise NotImplementedError

    def check_targets(
        self, y: np.ndarray, outputs_shape: tuple[int, ...], dtype: Any
    ) -> np.ndarray:
        """Validate targets once before training and return them in the form ``forward`` takes.

        Raises:
            ProfondError: targets of the wrong shape, out of range or not finite.
        """
        y = np.asarray(y, dtype=dtype)
        if y.shape != outputs_shape:
            raise ProfondError(
                f"{type(self).__name__} expects targets of shape {outputs_shape} (one per output); "
                f"received {y.shape}"
            )
        if not np.isfinite(y).all():
            raise ProfondError(f"{type(self).__name__}: targets contain NaN or infinite values")
        return y

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """What ``predict`` returns for these network outputs (identity for regression)."""
        return outputs

    def accuracy(self, outputs: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


class MSE(Loss):
    """Mean squared error ``J = mean((ŷ - y)²)`` over every element, for regression.

    The chapter's single-example form ``½ Σ (a - y)²`` gives ``∂J/∂a = a - y``; averaging over
    the ``N`` elements instead (Keras' and PyTorch's convention) gives ``2 (ŷ - y) / N``.

    Shape:
        - outputs, y: ``(B, *)``, the same shape.
    """

    def forward(self, outputs: np.ndarray, y: np.ndarray) -> float:
        self._diff = outputs - y
        return float(np.mean(self._diff * self._diff))

    def backward(self) -> np.ndarray:
        return 2.0 * self._diff / self._diff.size


class BinaryCrossEntropy(Loss):
    """``J = -mean(y log ŷ + (1 - y) log(1 - ŷ))`` over every element (§44.2.1).

    Args:
        from_logits: if true the outputs are logits ``z`` and ``ŷ = σ(z)`` is fused in; the
            gradient is then ``(σ(z) - y)/N``. If false they are probabilities in ``(0, 1)``.

    Shape:
        - outputs, y: ``(B, *)``, the same shape; targets in ``[0, 1]``.
    """

    classification = True

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = from_logits

    def check_targets(
        self, y: np.ndarray, outputs_shape: tuple[int, ...], dtype: Any
    ) -> np.ndarray:
        y = super().check_targets(y, outputs_shape, dtype)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ProfondError(
                f"BinaryCrossEntropy expects targets in [0, 1]; found values in "
                f"[{y.min()}, {y.max()}]"
            )
        return y

    def forward(self, outputs: np.ndarray, y: np.ndarray) -> float:
        self._y = y
        if self.from_logits:
            z = outputs
            self._p = sigmoid(z)
            # log(1 + e^z) - z y, written to stay finite for any z.
            loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
            return float(np.mean(loss))
        self._p = outputs
        p = np.clip(outputs, 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    def backward(self) -> np.ndarray:
        p, y = self._p, self._y
        if self.from_logits:
            return (p - y) / p.size
        return (p - y) / (p * (1 - p)) / p.size

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        return sigmoid(outputs) if self.from_logits else outputs

    def accuracy(self, outputs: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean((self.probabilities(outputs) > 0.5) == (y > 0.5)))

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}


class CategoricalCrossEntropy(Loss):
    """``J = -mean_i Σ_j y_ij log ŷ_ij`` with one-hot (or probability) targets.

    Args:
        from_logits: if true the outputs are logits and the softmax is fused in, with gradient
            ``(ŷ - y)/B``; if false they are probabilities and the gradient is ``-y/(ŷ B)``.

    Shape:
        - outputs, y: ``(B, C)``.
    """

    classification = True

    def __init__(self, from_logits: bool = True) -> None:
        self.from_logits = from_logits

    def check_targets(
        self, y: np.ndarray, outputs_shape: tuple[int, ...], dtype: Any
    ) -> np.ndarray:
        y = super().check_targets(y, outputs_shape, dtype)
        if y.size and y.min() < 0:
            raise ProfondError(
                f"CategoricalCrossEntropy expects non-negative (one-hot) targets; found {y.min()}"
            )
        return y

    def forward(self, outputs: np.ndarray, y: np.ndarray) -> float:
        self._y = y
        if self.from_logits:
            shifted = outputs - outputs.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            self._p = np.exp(log_probs)
        else:
            self._p = outputs
            log_probs = np.log(np.clip(outputs, 1e-12, None))
        return float(-np.sum(y * log_probs) / outputs.shape[0])

    def backward(self) -> np.ndarray:
        p, y = self._p, self._y
        batch = p.shape[0]
        if self.from_logits:
            # (ŷ - y)/B when each row of y sums to 1; the row sum keeps it exact otherwise.
            return (p * y.sum(axis=1, keepdims=True) - y) / batch
        return -y / (p * batch)

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        return softmax(outputs) if self.from_logits else outputs

    def accuracy(self, outputs: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(outputs.argmax(axis=1) == y.argmax(axis=1)))

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}


class SparseCategoricalCrossEntropy(Loss):
    """Cross-entropy with integer class labels: ``J = -mean_i log ŷ_{i, y_i}``.

    The same cost as :class:`CategoricalCrossEntropy` on one-hot targets, without building
    them: the fused gradient is ``ŷ`` with 1 subtracted at each true class, divided by ``B``.

    Args:
        from_logits: if true the outputs are logits and the softmax is fused in; if false they
            are probabilities.

    Shape:
        - outputs: ``(B, C)``.
        - y: ``(B,)`` integers in ``[0, C)``.
    """

    classification = True

    def __init__(self, from_logits: bool = True) -> None:
        self.from_logits = from_logits

    def check_targets(
        self, y: np.ndarray, outputs_shape: tuple[int, ...], dtype: Any
    ) -> np.ndarray:
        y = np.asarray(y)
        batch, num_classes = outputs_shape
        if y.shape != (batch,):
            raise ProfondError(
                f"SparseCategoricalCrossEntropy expects one integer label per example, shape "
                f"({batch},); received {y.shape}"
            )
        if y.dtype.kind == "f":
            if not np.isfinite(y).all() or not np.array_equal(y, np.round(y)):
                raise ProfondError("class labels must be whole numbers; found NaN or fractions")
        elif y.dtype.kind not in "iu":
            raise ProfondError(f"class labels must be integers; received dtype {y.dtype}")
        labels = y.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            bad = labels[(labels < 0) | (labels >= num_classes)][0]
            raise ProfondError(
                f"class label {bad} is outside [0, {num_classes}) for a network with "
                f"{num_classes} outputs; relabel the data or widen the output layer"
            )
        return labels

    def forward(self, outputs: np.ndarray, y: np.ndarray) -> float:
        rows = np.arange(outputs.shape[0])
        self._y = y
        if self.from_logits:
            shifted = outputs - outputs.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            total = exp.sum(axis=1)
            self._p = exp / total[:, None]
            log_true = shifted[rows, y] - np.log(total)
        else:
            self._p = outputs
            log_true = np.log(np.clip(outputs[rows, y], 1e-12, None))
        return float(-np.mean(log_true))

    def backward(self) -> np.ndarray:
        p, y = self._p, self._y
        batch = p.shape[0]
        if self.from_logits:
            grad = p.copy()
            grad[np.arange(batch), y] -= 1  # ŷ - one_hot(y)
            grad /= batch
            return grad
        grad = np.zeros_like(p)
        rows = np.arange(batch)
        grad[rows, y] = -1.0 / (p[rows, y] * batch)
        return grad

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        return softmax(outputs) if self.from_logits else outputs

    def accuracy(self, outputs: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(outputs.argmax(axis=1) == y))

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}


LOSSES: dict[str, type[Loss]] = {
    "mse": MSE,
    "binary_crossentropy": BinaryCrossEntropy,
    "categorical_crossentropy": CategoricalCrossEntropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossEntropy,
}
