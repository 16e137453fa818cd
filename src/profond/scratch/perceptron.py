"""Rosenblatt's perceptron (§44.1.1): a weighted sum, a step, and the error-driven rule.

``ŷ = 1 if w·x + b > 0 else 0``; after each example, ``w ← w + η (y - ŷ) x`` and
``b ← b + η (y - ŷ)``. Nothing changes on a correct answer. On linearly separable data the rule
reaches zero errors in finitely many updates (Novikoff, 1962); on XOR no line separates the
classes, so some example is always misclassified and training only stops at the epoch limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from profond.errors import ProfondError


@dataclass(frozen=True)
class PerceptronResult:
    """How training went.

    Attributes:
        converged: an epoch ended with no misclassified example.
        epochs: epochs run (the limit when not converged).
        errors_per_epoch: misclassified examples seen during each epoch.
    """

    converged: bool
    epochs: int
    errors_per_epoch: tuple[int, ...]


class Perceptron:
    """A single neuron with a Heaviside activation and the Rosenblatt learning rule.

    Args:
        in_features: number of inputs n.
        lr: learning rate η (with zero initial weights, any η > 0 makes the same decisions).
        max_epochs: passes over the data before giving up.
        shuffle: visit the examples in a new random order each epoch.
        seed: seed of that order.

    Shape:
        - Input: ``(N, in_features)``.
        - Output: ``(N,)`` of 0/1.
    """

    def __init__(
        self,
        in_features: int,
        lr: float = 1.0,
        max_epochs: int = 100,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        if not isinstance(in_features, (int, np.integer)) or in_features <= 0:
            raise ProfondError(f"expected a positive integer in_features; received {in_features!r}")
        if not lr > 0:
            raise ProfondError(f"expected a positive learning rate; received lr={lr!r}")
        if not isinstance(max_epochs, (int, np.integer)) or max_epochs <= 0:
            raise ProfondError(f"expected a positive integer max_epochs; received {max_epochs!r}")
        self.in_features = int(in_features)
        self.lr = float(lr)
        self.max_epochs = int(max_epochs)
        self.shuffle = shuffle
        self.seed = seed
        self.weight = np.zeros(self.in_features)
        self.bias = 0.0

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Heaviside step of ``z = w·x + b``: 1 where ``z > 0``, else 0."""
        x = self._check_inputs(x)
        return (x @ self.weight + self.bias > 0).astype(np.int64)

    def fit(self, x: np.ndarray, y: np.ndarray) -> PerceptronResult:
        """Apply the rule example by example until an epoch makes no error or the limit.

        Args:
            x: ``(N, in_features)`` inputs.
            y: ``(N,)`` labels in {0, 1}.

        Returns:
            A :class:`PerceptronResult`; ``converged`` is false when the limit stopped it.
        """
        x = self._check_inputs(x)
        y = np.asarray(y)
        if y.shape != (len(x),):
            raise ProfondError(f"expected {len(x)} labels of shape ({len(x)},); received {y.shape}")
        if not np.isin(y, (0, 1)).all():
            raise ProfondError(f"perceptron labels must be 0 or 1; found {np.unique(y)}")
        rng = np.random.default_rng(self.seed)
        errors_per_epoch: list[int] = []
        for _ in range(self.max_epochs):
            order = rng.permutation(len(x)) if self.shuffle else range(len(x))
            errors = 0
            # The rule is online: each update changes the weights the next example sees.
            for i in order:
                y_hat = 1 if x[i] @ self.weight + self.bias > 0 else 0
                error = int(y[i]) - y_hat  # y - ŷ ∈ {-1, 0, 1}
                if error:
                    self.weight += self.lr * error * x[i]
                    self.bias += self.lr * error
                    errors += 1
            errors_per_epoch.append(errors)
            if errors == 0:
                return PerceptronResult(True, len(errors_per_epoch), tuple(errors_per_epoch))
        return PerceptronResult(False, len(errors_per_epoch), tuple(errors_per_epoch))

    def _check_inputs(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ProfondError(
                f"perceptron expects inputs of shape (N, {self.in_features}); received {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ProfondError("perceptron inputs contain NaN or infinite values")
        return x
