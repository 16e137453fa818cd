"""Lab: which sequence models remember across long lags? RNN, LSTM, GRU and a dilated causal CNN
on the adding problem.

Course §44.3.2 and Q17/Q73: a plain RNN suffers from vanishing gradients, the LSTM's gates and
cell keep a long memory; Q75 and §44.3.2: the GRU has fewer parameters, "which makes it faster to
train"; Q18/Q42: a CNN does not model long dependencies, unlike an LSTM. Each model trains on the
adding problem (:mod:`profond.data.adding`) at growing lags with profond's Trainer and the same
budget; a lag is solved when the test MSE falls below a fixed threshold (predicting 1 gives
1/6). Once a model fails a lag it is not trained on longer ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

MODELS = ("rnn", "lstm", "gru", "tcn")


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    lags: tuple[int, ...] = (10, 20, 40)  # sequence lengths, in increasing order
    train_size: int = 1600  # sequences per lag (10 % of them validate)
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-2  # Adam; the same for every model (one rate that trains all four here)
    hidden: int = 32  # recurrent state / TCN channels
    solved_mse: float = 0.01  # a lag is solved below this test MSE (predict-1 baseline: 0.167)
    faster_ratio: float = 0.9  # "faster": at least 10 % less time per epoch (timing noise)


CONFIG = Config()
FAITHFUL = Config(seeds=5, lags=(25, 50, 100, 200), train_size=10000, epochs=30)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "gated_cells_remember_longer",
            "LSTM and GRU cells remember across longer lags than a plain RNN.",
            "§44.3.2; Q17; Q73; Q74; Q105",
            f"largest lag solved (test MSE < {c.solved_mse:g}) among {c.lags}",
            "holds for a seed if both the LSTM's and the GRU's largest solved lag exceed the RNN's",
            expected="holds",
        ),
        Claim(
            "cnn_misses_long_dependencies",
            "Unlike an LSTM, a CNN does not model long dependencies in a sequence.",
            "Q18; Q42",
            "largest lag solved by a dilated causal CNN (receptive field >= lag) vs the LSTM",
            "holds for a seed if the CNN's largest solved lag is below the LSTM's",
            expected="does not hold",
        ),
        Claim(
            "gru_faster_to_train",
            "Having fewer parameters, the GRU is faster to train than the LSTM.",
            "§44.3.2; Q75",
            "mean training time per epoch at the longest lag both trained on (same width, batch)",
            f"holds for a seed if the GRU's epoch takes under {c.faster_ratio:g}x the LSTM's",
            expected="subtle",
        ),
        Claim(
            "gru_three_quarters_of_lstm",
            "A GRU layer has 3/4 of the parameters of an LSTM layer of the same size.",
            "§44.3.2; Q75",
            "parameter counts of nn.GRU and nn.LSTM with the lab's sizes",
            "holds if the ratio is exactly 0.75 (3 gate blocks against 4)",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def _setting(model: str, c: Config):
    from profond.labs.small_train import Setting

    options: dict[str, object]
    if model == "tcn":
        options = {"channels": c.hidden, "dropout": 0.0, "residual": False}
    else:
        options = {"hidden_size": c.hidden, "num_layers": 1, "dropout": 0.0, "residual": False}
    return Setting(
        model=model, model_options=options, optimizer="adam", lr=c.lr, epochs=c.epochs,
        batch_size=c.batch_size,
    )  # fmt: skip


def tcn_blocks(lag: int, kernel_size: int = 3) -> int:
    """Fewest TCN blocks whose receptive field ``1 + 2 (k-1) (2**n - 1)`` covers ``lag``."""
    return max(1, math.ceil(math.log2((lag - 1) / (2 * (kernel_size - 1)) + 1)))


def run_model(model: str, c: Config, seed: int) -> dict[str, list[float]]:
    """Train ``model`` at each lag in turn until one is not solved.

    Returns:
        ``{"lag": [...], "mse": [...], "epoch_seconds": [...], "curve": [[val MSE per epoch]]}``
        for the lags it was trained on.
    """
    from profond.data.registry import DataOptions, load_dataset
    from profond.labs.small_train import train
    from profond.train.tasks.regression import RegressionTask

    out: dict[str, list] = {"lag": [], "mse": [], "epoch_seconds": [], "curve": []}
    for lag in c.lags:
        options = DataOptions(seed=seed, window=lag, limit=c.train_size, val_fraction=0.1)
        data = load_dataset("adding", options)
        setting = _setting(model, c)
        if model == "tcn":
            setting = setting.but(model_options={"num_blocks": tcn_blocks(lag)})
        run = train(setting, data, seed, task=RegressionTask)
        mse = run.test.get("test_loss", math.inf)
        out["lag"].append(lag)
        out["mse"].append(mse)
        times = run.history.get("epoch_time_s", [math.nan])
        out["epoch_seconds"].append(sum(times) / len(times))
        out["curve"].append(run.history.get("val_loss", []))
        if not mse < c.solved_mse:
            break
    return out


def largest_solved(run: dict[str, list[float]], threshold: float) -> int:
    """The longest lag with a test MSE below ``threshold`` (0 if none)."""
    solved = [lag for lag, mse in zip(run["lag"], run["mse"], strict=True) if mse < threshold]
    return int(max(solved, default=0))  # fmt: skip


def parameter_ratio(hidden: int, inputs: int = 2) -> float:
    from torch import nn

    def count(module: nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    return count(nn.GRU(inputs, hidden)) / count(nn.LSTM(inputs, hidden))


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    claims = _claims(c)
    runs = {m: [run_model(m, c, seed) for seed in ctx.seeds] for m in MODELS}
    solved = {m: [largest_solved(r, c.solved_mse) for r in rs] for m, rs in runs.items()}
    mse = {m: [r["mse"] for r in rs] for m, rs in runs.items()}
    gated = [
        min(lstm, gru) > rnn
        for rnn, lstm, gru in zip(solved["rnn"], solved["lstm"], solved["gru"], strict=True)
    ]
    cnn_worse = [t < lstm for t, lstm in zip(solved["tcn"], solved["lstm"], strict=True)]
    common = [min(len(g["lag"]), len(t["lag"])) - 1 for g, t in zip(runs["gru"], runs["lstm"], strict=True)]  # fmt: skip
    gru_time = [r["epoch_seconds"][i] for r, i in zip(runs["gru"], common, strict=True)]
    lstm_time = [r["epoch_seconds"][i] for r, i in zip(runs["lstm"], common, strict=True)]
    timed_lag = [c.lags[i] for i in common]
    ratio = parameter_ratio(c.hidden)
    by_model = "; ".join(f"{m} {fmt_seeds(solved[m])}" for m in MODELS)
    verdicts = [
        decide(claims[0], gated, {"largest_solved_lag": solved, "test_mse": mse, "lags": c.lags},
               summary=f"largest lag solved per seed: {by_model}."),
        decide(claims[1], cnn_worse, {"largest_solved_lag": solved, "test_mse": mse},
               summary=f"dilated causal CNN {fmt_seeds(solved['tcn'])} vs LSTM "
               f"{fmt_seeds(solved['lstm'])} (largest lag solved per seed)."),
        decide(claims[2], [g < c.faster_ratio * t for g, t in zip(gru_time, lstm_time, strict=True)],
               {"gru_epoch_seconds": gru_time, "lstm_epoch_seconds": lstm_time, "lag": timed_lag},
               summary=f"seconds per epoch at T = {fmt_seeds(timed_lag)}: GRU {fmt_seeds(gru_time)}, "
               f"LSTM {fmt_seeds(lstm_time)} (noisy on a shared machine)."),
        decide(claims[3], [abs(ratio - 0.75) < 1e-12] * len(ctx.seeds), {"gru_over_lstm": ratio},
               summary=f"GRU/LSTM parameters = {ratio:.4f} (hidden {c.hidden}, 2 inputs)."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(runs, solved, c, ctx)])


def _plot(runs, solved, c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_mse, ax_lag) = new_figure(ncols=2, width=5.5)
    for model in MODELS:
        color = ax_mse._get_lines.get_next_color()
        for i, run in enumerate(runs[model]):
            ax_mse.semilogy(run["lag"], run["mse"], marker="o", color=color, alpha=0.7,
                            label=model if i == 0 else None)  # fmt: skip
    ax_mse.axhline(1 / 6, color="grey", linestyle="--", linewidth=1, label="predict 1")
    ax_mse.axhline(c.solved_mse, color="black", linestyle=":", linewidth=1, label="solved")
    ax_mse.set_xlabel("lag T (sequence length)")
    ax_mse.set_ylabel("test MSE (each seed)")
    ax_mse.legend(fontsize=8)
    ax_mse.grid(True, which="both", alpha=0.3)
    seed_dots(ax_lag, solved, ylabel="largest lag solved")
    return finish(fig, ctx.path("adding_problem.png"), "Adding problem: error vs lag, per seed")


LAB = Lab(
    name="long_memory_adding_problem",
    title="Long memory on the adding problem: RNN, LSTM, GRU and a dilated causal CNN",
    claims=CLAIMS,
    setup=(
        "The adding problem at lags 10, 20, 40 (1 600 sequences each, new per seed). Elman RNN, "
        "LSTM, GRU (profond's recurrent families, 32 units, one layer) and a dilated causal CNN "
        "(the tcn family, 32 channels, receptive field >= lag), each trained by profond's "
        "Trainer with Adam (lr 0.01, batch 32, 10 epochs). Solved: test MSE < 0.01."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "lstm",
        "gru",
        "rnn",
        "long-term dependencies",
        "dépendances longues",
        "mémoire",
        "tcn",
    ),  # fmt: skip
    answers=("Q16", "Q17", "Q18", "Q42", "Q73", "Q74", "Q75", "Q105"),
)
