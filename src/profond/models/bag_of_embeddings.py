"""The bag-of-embeddings text classifier: the baseline a Transformer has to beat.

Each token has a learned vector; a text is the mean of its tokens' vectors, and a linear
layer reads the classes from it (the fastText model of Joulin et al., 2016). Word order is
thrown away, so whatever a sequence model gains over it comes from order and context.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

PAD_ID = 0


@dataclass(frozen=True)
class BagOfEmbeddingsConfig:
    vocab_size: int = 128  # token ids 0..vocab_size-1, 0 is padding; set from the data
    num_classes: int = 2  # output units; set from the data
    embed_dim: int = 64  # width of each token vector
    dropout: float = 0.1  # on the averaged vector

    def __post_init__(self) -> None:
        for name in ("vocab_size", "num_classes", "embed_dim"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"expected a positive integer. Received: {name}={getattr(self, name)}"
                )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"expected 0 <= dropout < 1. Received: dropout={self.dropout}")


class BagOfEmbeddings(nn.Module):
    """Mean of token embeddings (padding left out), then a linear layer.

    Args:
        config: a :class:`BagOfEmbeddingsConfig`.

    Shape:
        - Input: ``(B, T)`` int64 token ids, 0 for padding.
        - Output: ``(B, num_classes)`` logits.
    """

    def __init__(self, config: BagOfEmbeddingsConfig) -> None:
        super().__init__()
        self.config = config
        # EmbeddingBag averages without materializing (B, T, D); padding_idx drops pads
        # from both the sum and the count.
        self.bag = nn.EmbeddingBag(
            config.vocab_size, config.embed_dim, mode="mean", padding_idx=PAD_ID
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.embed_dim, config.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The averaged embedding. Shape: ``(B, T)`` → ``(B, embed_dim)``."""
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"expected integer token ids of shape (B, T). Received: shape {tuple(x.shape)}, "
                f"dtype {x.dtype}"
            )
        return self.bag(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))
