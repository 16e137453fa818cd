"""Lab: without positional encodings self-attention cannot see order; with them it can, within
the lengths it was trained on.

Course §44.3.3 and Q132: self-attention is invariant to the order of the words, so positions are
added to the embeddings; Q48: beyond the context it was trained on, a model loses the
information. The lab checks the symmetry exactly (permuting the tokens permutes the encoder's
outputs), then trains profond's Transformer classifier on an order-only task: each sequence
holds the two marker tokens A and B once among random fillers, and the label says which comes
first. Without positions, the two orders of the same tokens are the same input, so chance (50 %)
is the best possible; with sinusoidal or learned positions the task is learnable. The
sinusoidal model, trained on 8 tokens, is then tested on 16.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

MARK_A, MARK_B = 2, 3  # token ids of the two markers; 0 is padding, fillers are 4..vocab-1
ARMS = ("sinusoidal", "learned", "none")


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    length: int = 8  # tokens per training sequence
    test_length: int = 16  # the longer sequences of the length-generalisation claim
    vocab: int = 12
    train_size: int = 2000  # 80 % train, 20 % validate
    test_size: int = 1000
    epochs: int = 12
    lr: float = 3e-3  # Adam
    d_model: int = 32
    learns: float = 0.9  # "learns the order": test accuracy at least this
    blind: float = 0.6  # "cannot": test accuracy at most this (chance is 0.5)
    generalisation_drop: float = 0.2  # "loses it beyond the trained length": accuracy falls this
    tol: float = 1e-5


CONFIG = Config()
FAITHFUL = Config(seeds=5, train_size=8000, epochs=30, d_model=64)
COURSE = "§44.3.3; Q132; Q22"


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "attention_ignores_order",
            "Self-attention without positional information is blind to the order of the tokens.",
            COURSE,
            "max |encode(permuted x) - permuted encode(x)| of an encoder without positions",
            f"holds for a seed if below {c.tol:g}",
            expected="holds",
        ),
        Claim(
            "positions_make_order_learnable",
            "Adding positional encodings lets a Transformer learn an order-dependent task that "
            "it cannot learn without them.",
            "§44.3.3; Q132",
            "test accuracy on 'does A come before B', sinusoidal / learned / no positions",
            f"holds for a seed if both encodings reach >= {c.learns:g} and no positions <= {c.blind:g}",
            expected="holds",
        ),
        Claim(
            "lost_beyond_trained_length",
            "Beyond the sequence length it was trained on, a model loses the information.",
            "Q48",
            f"accuracy of the sinusoidal model at {c.test_length} tokens vs {c.length}",
            f"holds for a seed if it drops by at least {c.generalisation_drop:g}",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def order_data(count: int, length: int, vocab: int, seed: int):
    """Sequences with one A and one B among fillers; label 1 if A comes first.

    Shape: returns ``x`` ``(count, length)`` int64 and ``y`` ``(count,)`` int64.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(4, vocab, (count, length), generator=g)
    slots = torch.rand(count, length, generator=g).argsort(dim=1)[:, :2]  # two distinct places
    rows = torch.arange(count)
    x[rows, slots[:, 0]] = MARK_A
    x[rows, slots[:, 1]] = MARK_B
    return x, (slots[:, 0] < slots[:, 1]).long()


def bundle(c: Config, seed: int):
    from profond.data.bundle import DataBundle

    x, y = order_data(c.train_size, c.length, c.vocab, seed)
    x_test, y_test = order_data(c.test_size, c.length, c.vocab, seed + 1_000_003)
    split = int(0.8 * len(x))
    return DataBundle(
        name="order", task="classification", x_train=x[:split], y_train=y[:split],
        x_val=x[split:], y_val=y[split:], x_test=x_test, y_test=y_test,
        input_shape=(c.length,), classes=["B first", "A first"],
    )  # fmt: skip


def make_model(positional: str, c: Config, seed: int):
    """profond's Transformer classifier with ``positional`` sinusoidal, learned or none."""
    import torch

    from profond.models.transformer import TransformerClassifier, TransformerConfig

    torch.manual_seed(seed)
    config = TransformerConfig(
        vocab_size=c.vocab, num_classes=2, max_len=c.test_length, d_model=c.d_model,
        num_heads=2, num_layers=2, dim_feedforward=2 * c.d_model, dropout=0.0,
        positional=positional,
    )  # fmt: skip
    return TransformerClassifier(config)


