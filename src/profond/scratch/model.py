"""``Sequential``: a stack of layers trained by backpropagation, and ``build_mlp``.

One training step is the algorithm summarised at the end of §44.2.2: a forward pass that keeps
what each layer needs, the output error ``δ^(L)`` from the loss, the backward pass from the
last layer to the first, then an optimizer update (§44.2.3).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from profond.errors import ProfondError
from profond.scratch.activations import ACTIVATIONS
from profond.scratch.layers import BatchNorm, Dense, Dropout, Layer
from profond.scratch.losses import (
    LOSSES,
    Loss,
    SparseCategoricalCrossEntropy,
)
from profond.scratch.optimizers import Optimizer

EpochCallback = Callable[[int, dict[str, float]], None]


class Sequential:
    """Layers applied one after the other, with a loss and an optimizer.

    Args:
        layers: the layers, first to last; consecutive widths are checked here.
        loss: the cost, an object or a name of ``losses.LOSSES``; cross-entropies take logits.
        optimizer: set here or later with :meth:`compile`; needed by :meth:`fit`.
        dtype: floating dtype inputs are cast to (match the layers').

    Shape:
        - Input: ``(B, *)``, flattened to ``(B, in_features)``.
        - Output: ``(B, out_features)`` of the last layer.

    Raises:
        ProfondError: two consecutive layers disagree on a width.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        loss: Loss | str | None = None,
        optimizer: Optimizer | None = None,
        dtype: Any = np.float32,
    ) -> None:
        if not layers:
            raise ProfondError("Sequential needs at least one layer; received none")
        self.layers = list(layers)
        self.dtype = np.dtype(dtype)
        self.loss: Loss | None = None
        self.optimizer = optimizer
        if loss is not None:
            self.loss = _make_loss(loss)
        self.in_features: int | None = None
        self._input_layer = self.layers[0].name  # the layer that fixes in_features
        width: int | None = None
        for index, layer in enumerate(self.layers):
            layer.name = f"{type(layer).__name__.lower()}_{index}"
            if self.in_features is None and isinstance(layer, (Dense, BatchNorm)):
                self.in_features = (
                    layer.in_features if isinstance(layer, Dense) else layer.num_features
                )
                self._input_layer = layer.name
            width = layer.output_features(width)
        self.out_features = width
        # Lists of references, built once: every layer writes its gradients in place.
        self._params = [p for layer in self.layers for p in layer.params.values()]
        self._grads = [layer.grads[n] for layer in self.layers for n in layer.params]

    def compile(self, optimizer: Optimizer, loss: Loss | str | None = None) -> Sequential:
        """Set the optimizer (and optionally the loss); returns ``self``."""
        self.optimizer = optimizer
        if loss is not None:
            self.loss = _make_loss(loss)
        return self

    def parameters(self) -> list[np.ndarray]:
        """Every trainable array, in a fixed order (the order ``gradients`` follows)."""
        return self._params

    def gradients(self) -> list[np.ndarray]:
        return self._grads

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Forward pass (§44.2.2): ``a^(0) = x``, then each layer in turn; returns the outputs."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_output: np.ndarray) -> None:
        """Backward pass from ``∂J/∂outputs``: each layer fills its gradients and hands the
        error to the one before; the first layer skips the gradient of the data."""
        grad: np.ndarray | None = grad_output
        for index in range(len(self.layers) - 1, -1, -1):
            assert grad is not None
            grad = self.layers[index].backward(grad, input_grad=index > 0)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """One mini-batch update; returns the batch loss and the outputs."""
        loss, optimizer = self._require_training()
        outputs = self.forward(x, training=True)
        value = loss.forward(outputs, y)
        self.backward(loss.backward())
        optimizer.step(self._params, self._grads)
        return value, outputs

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        shuffle: bool = True,
        seed: int = 0,
        patience: int | None = None,
        on_epoch_end: EpochCallback | None = None,
    ) -> dict[str, list[float]]:
        """Train by mini-batch gradient descent.

        Args:
            x: inputs, ``(N, *)``.
            y: targets in the loss's form (class labels ``(N,)`` for the sparse cross-entropy).
            epochs: passes over the data.
            batch_size: examples per update; the last batch of an epoch may be smaller.
            validation_data: ``(x_val, y_val)`` evaluated after each epoch.
            shuffle: draw a new order of the examples each epoch.
            seed: seed of the shuffling.
            patience: early stopping: stop after this many epochs without a lower ``val_loss``
                (``train_loss`` without validation data) and restore the best weights.
            on_epoch_end: called as ``on_epoch_end(epoch, logs)`` with ``epoch`` counted from 1.

        Returns:
            A history: lists, one value per epoch, under ``train_loss`` (mean of the batch
            losses) and, for classifiers, ``train_accuracy``; with validation data also
            ``val_loss`` and, for classifiers, ``val_accuracy``.

        Raises:
            ProfondError: bad shapes, NaN in the inputs, labels out of range, bad arguments.
        """
        loss, _ = self._require_training()
        for arg, value in (("epochs", epochs), ("batch_size", batch_size)):
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ProfondError(f"fit expects a positive integer {arg}; received {value!r}")
        if patience is not None and patience < 1:
            raise ProfondError(f"fit expects patience >= 1 or None; received {patience!r}")
        x, y = self._prepare(x, y)
        val = self._prepare(*validation_data) if validation_data is not None else None
        rng = np.random.default_rng(seed)
        history: dict[str, list[float]] = {}
        best, best_weights, waited = np.inf, None, 0
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            logs = self._fit_epoch(x, y, order, batch_size, loss)
            if val is not None:
                scores = self._evaluate_prepared(*val)
                logs["val_loss"] = scores["loss"]
                if "accuracy" in scores:
                    logs["val_accuracy"] = scores["accuracy"]
            for key, metric in logs.items():
                history.setdefault(key, []).append(metric)
            if on_epoch_end is not None:
                on_epoch_end(epoch, logs)
            if patience is not None:
                monitored = logs.get("val_loss", logs["train_loss"])
                if monitored < best:
                    best, waited = monitored, 0
                    best_weights = [p.copy() for p in self._params]
                else:
                    waited += 1
                    if waited >= patience:
                        break
        if best_weights is not None:
            for param, saved in zip(self._params, best_weights, strict=True):
                param[...] = saved
        return history

    def _fit_epoch(
        self, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, loss: Loss
    ) -> dict[str, float]:
        """One pass over ``x`` in ``order``, one update per mini-batch; the epoch's mean loss
        (and accuracy for classifiers), weighted by batch size."""
        total_loss = 0.0
        correct = 0.0
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            xb, yb = x[index], y[index]
            batch_loss, outputs = self.train_step(xb, yb)
            total_loss += batch_loss * len(index)
            if loss.classification:
                correct += loss.accuracy(outputs, yb) * len(index)
        logs = {"train_loss": total_loss / len(x)}
        if loss.classification:
            logs["train_accuracy"] = correct / len(x)
        return logs

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Outputs in evaluation mode: class probabilities for the cross-entropies.

        Shape:
            - Input: ``(N, *)``.
            - Output: ``(N, out_features)``.
        """
        x, _ = self._prepare(x, None)
        outputs = self._outputs(x, batch_size)
        return self.loss.probabilities(outputs) if self.loss is not None else outputs

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """Mean loss and, for classifiers, accuracy in evaluation mode.

        Returns:
            ``{"loss": ..., "accuracy": ...}`` (no ``accuracy`` for a regression loss).
        """
        if self.loss is None:
            raise ProfondError("evaluate needs a loss; pass loss= to Sequential or compile()")
        return self._evaluate_prepared(*self._prepare(x, y), batch_size=batch_size)

    def _evaluate_prepared(
        self, x: np.ndarray, y: np.ndarray, batch_size: int = 1024
    ) -> dict[str, float]:
        assert self.loss is not None
        outputs = self._outputs(x, batch_size)
        scores = {"loss": self.loss.forward(outputs, y)}
        if self.loss.classification:
            scores["accuracy"] = self.loss.accuracy(outputs, y)
        return scores

    def _outputs(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        # Batches bound the memory; evaluation mode makes the result independent of them.
        parts = [self.forward(x[s : s + batch_size]) for s in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.empty((0, self.out_features or 0), self.dtype)

    def _prepare(self, x: Any, y: Any) -> tuple[np.ndarray, Any]:
        x = np.asarray(x)
        if x.ndim < 2:
            raise ProfondError(
                f"inputs must have shape (N, features); received {x.shape}. Reshape a single "
                "example to (1, features)"
            )
        x = x.reshape(len(x), -1).astype(self.dtype, copy=False)  # (N, in_features)
        if self.in_features is not None and x.shape[1] != self.in_features:
            raise ProfondError(
                f"layer {self._input_layer} expects inputs of shape (N, {self.in_features}) "
                f"but received {x.shape}; check the data or in_features"
            )
        if not np.isfinite(x).all():
            rows = np.unique(np.nonzero(~np.isfinite(x))[0])
            raise ProfondError(
                f"inputs contain NaN or infinite values ({len(rows)} rows, first at index "
                f"{rows[0]}); clean or impute them before training"
            )
        if y is None:
            return x, None
        if len(y) != len(x):
            raise ProfondError(f"x has {len(x)} examples but y has {len(y)}; they must match")
        if self.loss is not None:
            # Width-agnostic layers only (no Dense) output as many features as they receive.
            width = self.out_features if self.out_features is not None else x.shape[1]
            y = self.loss.check_targets(y, (len(x), width), self.dtype)
        return x, y

    def _require_training(self) -> tuple[Loss, Optimizer]:
        if self.loss is None or self.optimizer is None:
            raise ProfondError(
                "training needs a loss and an optimizer; call compile(make_optimizer(...))"
            )
        return self.loss, self.optimizer

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the architecture (a JSON string) and every array to one ``.npz`` file.

        The file is written atomically and read back without pickle
        (:mod:`profond.scratch.serialization`).

        Args:
            path: the file to write.
            overwrite: replace an existing file; without it an existing file is an error.

        Returns:
            ``path``.
        """
        from profond.scratch.serialization import save_sequential

        return save_sequential(self, path, overwrite)

    @classmethod
    def load(cls, path: str | Path) -> Sequential:
        """Rebuild a model written by :meth:`save` (without an optimizer).

        Raises:
            ProfondError: missing, corrupt or foreign file.
        """
        from profond.scratch.serialization import load_sequential

        return load_sequential(path)


