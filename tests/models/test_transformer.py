"""The Transformer classifier: attention against PyTorch's, masks, shapes, a task only order solves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from profond.data.registry import DataOptions, load_dataset
from profond.data.text import CATEGORIES
from profond.inference.inputs import prepare_input
from profond.models import build_model, get_family, make_config
from profond.models.bag_of_embeddings import BagOfEmbeddings, BagOfEmbeddingsConfig
from profond.models.saved import ModelCard
from profond.models.transformer import (
    MultiHeadSelfAttention,
    SinusoidalPositionalEncoding,
    TransformerClassifier,
    TransformerConfig,
)
from profond.train.config import TrainConfig
from profond.train.figures_sequence import attention_figure
from profond.train.tasks import task_class
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_attention_matches_pytorch_multihead_attention() -> None:
    torch.manual_seed(0)
    ours = MultiHeadSelfAttention(d_model=16, num_heads=4).eval()
    reference = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(ours.qkv.weight)
        reference.in_proj_bias.copy_(ours.qkv.bias)
        reference.out_proj.weight.copy_(ours.out.weight)
        reference.out_proj.bias.copy_(ours.out.bias)
    x = torch.randn(3, 7, 16)
    padding = torch.zeros(3, 7, dtype=torch.bool)
    padding[1, 4:] = True
    with torch.no_grad():
        out, weights = ours(x, padding)
        expected, expected_weights = reference(
            x, x, x, key_padding_mask=padding, need_weights=True, average_attn_weights=False
        )
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(weights, expected_weights, atol=1e-6, rtol=1e-5)
    assert weights.shape == (3, 4, 7, 7)
    assert float(weights[1, :, :, 4:].abs().max()) == 0.0  # padding gets no attention
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, 7))


def test_sinusoidal_encoding_values() -> None:
    encoding = SinusoidalPositionalEncoding(max_len=10, d_model=6).encoding
    assert encoding.shape == (10, 6)
    assert float(encoding[3, 0]) == pytest.approx(torch.sin(torch.tensor(3.0)).item())
    assert float(encoding[3, 3]) == pytest.approx(
        torch.cos(torch.tensor(3 / 10000 ** (2 / 6))).item()
    )


@pytest.mark.parametrize("positional", ["sinusoidal", "learned", "none"])
def test_shapes_attention_maps_and_padding_invariance(positional) -> None:
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=30, num_classes=5, max_len=16, d_model=16, num_heads=2, num_layers=3, positional=positional)  # fmt: skip
    model = TransformerClassifier(config).eval()
    x = torch.tensor([[5, 6, 7, 8, 0, 0, 0, 0], [9, 10, 11, 12, 13, 14, 15, 16]])
    logits = model(x)
    assert logits.shape == (2, 5)
    assert model.features(x).shape == (2, 16)
    maps = model.attention_maps(x)
    assert len(maps) == 3 and maps[0].shape == (2, 2, 8, 8)
    # The same text padded to another length gives the same logits.
    longer = torch.cat([x[:1], torch.zeros(1, 8, dtype=torch.int64)], dim=1)
    torch.testing.assert_close(model(longer), logits[:1], atol=1e-5, rtol=1e-5)
    # A text of padding only still gives finite logits.
    assert torch.isfinite(model(torch.zeros(1, 4, dtype=torch.int64))).all()


def test_without_positions_the_encoder_is_blind_to_order() -> None:
    torch.manual_seed(0)
    x = torch.randint(2, 20, (3, 8))
    perm = torch.randperm(8)
    for positional, blind in (("none", True), ("sinusoidal", False)):
        config = TransformerConfig(vocab_size=20, max_len=8, d_model=16, num_heads=2, positional=positional)  # fmt: skip
        model = TransformerClassifier(config).eval()
        with torch.no_grad():
            permuted_out = model.encode(x[:, perm])[0]
            out = model.encode(x)[0][:, perm]
        assert torch.allclose(permuted_out, out, atol=1e-5) == blind
    assert sum(p.numel() for p in TransformerClassifier(TransformerConfig(positional="none")).positional.parameters()) == 0  # fmt: skip


def test_token_dropout_hides_words_in_training_only() -> None:
    torch.manual_seed(0)
    config = TransformerConfig(vocab_size=20, max_len=12, d_model=8, num_heads=2, dropout=0.0, token_dropout=0.5)  # fmt: skip
    model = TransformerClassifier(config)
    x = torch.randint(2, 20, (4, 12))
    seen = []
    model.embedding.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    model.train()(x)
    hidden = seen[-1] == 1  # replaced by <unk>
    assert 0.2 < float(hidden.float().mean()) < 0.8 and torch.equal(seen[-1][~hidden], x[~hidden])
    model.eval()(x)
    assert torch.equal(seen[-1], x)
    with pytest.raises(ValueError, match="token_dropout=1.0"):
        TransformerConfig(token_dropout=1.0)


def test_wrong_inputs_name_the_expected_shape() -> None:
    model = TransformerClassifier(
        TransformerConfig(vocab_size=10, max_len=8, d_model=8, num_heads=2)
    )
    with pytest.raises(ValueError, match=r"shape \(B, T\).*Received: shape \(2, 4, 1\)"):
        model(torch.ones(2, 4, 1, dtype=torch.int64))
    with pytest.raises(ValueError, match="dtype torch.float32"):
        model(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"max_len=8 .*Received: shape \(1, 9\)"):
        model(torch.ones(1, 9, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"ids in \[0, 10\)"):
        model(torch.tensor([[1, 10]]))
    with pytest.raises(ValueError, match="d_model=10, num_heads=4"):
        TransformerConfig(d_model=10, num_heads=4)
    with pytest.raises(ValueError, match="positional='rotary'"):
        TransformerConfig(positional="rotary")


def _order_task(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts holding tokens 3 and 4 once each, among fillers: the class is which comes first.

    Both classes have exactly the same bag of tokens, so only word order can tell them apart.
    """
    x = torch.randint(5, 12, (n, 8), generator=generator)
    y = torch.randint(0, 2, (n,), generator=generator)
    for i in range(n):
        first, second = sorted(torch.randperm(8, generator=generator)[:2].tolist())
        x[i, first], x[i, second] = (3, 4) if y[i] == 0 else (4, 3)
    return x, y


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(epochs):
        for start in range(0, len(x), 32):
            loss = F.cross_entropy(model(x[start : start + 32]), y[start : start + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()


def test_transformer_learns_word_order_that_a_bag_of_embeddings_cannot_see() -> None:
    generator = torch.Generator().manual_seed(0)
    x_train, y_train = _order_task(512, generator)
    x_test, y_test = _order_task(256, generator)
    torch.manual_seed(0)
    transformer = TransformerClassifier(
        TransformerConfig(
            vocab_size=12,
            num_classes=2,
            max_len=8,
            d_model=32,
            num_heads=2,
            num_layers=2,
            dim_feedforward=64,
            dropout=0.0,
        )  # fmt: skip
    )
    bag = BagOfEmbeddings(
        BagOfEmbeddingsConfig(vocab_size=12, num_classes=2, embed_dim=32, dropout=0.0)
    )
    _train(transformer, x_train, y_train, epochs=25)
    _train(bag, x_train, y_train, epochs=25)
    with torch.no_grad():
        transformer_accuracy = float((transformer(x_test).argmax(1) == y_test).float().mean())
        bag_accuracy = float((bag(x_test).argmax(1) == y_test).float().mean())
    assert transformer_accuracy > 0.9, transformer_accuracy
    assert bag_accuracy < 0.65, bag_accuracy  # chance level: the bags are identical


def test_bag_of_embeddings_ignores_padding_and_checks_input() -> None:
    torch.manual_seed(0)
    bag = BagOfEmbeddings(BagOfEmbeddingsConfig(vocab_size=20, num_classes=3, embed_dim=8)).eval()
    short = torch.tensor([[4, 5, 6]])
    padded = torch.tensor([[4, 0, 5, 6, 0, 0]])
    assert bag(short).shape == (1, 3)
    torch.testing.assert_close(bag(padded), bag(short))
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        bag(torch.ones(3, dtype=torch.int64))


def test_family_is_registered_and_attention_figure_is_written(tmp_path) -> None:
    family = get_family("transformer")
    assert family.task == "classification" and family.data_tasks == ("text-classification",)
    model = TransformerClassifier(
        TransformerConfig(vocab_size=8, max_len=6, d_model=8, num_heads=2)
    )
    vocab = ["<pad>", "<unk>", "the", "cat", "sat", ".", "on", "mat"]
    path = attention_figure(
        model, torch.tensor([2, 3, 4, 5, 0, 0]), vocab, tmp_path / "attention.png"
    )
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="one text"):
        attention_figure(model, torch.ones(2, 6, dtype=torch.int64), vocab, tmp_path / "x.png")


FORTUNES = all((Path("/usr/share/games/fortunes") / name).is_file() for name in CATEGORIES)


def _fortunes_run(
    data, overrides: dict[str, str], config: TrainConfig, tmp_path
) -> tuple[nn.Module, Any]:
    family = get_family("transformer")
    model = build_model("transformer", make_config(family, family.data_fields(data), overrides))
    task = task_class(family.task)(data)
    return model, Trainer(config, figures_dir=tmp_path).fit(model, task, data)


@pytest.mark.skipif(
    not FORTUNES,
    reason="needs the Debian package(s) fortunes fortunes-min: apt-get install -y fortunes fortunes-min",
)
def test_transformer_trains_on_fortunes_through_the_trainer(tmp_path) -> None:
    data = load_dataset("fortunes", DataOptions(max_len=32, limit=2000))
    overrides = {"d_model": "32", "num_heads": "2", "num_layers": "1", "dim_feedforward": "64"}
    config = TrainConfig(epochs=4, batch_size=64, lr=2e-3, seed=0, device="cpu")
    model, result = _fortunes_run(data, overrides, config, tmp_path)
    # Seven collections: chance is about 1/7 (the largest class is under a quarter).
    assert result.test_metrics["test_accuracy"] > 0.4, result.test_metrics
    card = ModelCard(family="transformer", task="classification", data="fortunes", config={}, input_shape=[32], classes=data.classes, extra=data.extra)  # fmt: skip
    x = prepare_input(task_class("classification"), "Beam me up, Scotty! -- Kirk", card)
    with torch.no_grad():
        answer = task_class("classification").format_prediction(model.eval()(x), card)
    assert answer[0]["label"] in CATEGORIES
    path = attention_figure(model, x[0], data.extra["vocab"], tmp_path / "attention.png")
    assert path.stat().st_size > 1000


class AccuracyMonitored(ClassificationTask):
    """Keeps the epoch of best validation accuracy (the loss of a confident model rises early)."""

    monitor = "accuracy"
    monitor_mode = "max"


@pytest.mark.slow
@pytest.mark.skipif(
    not FORTUNES,
    reason="needs the Debian package(s) fortunes fortunes-min: apt-get install -y fortunes fortunes-min",
)
def test_transformer_beats_bag_of_embeddings_on_fortunes() -> None:
    data = load_dataset("fortunes", DataOptions(max_len=64))
    base = {
        "epochs": 20,
        "batch_size": 64,
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "patience": 20,
    }
    overrides = {"d_model": "64", "num_heads": "2", "num_layers": "2", "dim_feedforward": "128", "dropout": "0.5"}  # fmt: skip
    torch.manual_seed(0)
    family = get_family("transformer")
    model = build_model("transformer", make_config(family, family.data_fields(data), overrides))
    result = Trainer(TrainConfig(**base, lr=3e-3, device="cpu")).fit(
        model, AccuracyMonitored(data), data
    )
    torch.manual_seed(0)
    bag = BagOfEmbeddings(BagOfEmbeddingsConfig(vocab_size=len(data.extra["vocab"]), num_classes=data.num_classes, embed_dim=128, dropout=0.3))  # fmt: skip
    baseline = Trainer(TrainConfig(**base, lr=1e-2, device="cpu")).fit(
        bag, AccuracyMonitored(data), data
    )
    accuracy, bag_accuracy = (
        result.test_metrics["test_accuracy"],
        baseline.test_metrics["test_accuracy"],
    )
    assert accuracy > bag_accuracy, (accuracy, bag_accuracy)
