"""Lab: does self-attention cost grow quadratically with the sequence length, and is it faster
than a recurrent layer?

Course §44.3.3 and its table of architectures: attention's cost is quadratic in the length of the
sequence (Q133), and Transformers, being parallel, train faster than RNNs (Q21, Q46, Q131). The lab
times one forward and backward pass of profond's multi-head self-attention, of a whole encoder
block and of an LSTM layer of the same width on random sequences of growing length, and measures
the memory kept for the backward pass (the bytes of every tensor autograd saves). Exponents are
least-squares slopes in log-log coordinates over the long lengths (and, for the block, over the
short ones, where its linear projections and feed-forward layers dominate).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    lengths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048)
    d_model: int = 64  # width D of every token
    num_heads: int = 4
    batch_size: int = 1
    repeats: int = 5  # timed passes per length; the fastest is kept (least disturbed by others)
    long_from: int = 512  # the "long" lengths (T >= 8 D) the exponents are fitted on
    short_to: int = 128  # the "short" lengths (T <= 2 D) of the encoder block's exponent
    # pre-registered rule (fixed before the first run): "quadratic" when the fitted exponent
    # lies in this closed band
    quadratic: tuple[float, float] = (1.7, 2.3)
    rnn_compare_from: int = 1024  # lengths at which attention and LSTM are compared


CONFIG = Config()
FAITHFUL = Config(seeds=5, lengths=(32, 64, 128, 256, 512, 1024, 2048, 4096), repeats=9)
COURSE = "§44.3.3; Q133; Q134"
ARMS = ("attention", "encoder block", "lstm")


def _claims(c: Config) -> tuple[Claim, ...]:
    low, high = c.quadratic
    return (
        Claim(
            "attention_time_quadratic",
            "The time of self-attention grows quadratically with the sequence length.",
            COURSE,
            f"log-log slope of forward+backward time against T, for T >= {c.long_from}",
            f"holds for a seed if the slope is in [{low:g}, {high:g}]",
            expected="holds",
        ),
        Claim(
            "attention_memory_quadratic",
            "The memory of self-attention grows quadratically with the sequence length.",
            COURSE,
            f"log-log slope of the bytes saved for backward against T, for T >= {c.long_from}",
            f"holds for a seed if the slope is in [{low:g}, {high:g}]",
            expected="holds",
        ),
        Claim(
            "block_quadratic_at_short_lengths",
            "A Transformer layer's cost is quadratic in the sequence length, at any length.",
            "§44.3.3 (table of architectures); Q133",
            f"log-log slope of an encoder block's time for T <= {c.short_to} (= 2 D)",
            f"holds for a seed if the slope is in [{low:g}, {high:g}]",
            expected="does not hold",
        ),
        Claim(
            "attention_faster_than_rnn",
            "Being parallel, attention processes long sequences faster than a recurrent layer.",
            "Q21; Q46; Q131",
            f"encoder block time over LSTM time (same width), at T >= {c.rnn_compare_from}",
            "holds for a seed if the block is faster at every such length",
            expected="subtle",
        ),
    )


CLAIMS = _claims(CONFIG)


def _layer(arm: str, config: Config, seed: int):
    import torch
    from torch import nn

    from profond.models.transformer import EncoderBlock, MultiHeadSelfAttention

    torch.manual_seed(seed)
    if arm == "attention":
        return MultiHeadSelfAttention(config.d_model, config.num_heads)
    if arm == "encoder block":
        return EncoderBlock(config.d_model, config.num_heads, 2 * config.d_model, dropout=0.0)
    return nn.LSTM(config.d_model, config.d_model, batch_first=True)


def measure(arm: str, length: int, config: Config, seed: int) -> dict[str, float]:
    """Fastest forward+backward seconds and bytes saved for backward, for one layer and length.

    The minimum over repeats, as ``timeit`` advises: other processes only ever add time.

    Shape: the layer reads ``(batch_size, length, d_model)`` random inputs.
    """
    import torch

    layer = _layer(arm, config, seed)
    generator = torch.Generator().manual_seed(seed * 7919 + length)
    x = torch.randn(config.batch_size, length, config.d_model, generator=generator)
    x.requires_grad_(True)
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        # count each storage once: the same tensor may be saved by several operations
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    def step(count_memory: bool) -> None:
        if count_memory:
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                out = layer(x)[0]
        else:
            out = layer(x)[0]
        out.sum().backward()

    step(count_memory=True)  # also the warm-up
    times = []
    for _ in range(config.repeats):
        start = time.perf_counter()
        step(count_memory=False)
        times.append(time.perf_counter() - start)
    return {"seconds": float(min(times)), "bytes": float(sum(saved.values()))}


def slope(lengths: list[int], values: list[float]) -> float:
    """Least-squares slope of ``log(values)`` against ``log(lengths)``: the fitted exponent."""
    return float(np.polyfit(np.log(lengths), np.log(values), 1)[0])


def measure_seed(config: Config, seed: int) -> dict[str, dict[str, list[float]]]:
    """Every arm at every length: ``{arm: {"seconds": [...], "bytes": [...]}}``."""
    import torch

    torch.set_num_threads(1)  # exponents are clearer without thread scheduling noise
    out: dict[str, dict[str, list[float]]] = {}
    for arm in ARMS:
        rows = [measure(arm, t, config, seed) for t in config.lengths]
        out[arm] = {key: [r[key] for r in rows] for key in ("seconds", "bytes")}
    return out


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    claims = _claims(c)
    runs = [measure_seed(c, seed) for seed in ctx.seeds]
    lengths = list(c.lengths)
    long = [i for i, t in enumerate(lengths) if t >= c.long_from]
    short = [i for i, t in enumerate(lengths) if t <= c.short_to]

    def fit(arm: str, key: str, index: list[int]) -> list[float]:
        return [slope([lengths[i] for i in index], [r[arm][key][i] for i in index]) for r in runs]

    def quadratic(values: list[float]) -> list[bool]:
        return [c.quadratic[0] <= v <= c.quadratic[1] for v in values]

    time_slopes = fit("attention", "seconds", long)
    memory_slopes = fit("attention", "bytes", long)
    short_slopes = fit("encoder block", "seconds", short)
    compare = [i for i, t in enumerate(lengths) if t >= c.rnn_compare_from]
    ratios = [[r["encoder block"]["seconds"][i] / r["lstm"]["seconds"][i] for i in compare] for r in runs]  # fmt: skip
    lstm_slopes = fit("lstm", "seconds", long)
    verdicts = [
        decide(claims[0], quadratic(time_slopes),
               {"slope_per_seed": time_slopes, "lengths": lengths,
                "seconds_per_seed": [r["attention"]["seconds"] for r in runs]},
               summary=f"attention time exponent {fmt_seeds(time_slopes)} (T >= {c.long_from})."),
        decide(claims[1], quadratic(memory_slopes),
               {"slope_per_seed": memory_slopes,
                "bytes_per_seed": [r["attention"]["bytes"] for r in runs]},
               summary=f"attention memory exponent {fmt_seeds(memory_slopes)} (T >= {c.long_from})."),
        decide(claims[2], quadratic(short_slopes),
               {"slope_per_seed": short_slopes,
                "seconds_per_seed": [r["encoder block"]["seconds"] for r in runs]},
               summary=f"encoder block time exponent {fmt_seeds(short_slopes)} for T <= "
               f"{c.short_to} (attention's own: {fmt_seeds(fit('attention', 'seconds', short))})."),
        decide(claims[3], [all(x < 1.0 for x in row) for row in ratios],
               {"block_over_lstm_time": ratios, "lengths": [lengths[i] for i in compare],
                "lstm_exponent_per_seed": lstm_slopes},
               summary="encoder block / LSTM time at T = "
               f"{', '.join(str(lengths[i]) for i in compare)}: "
               + "; ".join(fmt_seeds(row) for row in ratios)
               + f" (LSTM time exponent {fmt_seeds(lstm_slopes)})."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, c, ctx)])


def _plot(runs: list[dict[str, dict[str, list[float]]]], c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_time, ax_memory) = new_figure(ncols=2, width=5.5)
    lengths = list(c.lengths)
    for arm in ARMS:
        color = ax_time._get_lines.get_next_color()
        seed_lines(ax_time, lengths, [r[arm]["seconds"] for r in runs], arm, color, log=True)
        mib = [[b / 2**20 for b in r[arm]["bytes"]] for r in runs]
        seed_lines(ax_memory, lengths, mib, arm, color, log=True)
    for ax, label in ((ax_time, "forward + backward time (s)"), (ax_memory, "saved for backward (MiB)")):  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sequence length T")
        ax.set_ylabel(label)
        ax.axvline(c.long_from, color="grey", linestyle=":", linewidth=1)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    title = f"Cost vs length (D = {c.d_model}, batch {c.batch_size}, 1 thread); fits right of the dotted line"  # fmt: skip
    return finish(fig, ctx.path("cost_vs_length.png"), title)


LAB = Lab(
    name="attention_cost_vs_length",
    title="Attention cost vs sequence length: fitted exponents of time and memory",
    claims=CLAIMS,
    setup=(
        "Random sequences (batch 1, width 64) of 32 to 2 048 steps through profond's multi-head "
        "self-attention, a full encoder block and an nn.LSTM of the same width, one thread. Time: "
        "fastest of 5 forward+backward passes after a warm-up; memory: bytes of the tensors "
        "autograd saves for backward. Exponents are log-log least-squares slopes."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "attention cost",
        "coût de l'attention",
        "quadratic",
        "quadratique",
        "sequence length",
        "longueur de séquence",
    ),  # fmt: skip
    answers=("Q21", "Q46", "Q131", "Q133", "Q134"),
)
