"""A Transformer encoder for text classification (course §44.3.3).

Parts first, whole model last: positional encodings, multi-head self-attention written out
(so that its weights can be returned and drawn), the encoder block, then the classifier that
embeds token ids, runs the blocks and averages the non-padding positions.

Token id 0 is padding: padded keys get no attention and padded positions are left out of the
average, so a text reads the same whatever length it is padded to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from profond.models.registry import ModelFamily

POSITIONALS = ("sinusoidal", "learned", "none")
PAD_ID = 0
UNK_ID = 1  # the vocabulary's <unk>, as profond.data.text builds it


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int = 128  # token ids 0..vocab_size-1, 0 is padding; set from the data
    num_classes: int = 2  # output units; set from the data
    max_len: int = 64  # longest sequence accepted; set from the data
    d_model: int = 64  # width D of every token representation
    num_heads: int = 4  # attention heads; each works in D / num_heads dimensions
    num_layers: int = 2  # stacked encoder blocks
    dim_feedforward: int = 128  # hidden width of each block's MLP (the paper uses 4 D)
    dropout: float = 0.1  # on attention weights and after each sub-layer
    # sinusoidal (fixed, Vaswani et al.) | learned | none (attention alone is then blind to order)
    positional: str = "sinusoidal"
    token_dropout: float = 0.0  # in training, share of tokens replaced by <unk> (word dropout)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "num_classes", "max_len", "d_model", "num_heads", "num_layers", "dim_feedforward"):  # fmt: skip
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"expected a positive integer. Received: {name}={getattr(self, name)}"
                )
        if self.d_model % self.num_heads:
            raise ValueError(
                "expected d_model divisible by num_heads. Received: "
                f"d_model={self.d_model}, num_heads={self.num_heads}"
            )
        for name in ("dropout", "token_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(
                    f"expected 0 <= {name} < 1. Received: {name}={getattr(self, name)}"
                )
        if self.positional not in POSITIONALS:
            raise ValueError(
                f"expected positional in {', '.join(POSITIONALS)}. "
                f"Received: positional={self.positional!r}"
            )


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed encodings ``sin/cos(pos / 10000^(2i/D))`` added to the embeddings.

    Each pair of dimensions turns at its own frequency, so relative offsets are linear maps
    of the encoding (Vaswani et al., 2017, §3.5). Nothing is learned.

    Shape: ``(B, T, D)`` → ``(B, T, D)`` with ``T <= max_len``.
    """

    encoding: torch.Tensor

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (T, 1)
        frequency = torch.exp(
            torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
        )  # (ceil(D/2),)
        encoding = torch.zeros(max_len, d_model)
        encoding[:, 0::2] = torch.sin(position * frequency)
        encoding[:, 1::2] = torch.cos(position * frequency[: d_model // 2])
        # Not a parameter and recomputed on load: no need to store it with the weights.
        self.register_buffer("encoding", encoding, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.encoding[: x.shape[1]]


class LearnedPositionalEncoding(nn.Module):
    """One trained vector per position. Shape: ``(B, T, D)`` → ``(B, T, D)``."""

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.embedding.weight[: x.shape[1]]


class MultiHeadSelfAttention(nn.Module):
    """``softmax(Q K^T / sqrt(d_k)) V`` in ``num_heads`` subspaces, then one projection.

    Args:
        d_model: width ``D`` of the input and output.
        num_heads: heads ``h``; each head has ``d_k = D / h`` dimensions.
        dropout: on the attention weights.

    Shape:
        - Input: ``x (B, T, D)``; ``padding_mask (B, T)`` bool, True where a token is padding.
        - Output: ``(B, T, D)`` and the weights ``(B, h, T, T)`` (row: query, column: key;
          each row sums to 1 over the non-padding keys).
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(
                f"expected d_model divisible by num_heads. Received: d_model={d_model}, "
                f"num_heads={num_heads}"
            )
        self.num_heads = num_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)  # the three projections in one matmul
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, D = x.shape
        h = self.num_heads
        q, k, v = self.qkv(x).split(D, dim=-1)  # 3 × (B, T, D)
        q = q.view(B, T, h, D // h).transpose(1, 2)  # (B, h, T, d_k)
        k = k.view(B, T, h, D // h).transpose(1, 2)  # (B, h, T, d_k)
        v = v.view(B, T, h, D // h).transpose(1, 2)  # (B, h, T, d_k)
        # Dividing by sqrt(d_k) keeps the dot products' variance near 1, away from the
        # softmax's flat, gradient-less regions (course §44.3.3).
        scores = q @ k.transpose(-2, -1) / math.sqrt(D // h)  # (B, h, T, T)
        if padding_mask is not None:
            # The most negative finite value rather than -inf: a text made only of padding
            # then attends uniformly instead of producing NaN.
            scores = scores.masked_fill(
                padding_mask[:, None, None, :], torch.finfo(scores.dtype).min
            )
        weights = scores.softmax(dim=-1)  # (B, h, T, T)
        context = self.dropout(weights) @ v  # (B, h, T, d_k)
        context = context.transpose(1, 2).reshape(B, T, D)  # (B, T, D)
        return self.out(context), weights


class EncoderBlock(nn.Module):
    """Self-attention then a two-layer MLP, each wrapped in a residual connection.

    Layer normalization is applied before each sub-layer (pre-LN), which trains stably
    without a learning-rate warm-up (Xiong et al., 2020).

    Shape: ``(B, T, D)`` → ``(B, T, D)`` and attention weights ``(B, h, T, T)``.
    """

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attention = MultiHeadSelfAttention(d_model, num_heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.feedforward = nn.Sequential(
            nn.Linear(d_model, dim_feedforward),
            nn.GELU(),
            nn.Linear(dim_feedforward, d_model),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        attended, weights = self.attention(self.norm1(x), padding_mask)
        x = x + self.dropout(attended)
        x = x + self.dropout(self.feedforward(self.norm2(x)))
        return x, weights


class TransformerClassifier(nn.Module):
    """Token ids → embeddings + positions → encoder blocks → masked mean → class logits.

    Args:
        config: a :class:`TransformerConfig`.

    Shape:
        - Input: ``(B, T)`` int64 token ids with ``T <= max_len``, 0 for padding.
        - Output: ``(B, num_classes)`` logits.
    """

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.d_model, padding_idx=PAD_ID)
        self.positional: nn.Module
        if config.positional == "none":
            self.positional = nn.Identity()
        elif config.positional == "sinusoidal":
            self.positional = SinusoidalPositionalEncoding(config.max_len, config.d_model)
        else:
            self.positional = LearnedPositionalEncoding(config.max_len, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            EncoderBlock(config.d_model, config.num_heads, config.dim_feedforward, config.dropout)
            for _ in range(config.num_layers)
        )
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.num_classes)

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32) or x.shape[1] == 0:
            raise ValueError(
                f"expected integer token ids of shape (B, T) with 1 <= T <= {self.config.max_len}. "
                f"Received: shape {tuple(x.shape)}, dtype {x.dtype}"
            )
        if x.shape[1] > self.config.max_len:
            raise ValueError(
                f"expected at most max_len={self.config.max_len} tokens per text, shape "
                f"(B, T <= {self.config.max_len}). Received: shape {tuple(x.shape)}"
            )
        if torch.compiler.is_compiling() or torch.jit.is_tracing():
            return  # export and compilers cannot branch on values; shapes were checked
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.config.vocab_size):
            raise ValueError(
                f"expected token ids in [0, {self.config.vocab_size}). "
                f"Received: ids from {int(x.min())} to {int(x.max())}"
            )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Token representations after the last block, and each block's attention weights.

        Shape: ``(B, T)`` → ``(B, T, D)`` and ``num_layers × (B, h, T, T)``.
        """
        self._check_input(x)
        padding_mask = x == PAD_ID  # (B, T)
        if self.training and self.config.token_dropout > 0:
            # Hiding random words forces the model to use more than a few telltale ones
            # (word dropout, Iyyer et al., 2015); padding stays padding.
            hide = torch.rand(x.shape, device=x.device) < self.config.token_dropout
            x = x.masked_fill(hide & ~padding_mask, UNK_ID)
        # Scaling by sqrt(D) puts the embeddings on the scale of the encodings added next.
        hidden = self.embedding(x) * math.sqrt(self.config.d_model)  # (B, T, D)
        hidden = self.dropout(self.positional(hidden))
        maps = []
        for block in self.blocks:
            hidden, weights = block(hidden, padding_mask)
            maps.append(weights)
        return self.norm(hidden), maps

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of the non-padding token representations. Shape: ``(B, T)`` → ``(B, D)``."""
        hidden, _ = self.encode(x)
        keep = (x != PAD_ID).unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        return (hidden * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The attention weights of every block. Shape: ``(B, T)`` → ``layers × (B, h, T, T)``."""
        return self.encode(x)[1]


def _data_fields(bundle: Any) -> dict[str, Any]:
    return {
        "vocab_size": len(bundle.extra["vocab"]),
        "num_classes": bundle.num_classes,
        "max_len": int(bundle.input_shape[0]),
    }


FAMILY = ModelFamily(
    name="transformer",
    config_class=TransformerConfig,
    module_class=TransformerClassifier,
    task="classification",
    data_fields=_data_fields,
    default_data="fortunes",
    data_tasks=("text-classification",),
)
