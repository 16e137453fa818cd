"""Lab: what the batch size changes — steps, gradient noise, speed, and (not) generalization.

Course Q33/Q36/C14 (small batches are noisier and generalize better; large ones "risk
overfitting"), C19 (batch sizes should be powers of 2 for efficiency), C20 (an epoch with
batches of 16 makes N/16 updates), TP Q3 (vectorized batches compute faster). The
generalization claim is decided twice: at one shared learning rate and number of epochs (where
the small batch also makes 16× more updates), and with each batch size's lr tuned on validation
and the same number of updates.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds
from profond.train.callbacks import Callback


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (64, 64)
    noise_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    noise_draws: int = 40  # mini-batches drawn (with replacement) per batch size
    slope_tolerance: float = 0.15  # gradient variance ∝ B^-1: log-log slope -1 ± this
    vector_speedup: float = 10.0  # B = 1 time per sample at least this × B = 64's
    vector_examples: int = 320  # examples in the timed B = 1 and B = 64 epochs
    timing_width: int = 256  # wider MLP for the 63/64/65 timing, so compute dominates
    timing_epochs: int = 2  # epochs timed per batch size (median per sample)
    power_of_two_gain: float = 0.10  # "powers of 2 are faster": 64 beats 63 and 65 by 10 %
    small: int = 16
    large: int = 128
    shared_lr: float = 0.1
    shared_epochs: int = 5
    lr_grid: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    small_epochs: int = 5  # the large batch gets large/small × as many epochs: equal updates
    gap_margin: float = 0.01  # test accuracy: smallest small-batch advantage that counts


CONFIG = Config()
FAITHFUL = Config(
    seeds=5,
    noise_draws=200,
    timing_epochs=7,
    large=256,
    shared_epochs=20,
    lr_grid=(0.01, 0.03, 0.1, 0.3, 1.0),
    small_epochs=20,
)
CLAIMS = (
    Claim("updates_n_over_16", "An epoch with batches of 16 makes N/16 parameter updates.", "C20",
          "optimizer steps counted during one epoch of N = 1 150 examples with batches of 16",
          "per seed: the count equals N/16 (it is an integer only if 16 divides N)",
          expected="does not hold"),
    Claim("small_batch_noisier",
          "Smaller batches give noisier gradients: the variance falls as 1/B.", "Q33; Q36; C14",
          "mean squared distance between mini-batch and full-batch gradients at initialization, "
          "batch sizes 1…64 (log-log slope)",
          f"per seed: slope within -1 ± {CONFIG.slope_tolerance:g}", expected="holds"),
    Claim("batches_vectorize",
          "Computing on batches is faster per example than one example at a time.", "TP Q3; C14",
          f"median seconds per example between two training steps, one epoch of {CONFIG.vector_examples} examples at B = 1 and B = 64",
          f"per seed: B = 1 is at least {CONFIG.vector_speedup:g}× slower per example",
          expected="holds"),
    Claim("powers_of_two_faster", "Batch sizes that are powers of 2 are more efficient.", "C19",
          f"seconds per example of a {CONFIG.timing_width}-{CONFIG.timing_width} MLP epoch at "
          "B = 63, 64, 65 (median time between steps, one CPU thread)",
          f"per seed: B = 64 is faster than both neighbours by more than "
          f"{CONFIG.power_of_two_gain:.0%}", expected="does not hold"),
    Claim("small_batch_generalizes_shared_lr",
          "Small batches generalize better than large ones (same lr, same epochs).", "Q33; Q36; C14",
          f"test accuracy of B = {CONFIG.small} vs B = {CONFIG.large}, SGD at lr "
          f"{CONFIG.shared_lr:g}, {CONFIG.shared_epochs} epochs each",
          f"per seed: small minus large exceeds max({CONFIG.gap_margin:g}, 2 × pooled seed std)",
          expected="holds"),
    Claim("small_batch_generalizes_tuned",
          "Small batches generalize better than large ones, once each batch size has its tuned lr "
          "and the same number of updates.", "Q33; Q36; C14",
          f"test accuracy of B = {CONFIG.small} ({CONFIG.small_epochs} epochs) vs B = "
          f"{CONFIG.large} (same number of updates), each SGD lr tuned on validation",
          f"per seed: small minus large exceeds max({CONFIG.gap_margin:g}, 2 × pooled seed std)",
          expected="does not hold"),
)  # fmt: skip


class _StepTimer(Callback):
    """Trainer callback: the wall time between consecutive steps within an epoch."""

    def __init__(self) -> None:
        self.stamps: list[tuple[int, float]] = []

    def on_batch_end(self, trainer, epoch, batch, num_batches) -> None:
        self.stamps.append((epoch, time.perf_counter()))

    def gaps(self) -> list[float]:
        pairs = zip(self.stamps, self.stamps[1:], strict=False)
        return [b[1] - a[1] for a, b in pairs if a[0] == b[0]]


class _StepCounter(Callback):
    """Trainer callback: counts the optimizer steps (one per batch)."""

    def __init__(self) -> None:
        self.steps = 0

    def on_batch_end(self, trainer, epoch, batch, num_batches) -> None:
        self.steps += 1


def _gradient_noise(c: Config, setting, data, seed: int) -> dict:
    """Mean ‖g_B − g‖² per batch size at initialization, and the log-log slope."""
    import numpy as np
    import torch

    from profond.labs import small_train as st
    from profond.train.tasks.classification import ClassificationTask

    model, task = st.build_model(setting, data, seed), ClassificationTask(data)
    params = list(model.parameters())

    def grad(x, y) -> torch.Tensor:
        loss = task.training_step(model, x, y)
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])

    full = grad(data.x_train, data.y_train)
    generator = torch.Generator().manual_seed(seed)
    variance = []
    for b in c.noise_batches:
        draws = [torch.randint(len(data.x_train), (b,), generator=generator) for _ in range(c.noise_draws)]  # fmt: skip
        variance.append(float(np.mean([(grad(data.x_train[i], data.y_train[i]) - full).square().sum().item() for i in draws])))  # fmt: skip
    slope = float(np.polyfit(np.log(c.noise_batches), np.log(variance), 1)[0])
    return {"variance": variance, "slope": slope}


def _per_sample_seconds(setting, data, seed: int, batch: int, epochs: int) -> float:
    """Median seconds between two optimizer steps, per example (validation time excluded)."""
    from profond.labs import small_train as st

    timer = _StepTimer()
    st.train(
        setting.but(batch_size=batch, epochs=epochs),
        data,
        seed,
        callbacks=[timer],
        task=sweeps.lean_task,
    )
    return statistics.median(timer.gaps()) / batch


def _timing(c: Config, base, data, seed: int) -> dict:

    wide = base.but(model_options={"hidden_sizes": (c.timing_width, c.timing_width)}, lr=0.01)
    out = {f"b{b}": _per_sample_seconds(wide, data, seed, b, c.timing_epochs) for b in (63, 64, 65)}
    few = sweeps.subset(data, c.vector_examples, seed)  # B = 1 pays per step: time fewer steps
    out["b1"] = _per_sample_seconds(base.but(lr=0.01), few, seed, 1, 1)
    out["b64_small"] = _per_sample_seconds(base.but(lr=0.01), few, seed, 64, 1)
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    n = len(data.x_train)
    base = st.Setting(optimizer="sgd", model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    counts = []
    for seed in ctx.seeds:
        counter = _StepCounter()
        st.train(
            base.but(batch_size=16, epochs=1),
            data,
            seed,
            callbacks=[counter],
            task=sweeps.lean_task,
        )
        counts.append(counter.steps)
    noise = [_gradient_noise(c, base, data, s) for s in ctx.seeds]
    timing = [_timing(c, base, data, s) for s in ctx.seeds]
    shared = {b: st.over_seeds(base.but(batch_size=b, lr=c.shared_lr, epochs=c.shared_epochs), data, ctx.seeds, task=sweeps.lean_task) for b in (c.small, c.large)}  # fmt: skip
    tuned, tuned_lr = {}, {}
    for b, epochs in ((c.small, c.small_epochs), (c.large, c.small_epochs * c.large // c.small)):
        t, runs = st.tuned_over_seeds(base.but(batch_size=b, epochs=epochs), data, ctx.seeds, c.lr_grid, metric="val_error", task=sweeps.lean_task)  # fmt: skip
        tuned[b], tuned_lr[b] = runs, t.lr
    acc = {k: {b: [r.test.get("test_accuracy", 0.0) for r in rs] for b, rs in v.items()} for k, v in (("shared", shared), ("tuned", tuned))}  # fmt: skip
    gaps = {k: compare(v[c.small], v[c.large], margin=c.gap_margin) for k, v in acc.items()}
    figure = _plot(c, noise, timing, acc, ctx)
    p2 = [t["b64"] * (1 + c.power_of_two_gain) < min(t["b63"], t["b65"]) for t in timing]
    speedup = [t["b1"] / t["b64_small"] for t in timing]
    return Outcome([
        decide(CLAIMS[0], [k == n / 16 for k in counts], {"steps": counts, "n": n, "n_over_16": n / 16, "ceil": math.ceil(n / 16)},
               summary=f"{counts[0]} steps per epoch for N = {n}: ⌈N/16⌉ = {math.ceil(n / 16)}, N/16 = {n / 16:g}"),
        decide(CLAIMS[1], [abs(v["slope"] + 1) <= c.slope_tolerance for v in noise], {"batch_sizes": c.noise_batches, "per_seed": noise},
               summary=f"log-log slope of gradient variance vs B: {fmt_seeds([v['slope'] for v in noise])}"),
        decide(CLAIMS[2], [s >= c.vector_speedup for s in speedup], {"per_seed": timing, "speedup": speedup},
               summary=f"B = 1 is {fmt_seeds(speedup)}× slower per example than B = 64 (noisy: shared CPU)"),
        decide(CLAIMS[3], p2, {"per_seed": timing},
               summary="µs per example at B = 63 / 64 / 65: " + "; ".join(
                   f"{t['b63'] * 1e6:.1f} / {t['b64'] * 1e6:.1f} / {t['b65'] * 1e6:.1f}" for t in timing)),
        decide(CLAIMS[4], gaps["shared"].greater(), gaps["shared"].to_json(),
               summary=f"shared lr {c.shared_lr:g}: B = {c.small} tests {fmt_seeds(gaps['shared'].a)} vs B = {c.large} "
               f"{fmt_seeds(gaps['shared'].b)} (mean gap {gaps['shared'].mean_diff:+.4f}, counts beyond {gaps['shared'].threshold:.4f})"),
        decide(CLAIMS[5], gaps["tuned"].greater(), {**gaps["tuned"].to_json(), "tuned_lr": tuned_lr},
               summary=f"tuned lrs {tuned_lr}, equal updates: B = {c.small} tests {fmt_seeds(gaps['tuned'].a)} vs B = "
               f"{c.large} {fmt_seeds(gaps['tuned'].b)} (mean gap {gaps['tuned'].mean_diff:+.4f}, counts beyond {gaps['tuned'].threshold:.4f})"),
    ], [figure])  # fmt: skip


def _plot(c: Config, noise, timing, acc, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_n, ax_t, ax_a) = new_figure(ncols=3, width=4.6)
    seed_lines(ax_n, list(c.noise_batches), [v["variance"] for v in noise], "‖g_B − g‖²", log=True)
    ax_n.set_xscale("log", base=2)
    ax_n.set(xlabel="batch size B", ylabel="gradient variance")
    seed_dots(ax_t, {f"B={b}": [t[f"b{b}"] * 1e6 for t in timing] for b in (63, 64, 65)}, "µs per example (wide MLP)")  # fmt: skip
    ax_t.set_ylim(bottom=0)
    seed_dots(ax_a, {f"{k} B={b}": v for k, arms in acc.items() for b, v in arms.items()}, "test accuracy")  # fmt: skip
    ax_a.set_ylim(0.6, 1.0)
    for ax in (ax_n,):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return finish(
        fig, ctx.path("batch_size.png"), "Batch size: noise, speed, generalization — every seed"
    )


LAB = Lab(
    name="batch_size",
    title="Batch size: updates, gradient noise, speed, and generalization once lr is tuned",
    claims=CLAIMS,
    setup="sklearn digits (1 150 train / 287 validation / 360 test), a 64-64 ReLU MLP trained with "
    "plain SGD by profond's Trainer. Steps counted by a trainer callback; gradient variance at "
    "initialization from mini-batches drawn with replacement; timing from the trainer's epoch "
    "times on one thread; B = 16 vs B = 128 at a shared lr and epochs, then with each lr tuned "
    "on validation (first seed) and the same number of updates.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("batch", "mini-batch", "taille de batch", "batch size", "sgd", "puissance de 2"),
    answers=("Q33", "Q36", "C11", "C13", "C14", "C19", "C20", "C21", "C22"),
)