def _make_loss(loss: Loss | str) -> Loss:
    if isinstance(loss, Loss):
        return loss
    if loss not in LOSSES:
        raise ProfondError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")
    return LOSSES[loss]()


def build_mlp(
    in_features: int,
    hidden_sizes: tuple[int, ...],
    num_classes: int,
    activation: str,
    dropout: float,
    init: str,
    seed: int,
    dtype: Any = np.float32,
) -> Sequential:
    """The NumPy twin of ``profond.models.mlp.MLP``: (Dense → activation → Dropout) per hidden
    layer, then a Dense head whose softmax is fused into the sparse cross-entropy.

    Args:
        in_features: flattened input size.
        hidden_sizes: widths of the hidden layers.
        num_classes: outputs.
        activation: a name of ``activations.ACTIVATIONS`` other than ``"softmax"``.
        dropout: rate after each hidden layer (0 leaves Dropout out).
        init: ``"default"``, ``"xavier"``/``"glorot"`` or ``"he"``.
        seed: seeds every layer's initialization and dropout.
        dtype: floating dtype of the parameters.

    Returns:
        A :class:`Sequential` with its loss set; give it an optimizer with ``compile``.
    """
    if activation not in ACTIVATIONS or activation == "softmax":
        names = ", ".join(name for name in ACTIVATIONS if name != "softmax")
        raise ProfondError(f"unknown activation {activation!r}; expected one of {names}")
    if not 0.0 <= dropout < 1.0:
        raise ProfondError(f"expected 0 <= dropout < 1; received dropout={dropout!r}")
    if any(not isinstance(h, (int, np.integer)) or h <= 0 for h in hidden_sizes):
        raise ProfondError(
            f"expected positive hidden sizes; received hidden_sizes={hidden_sizes!r}"
        )
    # Independent, reproducible streams for each layer from the one seed.
    seeds = iter(np.random.SeedSequence(seed).generate_state(2 * len(hidden_sizes) + 1))
    layers: list[Layer] = []
    width = in_features
    for hidden in hidden_sizes:
        layers.append(Dense(width, hidden, init=init, seed=int(next(seeds)), dtype=dtype))
        layers.append(ACTIVATIONS[activation]())
        dropout_seed = int(next(seeds))
        if dropout > 0:
            layers.append(Dropout(dropout, seed=dropout_seed))
        width = hidden
    layers.append(Dense(width, num_classes, init=init, seed=int(next(seeds)), dtype=dtype))
    return Sequential(layers, loss=SparseCategoricalCrossEntropy(from_logits=True), dtype=dtype)
