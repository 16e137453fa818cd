"""Lab: at the same learning rate, Adam lowers the training loss faster than plain SGD.

Course §44.2.3: Adam divides each parameter's step by a running estimate of its gradient's
scale, so a small learning rate still moves every weight; plain SGD's step is the raw gradient
times the learning rate. The lab trains the same MLP from the same initialization on digits with
each optimizer (profond's Trainer), same learning rate, epochs and batches, over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    lr: float = 1e-3  # the same for both: Adam's usual default
    epochs: int = 10
    batch_size: int = 64
    hidden_sizes: tuple[int, ...] = (64, 64)
    margin: float = 0.05  # smallest training-loss difference that counts (nats)


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=20)
CLAIMS = (
    Claim(
        "adam_lower_loss_same_lr",
        "At the same learning rate, Adam reaches a lower training loss than plain SGD.",
        "§44.2.3; Q34",
        "final training cross-entropy of each optimizer, same lr, epochs, batches and init",
        f"holds for a seed if SGD's loss exceeds Adam's by more than max({CONFIG.margin:g}, "
        "2 × pooled seed std)",
        expected="holds",
    ),
)


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    config: Config = ctx.config
    data = st.digits(normalization="minmax")
    base = st.Setting(
        model_options={"hidden_sizes": config.hidden_sizes, "dropout": 0.0},
        lr=config.lr,
        epochs=config.epochs,
        batch_size=config.batch_size,
    )
    runs = {
        name: st.over_seeds(base.but(optimizer=name), data, ctx.seeds) for name in ("sgd", "adam")
    }
    final = {name: [r.last("train_loss") for r in rs] for name, rs in runs.items()}
    result = compare(final["sgd"], final["adam"], margin=config.margin)
    figure = _plot(runs, ctx)
    verdict = decide(
        CLAIMS[0],
        result.greater(),
        {"final_loss_sgd": final["sgd"], "final_loss_adam": final["adam"], **result.to_json()},
        summary=f"final training loss SGD {fmt_seeds(final['sgd'])} vs Adam "
        f"{fmt_seeds(final['adam'])} at lr={config.lr:g}",
    )
    return Outcome([verdict], [figure])


def _plot(runs, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure(width=6.5)
    for name, rs in runs.items():
        curves = [r.history["train_loss"] for r in rs]
        seed_lines(ax, list(range(1, len(curves[0]) + 1)), curves, name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cross-entropy")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return finish(
        fig, ctx.path("training_loss.png"), f"Adam vs SGD on digits, lr={ctx.config.lr:g}"
    )


LAB = Lab(
    name="adam_vs_sgd",
    title="Adam vs plain SGD at the same learning rate",
    claims=CLAIMS,
    setup="A 64-64 MLP on digits in [0, 1], 10 epochs of batches of 64, trained by profond's "
    "Trainer with plain SGD and with Adam at lr = 1e-3, same initialization and batches per seed.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "adam",
        "sgd",
        "descente de gradient stochastique",
        "stochastic gradient descent",
        "optimiseur",
        "optimizer",
        "optimiser",
    ),  # fmt: skip
    answers=("Q34",),
    fast=True,
)
