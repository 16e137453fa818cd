"""Lab: how much of an MLP can be pruned or stored in int8, and what unstructured sparsity buys.

Course: compression (pruning, quantization) makes a model smaller and faster for deployment.
Measured with profond's own :mod:`profond.compress.prune` and :mod:`profond.compress.quantize`.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (512, 512)
    epochs: int = 12
    lr: float = 1e-3  # Adam
    amounts: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)  # global magnitude pruning, curve
    amount: float = 0.9  # the fraction the rule reads
    finetune_epochs: int = 3  # with the masks attached, so pruned weights stay zero
    max_loss: float = 0.01  # "< 1 point" of test accuracy
    min_size_ratio: float = 3.0  # int8 state dict at least this many times smaller
    max_speedup: float = 1.2  # unstructured sparsity: dense / pruned latency below this
    batch: int = 64
    repeats: int = 200  # forward passes per timing block (median of 5 blocks)


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=30, repeats=1000)
CLAIMS = (
    Claim("most_weights_prunable",
          "Most of a network's weights can be removed by magnitude pruning at almost no loss.",
          "compression; Q116; Q137",
          f"digits test accuracy of a 512-512 MLP before and after global unstructured magnitude "
          f"pruning of {CONFIG.amount:.0%} of its weights, then {CONFIG.finetune_epochs} epochs of "
          "fine-tuning with the masks on",
          f"per seed: accuracy loss ≤ {CONFIG.max_loss:g}", expected="holds"),
    Claim("int8_small_loss",
          "Storing the weights in int8 shrinks the model about 4× at almost no loss.",
          "compression; Q117; Q138",
          "test accuracy and saved state-dict size, float32 vs dynamic int8 quantization",
          f"per seed: accuracy loss ≤ {CONFIG.max_loss:g} and size ratio ≥ {CONFIG.min_size_ratio:g}",
          expected="holds"),
    Claim("unstructured_no_speedup",
          "Unstructured pruning does not speed up inference on a CPU: the zeros are still "
          "multiplied without sparse kernels.", "compression; Q78",
          f"median latency of a batch of {CONFIG.batch} (one thread), dense vs "
          f"{CONFIG.amount:.0%}-pruned model (masks folded into dense tensors)",
          f"per seed: dense / pruned latency < {CONFIG.max_speedup:g}", expected="holds"),
)  # fmt: skip


def _accuracy(model, x, y) -> float:
    import torch

    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def _size(model) -> int:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def _latency(model, x, repeats: int) -> float:
    """Median over 5 blocks of the mean seconds per forward pass."""
    import statistics
    import time

    import torch

    torch.set_num_threads(1)
    blocks = []
    with torch.no_grad():
        for _ in range(3):
            model(x)  # warm-up
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                model(x)
            blocks.append((time.perf_counter() - start) / repeats)
    return statistics.median(blocks)


def _one_seed(c: Config, data, seed: int) -> dict:
    import copy

    from profond.compress.prune import apply_pruning_masks, make_permanent, prune_model, sparsity
    from profond.compress.quantize import quantize_model
    from profond.labs import small_train as st

    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    dense = st.train(setting, data, seed).model
    x, y = data.x_test, data.y_test
    base = _accuracy(dense, x, y)
    curve = [_accuracy(prune_model(dense, a), x, y) for a in c.amounts]
    masked = apply_pruning_masks(copy.deepcopy(dense), c.amount)
    tuned = st.train(setting.but(epochs=c.finetune_epochs), data, seed, model=lambda _d, _s: masked)
    pruned = make_permanent(tuned.model)
    int8 = quantize_model(dense, "dynamic", "mlp")
    batch = x[: c.batch]
    return {
        "dense": base, "pruned_no_finetune": curve, "pruned": _accuracy(pruned, x, y),
        "sparsity": sparsity(pruned), "int8": _accuracy(int8, x, y),
        "size_ratio": _size(dense) / _size(int8),
        "latency_dense_s": _latency(dense, batch, c.repeats),
        "latency_pruned_s": _latency(pruned, batch, c.repeats),
    }  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    runs = [_one_seed(c, data, s) for s in ctx.seeds]
    prune_loss = [r["dense"] - r["pruned"] for r in runs]
    int8_loss = [r["dense"] - r["int8"] for r in runs]
    speedup = [r["latency_dense_s"] / r["latency_pruned_s"] for r in runs]
    figure = _plot(runs, c, ctx)
    return Outcome([
        decide(CLAIMS[0], [loss <= c.max_loss for loss in prune_loss], {"runs": runs, "loss": prune_loss},
               summary=f"dense {fmt_seeds([r['dense'] for r in runs])} → {c.amount:.0%} pruned and "
               f"fine-tuned {fmt_seeds([r['pruned'] for r in runs])} (sparsity "
               f"{fmt_seeds([r['sparsity'] for r in runs])}); without fine-tuning at "
               f"{', '.join(f'{a:.0%}' for a in c.amounts)}: "
               + "; ".join(fmt_seeds(r["pruned_no_finetune"]) for r in runs)),
        decide(CLAIMS[1], [loss <= c.max_loss and r["size_ratio"] >= c.min_size_ratio
                           for loss, r in zip(int8_loss, runs, strict=True)],
               {"loss": int8_loss, "size_ratio": [r["size_ratio"] for r in runs]},
               summary=f"int8 accuracy {fmt_seeds([r['int8'] for r in runs])} (loss "
               f"{fmt_seeds(int8_loss)}), {fmt_seeds([r['size_ratio'] for r in runs])}× smaller"),
        decide(CLAIMS[2], [s < c.max_speedup for s in speedup],
               {"speedup": speedup, "latency_dense_s": [r["latency_dense_s"] for r in runs],
                "latency_pruned_s": [r["latency_pruned_s"] for r in runs]},
               summary=f"dense / pruned latency at batch {c.batch}: {fmt_seeds(speedup)} "
               f"(dense {fmt_seeds([r['latency_dense_s'] * 1e6 for r in runs])} µs; timings on a "
               "shared machine are noisy)"),
    ], [figure])  # fmt: skip


def _plot(runs, c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_p, ax_t) = new_figure(ncols=2)
    seed_lines(ax_p, [0.0, *c.amounts], [[r["dense"], *r["pruned_no_finetune"]] for r in runs],
               "pruned, no fine-tuning")  # fmt: skip
    ax_p.scatter([c.amount] * len(runs), [r["pruned"] for r in runs], color="k", zorder=3,
                 label="pruned + fine-tuned")  # fmt: skip
    ax_p.set_xlabel("fraction of weights pruned")
    ax_p.set_ylabel("test accuracy")
    ax_p.legend(fontsize=7)
    ax_p.grid(alpha=0.3)
    seed_dots(ax_t, {"dense": [r["latency_dense_s"] * 1e6 for r in runs],
                     f"{c.amount:.0%} pruned": [r["latency_pruned_s"] * 1e6 for r in runs]},
              f"µs per batch of {c.batch}")  # fmt: skip
    return finish(fig, ctx.path("pruning_quantization.png"), "Pruning and int8, every seed")


LAB = Lab(
    name="pruning_quantization",
    title="Pruning and int8: most weights can go, but zeros in dense tensors are not faster",
    claims=CLAIMS,
    setup="A 512-512 ReLU MLP trained with Adam on standardized digits (profond's Trainer); "
    "profond.compress's global L1 magnitude pruning at several fractions (no fine-tuning), and "
    "at the rule's fraction with a short fine-tuning with the masks on, then folded in; "
    "profond.compress's dynamic int8 quantization; state-dict sizes in bytes; one-thread "
    "latency of a batch, median of 5 timing blocks.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("pruning", "élagage", "quantization", "quantification", "compression"),
    answers=("Q78", "Q116", "Q117", "Q137", "Q138"),
)