def permutation_error(c: Config, seed: int) -> float:
    import torch

    model = make_model("none", c, seed).eval()
    x, _ = order_data(16, c.length, c.vocab, seed)
    perm = torch.randperm(c.length, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        encoded, _ = model.encode(x)
        encoded_perm, _ = model.encode(x[:, perm])
    return float((encoded_perm - encoded[:, perm]).abs().max())


def train_arm(positional: str, c: Config, seed: int, data) -> dict[str, Any]:
    import torch

    from profond.labs.small_train import Setting, train

    setting = Setting(optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64)
    run = train(setting, data, seed, model=lambda d, s: make_model(positional, c, s))
    x_long, y_long = order_data(c.test_size, c.test_length, c.vocab, seed + 2_000_003)
    with torch.no_grad():
        long_accuracy = float((run.model(x_long).argmax(1) == y_long).float().mean())
    return {"accuracy": run.test["test_accuracy"], "long_accuracy": long_accuracy,
            "val_accuracy": run.history["val_accuracy"]}  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    claims = _claims(c)
    errors = [permutation_error(c, s) for s in ctx.seeds]
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    for seed in ctx.seeds:
        data = bundle(c, seed)
        for arm in ARMS:
            runs[arm].append(train_arm(arm, c, seed, data))
    acc = {arm: [r["accuracy"] for r in rs] for arm, rs in runs.items()}
    long = [r["long_accuracy"] for r in runs["sinusoidal"]]
    learnable = [
        s >= c.learns and le >= c.learns and n <= c.blind
        for s, le, n in zip(acc["sinusoidal"], acc["learned"], acc["none"], strict=True)
    ]
    drops = [a - b for a, b in zip(acc["sinusoidal"], long, strict=True)]
    verdicts = [
        decide(claims[0], [e < c.tol for e in errors], {"max_error": errors},
               summary=f"permutation error {fmt_seeds(errors)}."),
        decide(claims[1], learnable, {"test_accuracy": acc},
               summary="test accuracy per seed: " + "; ".join(f"{a} {fmt_seeds(v)}" for a, v in acc.items()) + "."),
        decide(claims[2], [d >= c.generalisation_drop for d in drops],
               {"accuracy_trained_length": acc["sinusoidal"], "accuracy_long": long},
               summary=f"sinusoidal: {fmt_seeds(acc['sinusoidal'])} at {c.length} tokens, "
               f"{fmt_seeds(long)} at {c.test_length}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, c, ctx)])


def _plot(runs: dict, c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_curve, ax_bar) = new_figure(ncols=2, width=5.2)
    for arm, rs in runs.items():
        curves = [r["val_accuracy"] for r in rs]
        seed_lines(ax_curve, list(range(1, len(curves[0]) + 1)), curves, f"positions: {arm}")
    ax_curve.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    ax_curve.set_xlabel("epoch")
    ax_curve.set_ylabel("validation accuracy")
    ax_curve.legend(fontsize=8)
    ax_curve.grid(True, alpha=0.3)
    groups = {f"{a} ({c.length})": [r["accuracy"] for r in rs] for a, rs in runs.items()}
    groups[f"sinusoidal ({c.test_length})"] = [r["long_accuracy"] for r in runs["sinusoidal"]]
    seed_dots(ax_bar, groups, ylabel="test accuracy")
    return finish(fig, ctx.path("positional_encoding.png"), "Which marker comes first? (chance 0.5)")  # fmt: skip


LAB = Lab(
    name="positional_encoding",
    title="Positional encodings: order is invisible to attention without them",
    claims=CLAIMS,
    setup=(
        "Generated sequences of 8 tokens holding markers A and B once among random fillers; the "
        "label says which marker comes first. profond's Transformer classifier (2 blocks, width "
        "32, no dropout) with sinusoidal, learned or no positions, trained by the Trainer "
        "(Adam 3e-3, 12 epochs, 1 600 training sequences, same data for every arm); the sinusoidal "
        "model is also tested on 16-token sequences."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "positional encoding",
        "encodage positionnel",
        "self-attention",
        "word order",
        "ordre des mots",
    ),  # fmt: skip
    answers=("Q22", "Q48", "Q121", "Q132"),
)
