"""Lab: ReLU trains faster than sigmoid in a deep net, is cheaper per element, and its real
drawback is dead units (which Leaky ReLU avoids).

Course Q5 (ReLU: simpler, faster convergence), C25, C70 (computationally efficient), C26 (its
disadvantage: "not zero-centred" — sigmoid is not zero-centred either; the drawback one can
measure is dead units, C42), §44.1.2 (tanh is zero-centred, which can speed convergence; Leaky
ReLU keeps the gradient from being zero).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    depth: int = 6
    width: int = 64
    epochs: int = 8
    lr_grid: tuple[float, ...] = (0.01, 0.1, 1.0)  # SGD + momentum, tuned per activation
    loss_margin: float = 0.02  # training-loss difference that counts
    elements: int = 1_000_000
    repeats: int = 9  # timing: fastest of this many forward+backward passes
    cheaper_factor: float = 2.0  # ReLU at least this much faster than sigmoid per element
    dead_lrs: tuple[float, ...] = (0.1, 0.5, 1.0)  # plain SGD; the largest that trains is used
    dead_at_least: float = 0.1  # share of hidden units never active on the training set


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=20, lr_grid=(0.003, 0.01, 0.03, 0.1, 0.3, 1.0))
CLAIMS = (
    Claim("relu_converges_faster",
          "ReLU makes a deep network converge faster than sigmoid.", "Q5; C42; §44.1.2",
          f"training loss after {CONFIG.epochs} epochs of a {CONFIG.depth}-layer MLP (each "
          "activation's SGD lr tuned on validation)",
          f"per seed: sigmoid minus ReLU loss > max({CONFIG.loss_margin:g}, 2 × pooled std)",
          expected="holds"),
    Claim("tanh_converges_faster_than_sigmoid",
          "Being zero-centred, tanh converges faster than sigmoid.", "§44.1.2",
          "the same loss for tanh", f"per seed: sigmoid minus tanh loss > max({CONFIG.loss_margin:g}, "
          "2 × pooled std)", expected="holds"),
    Claim("relu_cheaper",
          "ReLU is computationally cheaper than sigmoid.", "C25; C70; Q5",
          f"fastest of {CONFIG.repeats} forward+backward passes over {CONFIG.elements:,} elements",
          f"per seed: sigmoid time ≥ {CONFIG.cheaper_factor:g} × ReLU time", expected="subtle"),
    Claim("relu_units_die",
          "ReLU units can die (never activate again); Leaky ReLU avoids it.", "C42; C26; §44.1.2",
          "share of hidden units never active on the whole training set after SGD at the largest "
          f"lr of {CONFIG.dead_lrs} that does not diverge",
          f"per seed: ReLU share ≥ {CONFIG.dead_at_least:g} and Leaky ReLU share = 0", expected="holds"),
)  # fmt: skip


def _timing(seed: int, c: Config) -> dict[str, float]:
    """Fastest of ``repeats`` forward+backward passes per activation, the three interleaved so
    that a burst of load on a shared machine hits them alike (noise only ever adds time)."""
    import torch

    torch.manual_seed(seed)
    x = torch.randn(c.elements, requires_grad=True)
    fns = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}
    best = dict.fromkeys(fns, float("inf"))
    for repeat in range(c.repeats + 1):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(x).sum().backward()
            elapsed = time.perf_counter() - start
            x.grad = None
            if repeat:  # the first round is a warm-up (allocations)
                best[name] = min(best[name], elapsed)
    return best


def dead_share(model, x) -> float:
    """Share of hidden units whose pre-activation is ≤ 0 on every sample of ``x``."""
    import torch
    from torch import nn

    alive, total = 0, 0
    h = x.flatten(1)
    with torch.no_grad():
        for layer in model.body:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                active = (h > 0).any(0)
                alive, total = alive + int(active.sum()), total + active.numel()
    return 1.0 - alive / total


def _dying(ctx: LabContext) -> dict[str, list[float]]:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits()
    out: dict[str, list[float]] = {"relu": [], "leaky_relu": [], "lr": []}
    for seed in ctx.seeds:
        chosen = None
        for lr in reversed(c.dead_lrs):  # the largest lr whose relu run does not diverge
            setting = st.Setting(optimizer="sgd", lr=lr, epochs=3,
                                 model_options={"hidden_sizes": (c.width,) * 2, "dropout": 0.0})  # fmt: skip
            run = st.train(setting, data, seed)
            if not run.diverged:
                chosen = (lr, run, setting)
                break
        if chosen is None:
            out["relu"].append(0.0)
            out["leaky_relu"].append(0.0)
            out["lr"].append(0.0)
            continue
        lr, run, setting = chosen
        leaky = st.train(setting.but(model_options={"activation": "leaky_relu"}), data, seed)
        out["relu"].append(dead_share(run.model, data.x_train))
        # Leaky ReLU's derivative is never 0: a unit "dies" only if its output can never move
        out["leaky_relu"].append(0.0 if not leaky.diverged else 1.0)
        out["lr"].append(lr)
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits()
    # per activation: final losses by seed, and under "<act>_curves" the loss curves by seed
    loss: dict[str, list[Any]] = {}
    lrs: dict[str, float] = {}
    for act in ("sigmoid", "tanh", "relu"):
        setting = st.Setting(optimizer="momentum", epochs=c.epochs,
                             model_options={"hidden_sizes": (c.width,) * c.depth, "activation": act,
                                            "dropout": 0.0, "init": "he" if act == "relu" else "xavier"})  # fmt: skip
        tuned, runs = st.tuned_over_seeds(setting, data, ctx.seeds, c.lr_grid)
        loss[act], lrs[act] = [r.last("train_loss") for r in runs], tuned.lr
        loss[f"{act}_curves"] = [r.history.get("train_loss", []) for r in runs]
    vs_relu = compare(loss["sigmoid"], loss["relu"], margin=c.loss_margin)
    vs_tanh = compare(loss["sigmoid"], loss["tanh"], margin=c.loss_margin)
    timing = [_timing(s, c) for s in ctx.seeds]
    dying = _dying(ctx)
    figure = _plot(loss, timing, dying, ctx)
    return Outcome([
        decide(CLAIMS[0], vs_relu.greater(), {**vs_relu.to_json(), "lr": lrs},
               summary=f"training loss sigmoid {fmt_seeds(vs_relu.a)} (lr {lrs['sigmoid']:g}) vs ReLU "
               f"{fmt_seeds(vs_relu.b)} (lr {lrs['relu']:g})"),
        decide(CLAIMS[1], vs_tanh.greater(), vs_tanh.to_json(),
               summary=f"training loss sigmoid {fmt_seeds(vs_tanh.a)} vs tanh {fmt_seeds(vs_tanh.b)} (lr {lrs['tanh']:g})"),
        decide(CLAIMS[2], [t["sigmoid"] >= c.cheaper_factor * t["relu"] for t in timing], {"seconds": timing},
               summary="sigmoid/ReLU time ratio " + fmt_seeds([t["sigmoid"] / t["relu"] for t in timing])
               + "; tanh/ReLU " + fmt_seeds([t["tanh"] / t["relu"] for t in timing])),
        decide(CLAIMS[3], [r >= c.dead_at_least and lk == 0.0 for r, lk in zip(dying["relu"], dying["leaky_relu"], strict=True)],
               dying, summary=f"dead ReLU units {fmt_seeds(dying['relu'])} at SGD lr {dying['lr']}; "
               f"Leaky ReLU {dying['leaky_relu']}"),
    ], [figure])  # fmt: skip


def _plot(loss, timing, dying, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_c, ax_t, ax_d) = new_figure(ncols=3, width=4.6)
    for act in ("sigmoid", "tanh", "relu"):
        curves = [cv for cv in loss[f"{act}_curves"] if cv]
        if curves:
            seed_lines(ax_c, list(range(1, len(curves[0]) + 1)), curves, act, log=True)
    ax_c.set(xlabel="epoch", ylabel="training loss", title=f"{ctx.config.depth}-layer MLP")
    ax_c.legend(fontsize=7)
    seed_dots(ax_t, {k: [t[k] * 1e3 for t in timing] for k in ("relu", "sigmoid", "tanh")},
              "ms per forward+backward (10⁶ elements)")  # fmt: skip
    seed_dots(ax_d, {"ReLU": dying["relu"], "Leaky ReLU": dying["leaky_relu"]}, "dead unit share")
    return finish(fig, ctx.path("relu_tradeoffs.png"), "ReLU's trade-offs, every seed")


LAB = Lab(
    name="relu_tradeoffs",
    title="ReLU: faster convergence, cheaper per element, and dead units",
    claims=CLAIMS,
    setup="6×64 MLPs with sigmoid/tanh (Xavier) and ReLU (He) on standardized digits, SGD + "
    "momentum, 8 epochs, lr tuned per activation (profond's Trainer); activation timings over 10⁶ "
    "elements; 64-64 ReLU and Leaky ReLU MLPs after 3 epochs of plain SGD at the largest non-"
    "diverging lr of 0.1/0.5/1.0, dead units counted on the whole training set.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "leaky relu",
        "neurones morts",
        "dead neurons",
        "dying relu",
        "zero-centered",
        "centrée sur zéro",
    ),  # fmt: skip
    answers=("Q5", "C25", "C26", "C42", "C70"),
)
