"""The multi-layer perceptron (course §44.1.2), by default the lab sheet's network.

The lab's network is Flatten → Dense(128, relu) → Dropout(0.2) → Dense(10, softmax); here the
softmax is left to the loss (``cross_entropy`` on logits is the numerically stable form).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from profond.models.registry import ModelFamily

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
}
INITS = ("default", "xavier", "he")


@dataclass(frozen=True)
class MLPConfig:
    in_features: int = 784  # flattened input size; set from the data
    num_classes: int = 10  # output units; set from the data
    hidden_sizes: tuple[int, ...] = (128,)  # the lab's single Dense(128)
    activation: str = "relu"  # relu | sigmoid | tanh | leaky_relu | gelu
    dropout: float = 0.2  # the lab's Dropout(0.2), after each hidden layer
    batch_norm: bool = False  # BatchNorm1d before each activation
    init: str = "default"  # default (PyTorch's) | xavier | he
    # Multi-task: classes of a second head on the same features (0: none); the "multitask"
    # task adds aux_weight x its cross-entropy to the main one
    aux_classes: int = 0
    aux_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.in_features <= 0 or self.num_classes <= 0:
            raise ValueError(
                f"expected positive in_features and num_classes. Received: "
                f"in_features={self.in_features}, num_classes={self.num_classes}"
            )
        if any(h <= 0 for h in self.hidden_sizes):
            raise ValueError(
                f"expected positive hidden sizes. Received: hidden_sizes={self.hidden_sizes}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"expected activation in {', '.join(ACTIVATIONS)}. Received: activation={self.activation!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"expected 0 <= dropout < 1. Received: dropout={self.dropout}")
        if self.aux_classes < 0 or self.aux_classes == 1 or self.aux_weight < 0:
            raise ValueError(
                f"expected aux_classes 0 (no second head) or >= 2 and aux_weight >= 0. Received: "
                f"aux_classes={self.aux_classes}, aux_weight={self.aux_weight}"
            )
        if self.init not in INITS:
            raise ValueError(f"expected init in {', '.join(INITS)}. Received: init={self.init!r}")


class MLP(nn.Module):
    """Fully connected classifier.

    Args:
        config: an :class:`MLPConfig`.

    Shape:
        - Input: ``(B, *)`` with ``prod(*) == in_features`` (images are flattened).
        - Output: ``(B, num_classes)`` logits.
    """

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = [nn.Flatten()]
        width = config.in_features
        for hidden in config.hidden_sizes:
            layers.append(nn.Linear(width, hidden))
            if config.batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(ACTIVATIONS[config.activation]())
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout))
            width = hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, config.num_classes)
        # created after the main head, so the main weights start the same with or without it
        self.aux_head = nn.Linear(width, config.aux_classes) if config.aux_classes else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.config.init == "default":
            return
        for module in self.modules():
            if isinstance(module, nn.Linear):
                if self.config.init == "xavier":
                    nn.init.xavier_uniform_(module.weight)
                else:  # he: keeps the variance of ReLU activations constant across layers
                    nn.init.kaiming_uniform_(module.weight, a=math.sqrt(0.0), nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate representation. Shape: ``(B, *)`` → ``(B, hidden_sizes[-1])``."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def aux_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The second head's logits. Shape: ``(B, *)`` → ``(B, aux_classes)``.

        Raises:
            ValueError: the model has no second head (``aux_classes=0``).
        """
        if self.aux_head is None:
            raise ValueError("expected a model with a second head. Received: aux_classes=0")
        return self.aux_head(self.features(x))


def _data_fields(bundle: Any) -> dict[str, Any]:
    return {"in_features": math.prod(bundle.input_shape), "num_classes": bundle.num_classes}


FAMILY = ModelFamily(
    name="mlp",
    config_class=MLPConfig,
    module_class=MLP,
    task="classification",
    data_fields=_data_fields,
    default_data="digits",
    data_tasks=("classification",),
    # zero-mean, unit-variance inputs: the lab's MLP reaches 0.873 on Fashion-MNIST in 5 epochs
    # against 0.860 with inputs scaled to [0, 1] (and 0.967 vs 0.953 on digits)
    data_defaults={"normalization": "standard"},
)
