"""Lab: where dropout may go in a recurrent network without breaking its memory.

Q43: dropout reduces overfitting but must be used with care in RNNs so as not to disturb the
temporal memory. Zaremba et al. (2014) drop only the non-recurrent connections; Gal & Ghahramani
(2016) showed that the recurrent state can be dropped too if the same mask is kept for the whole
sequence ("variational" dropout). The lab trains profond's LSTM (stepped one time step at a time
when its recurrent state is dropped) on the adding problem with the Trainer and the regression
task, with p = 0.25 in four places: nowhere, on the output (the non-recurrent connection), on the
hidden state with a new mask at every step, and on the hidden state with one mask per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

SCHEMES = ("none", "output only", "hidden, new mask each step", "hidden, one mask per sequence")  # fmt: skip


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    lag: int = 20  # sequence length of the adding problem
    train_size: int = 1600
    hidden: int = 32
    p: float = 0.25
    epochs: int = 10
    lr: float = 1e-2  # Adam
    naive_factor: float = 5.0  # "breaks the memory": MSE at least this x the in/out scheme's
    variational_factor: float = 2.0  # "keeps it": MSE at most this x no dropout's (or < 0.01)


CONFIG = Config()
FAITHFUL = Config(seeds=5, lag=50, train_size=5000, epochs=30)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "naive_recurrent_dropout_breaks_memory",
            "Dropout on the recurrent state, a new mask at every step, disturbs an RNN's memory.",
            "Q43; Q74",
            f"test MSE on the adding problem (T = {c.lag}), per-step hidden dropout vs dropout on "
            "the output only (the one non-recurrent connection of a one-layer LSTM)",
            f"holds for a seed if at least {c.naive_factor:g}x higher",
            expected="holds",
        ),
        Claim(
            "one_mask_per_sequence_is_safe",
            "Dropping the recurrent state with one mask for the whole sequence keeps the memory.",
            "Q43",
            "test MSE, hidden dropout with one mask per sequence vs no dropout",
            f"holds for a seed if at most {c.variational_factor:g}x no dropout's, or below 0.01",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def dropout_lstm(scheme: str, c: Config, seed: int):
    """profond's one-layer LSTM (forget bias 1) with dropout placed as ``scheme`` says.

    Shape: ``(B, T, 2)`` → ``(B, 1)``.
    """
    import torch

    from profond.models.rnn import LSTMConfig, RecurrentForecaster

    placements: dict[str, dict[str, Any]] = {
        "none": {},
        "output only": {"head_dropout": c.p},
        "hidden, new mask each step": {"recurrent_dropout": c.p, "recurrent_dropout_mask": "step"},
        "hidden, one mask per sequence": {"recurrent_dropout": c.p, "recurrent_dropout_mask": "sequence"},
    }  # fmt: skip
    placement = placements[scheme]
    torch.manual_seed(seed)
    config = LSTMConfig(
        input_size=2, horizon=1, hidden_size=c.hidden, num_layers=1, dropout=0.0,
        residual=False, **placement,
    )  # fmt: skip
    return RecurrentForecaster(config)


def _factory(scheme: str, c: Config, data: Any, seed: int) -> Any:
    return dropout_lstm(scheme, c, seed)


def experiment(ctx: LabContext) -> Outcome:
    from profond.data.registry import DataOptions, load_dataset
    from profond.labs.small_train import Setting, train
    from profond.train.tasks.regression import RegressionTask

    c: Config = ctx.config
    claims = _claims(c)
    setting = Setting(optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=32)
    mse: dict[str, list[float]] = {s: [] for s in SCHEMES}
    curves: dict[str, list[list[float]]] = {s: [] for s in SCHEMES}
    for seed in ctx.seeds:
        data = load_dataset("adding", DataOptions(seed=seed, window=c.lag, limit=c.train_size))
        for scheme in SCHEMES:
            run = train(setting, data, seed, task=RegressionTask,
                        model=partial(_factory, scheme, c))  # fmt: skip
            mse[scheme].append(run.test.get("test_loss", float("inf")))
            curves[scheme].append(run.history.get("val_loss", []))
    none, io, naive, fixed = (mse[s] for s in SCHEMES)
    verdicts = [
        decide(claims[0], [n >= c.naive_factor * i for n, i in zip(naive, io, strict=True)], {"test_mse": mse},
               summary=f"test MSE: per-step hidden dropout {fmt_seeds(naive)}, output only {fmt_seeds(io)}."),
        decide(claims[1], [f <= c.variational_factor * n or f < 0.01 for f, n in zip(fixed, none, strict=True)],
               {"test_mse": mse},
               summary=f"test MSE: one mask per sequence {fmt_seeds(fixed)}, no dropout {fmt_seeds(none)}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(curves, ctx)])


def _plot(curves: dict[str, list[list[float]]], ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=6.0)
    for scheme, per_seed in curves.items():
        seed_lines(ax, list(range(1, len(per_seed[0]) + 1)), per_seed, scheme, log=True)
    ax.axhline(1 / 6, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation MSE")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, ctx.path("recurrent_dropout.png"), "Adding problem: where the dropout goes")


LAB = Lab(
    name="recurrent_dropout",
    title="Dropout in an LSTM: inputs/outputs, per-step or per-sequence recurrent masks",
    claims=CLAIMS,
    setup=(
        "The adding problem with T = 20 (1 600 sequences, new per seed). profond's LSTM, one layer "
        "of 32 units (forget bias 1), p = 0.25 (inverted dropout) nowhere, on the output, on the "
        "hidden state with a new mask each step, or with one mask per sequence; trained by the "
        "Trainer with the regression task (Adam 1e-2, 10 epochs, batch 32)."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "recurrent dropout",
        "dropout récurrent",
        "variational dropout",
        "dropout variationnel",
    ),  # fmt: skip
    answers=("Q43", "Q74"),
)
