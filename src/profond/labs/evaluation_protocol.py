"""Lab: what makes results vary, what makes them reproducible, and why a test set stays unseen.

Course Q145 (variability comes from initialization, data order and the optimization's
randomness), Q146 (some GPU operations are non-deterministic: reproducibility is a GPU issue),
Q96 (a strict train/validation/test separation; repeating experiments with several
initializations). A 64-64 MLP on digits trains with profond's Trainer; the initialization seed
and the batch-order seed are varied separately, the same run is repeated with one and with two
CPU threads, and a model chosen on the test set is re-scored on held-out test examples.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    runs_per_source: int = 4
    hidden_sizes: tuple[int, ...] = (64, 64)
    epochs: int = 10
    lr: float = 3e-3
    spread_at_least: float = 0.003  # seed-to-seed std of test accuracy: 0.3 point
    thread_width: int = 256  # wider layers, so that two threads split the matrix products
    candidates: int = 12  # random configurations picked among on the test set
    candidate_epochs: int = 3
    optimism_at_least: float = 0.005  # selection on the test set inflates it by ≥ 0.5 point


CONFIG = Config()
FAITHFUL = Config(seeds=5, runs_per_source=10, candidates=20, candidate_epochs=10)
CLAIMS = (
    Claim("variance_from_init_and_order",
          "Results vary with the initialization and with the order of the data.", "Q145; Q96",
          "std of test accuracy over runs that vary only the initialization seed, only the "
          "batch-order seed, or both", f"per seed: std of both ≥ {CONFIG.spread_at_least:g} "
          "and each source alone gives a std > 0", expected="holds"),
    Claim("cpu_runs_are_reproducible",
          "Non-determinism is a GPU matter: with a fixed seed, CPU runs are reproducible.",
          "Q146", "largest weight difference between two runs with the same seed and threads, "
          "and between one and two CPU threads",
          "per seed: both differences are exactly 0", expected="does not hold"),
    Claim("test_set_selection_inflates",
          "Choosing a model on the test set overestimates its performance (hence a separate "
          "validation set).", "Q96; Q95",
          f"best of {CONFIG.candidates} random configurations picked on one half of the test "
          "split: its accuracy there minus on the other half",
          f"per seed: the optimism is ≥ {CONFIG.optimism_at_least:g}", expected="holds"),
)  # fmt: skip


def _setting(c: Config, **changes):
    from profond.labs import small_train as st

    return st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs,
                      model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0}).but(**changes)  # fmt: skip


def _sources(c: Config, data, seed: int) -> dict:
    import numpy as np

    from profond.labs import small_train as st

    setting = _setting(c)
    seeds = [seed * 1000 + i for i in range(c.runs_per_source)]

    def run(init: int, order: int) -> float:
        model = lambda d, _s: st.build_model(setting, d, init)  # noqa: E731
        return st.train(setting, data, order, model=model, task=sweeps.lean_task).test["test_accuracy"]  # fmt: skip

    acc = {
        "init": [run(s, seed) for s in seeds],
        "order": [run(seed, s) for s in seeds],
        "both": [run(s, s) for s in seeds],
    }
    return {"acc": acc, "std": {k: float(np.std(v, ddof=1)) for k, v in acc.items()}}


def _threads(c: Config, data, seed: int) -> dict:
    import torch

    from profond.labs import small_train as st
    from profond.train.trainer import Trainer

    setting = _setting(c, epochs=1, model_options={"hidden_sizes": (c.thread_width, c.thread_width)})  # fmt: skip

    def weights(threads: int) -> torch.Tensor:
        model = st.build_model(setting, data, seed)
        config = dataclasses.replace(setting.train_config(seed), threads=threads)
        Trainer(config).fit(model, sweeps.lean_task(data), data)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    try:
        one, again, two = weights(1), weights(1), weights(2)
    finally:
        torch.set_num_threads(st.THREADS)
    return {"same_threads": float((one - again).abs().max()), "one_vs_two": float((one - two).abs().max())}  # fmt: skip


def _optimism(c: Config, data, seed: int) -> dict:
    import numpy as np
    import torch

    from profond.labs import small_train as st

    rng = np.random.default_rng(seed)
    half = torch.randperm(len(data.x_test), generator=torch.Generator().manual_seed(seed))
    a, b = half[: len(half) // 2], half[len(half) // 2 :]
    scores = []
    for _ in range(c.candidates):
        lr, width = float(10 ** rng.uniform(-3.5, -1.5)), int(2 ** rng.integers(4, 9))
        setting = _setting(c, lr=lr, epochs=c.candidate_epochs, model_options={"hidden_sizes": (width, width)})  # fmt: skip
        model = st.train(setting, data, seed, task=sweeps.lean_task).model
        scores.append((sweeps.accuracy(model, data.x_test[a], data.y_test[a]),
                       sweeps.accuracy(model, data.x_test[b], data.y_test[b])))  # fmt: skip
    picked = max(range(len(scores)), key=lambda i: scores[i][0])
    return {"picked_on_test": scores[picked][0], "fresh": scores[picked][1],
            "optimism": scores[picked][0] - scores[picked][1], "scores": scores}  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    sources = [_sources(c, data, s) for s in ctx.seeds]
    threads = [_threads(c, data, s) for s in ctx.seeds]
    optimism = [_optimism(c, data, s) for s in ctx.seeds]
    figure = _plot(sources, optimism, ctx)
    stds = {k: [s["std"][k] for s in sources] for k in ("init", "order", "both")}
    return Outcome([
        decide(CLAIMS[0], [s["std"]["both"] >= c.spread_at_least and s["std"]["init"] > 0 and s["std"]["order"] > 0 for s in sources],
               {"per_seed": sources},
               summary=f"std of test accuracy over {c.runs_per_source} runs: init only {fmt_seeds(stds['init'])}, order only "
               f"{fmt_seeds(stds['order'])}, both {fmt_seeds(stds['both'])}"),
        decide(CLAIMS[1], [t["same_threads"] == 0 and t["one_vs_two"] == 0 for t in threads], {"per_seed": threads},
               summary=f"largest weight difference, same seed and threads: {fmt_seeds([t['same_threads'] for t in threads])}; "
               f"1 vs 2 threads: {fmt_seeds([t['one_vs_two'] for t in threads])}"),
        decide(CLAIMS[2], [o["optimism"] >= c.optimism_at_least for o in optimism], {"per_seed": optimism},
               summary=f"picked on half the test set: {fmt_seeds([o['picked_on_test'] for o in optimism])}; on the other "
               f"half: {fmt_seeds([o['fresh'] for o in optimism])}"),
    ], [figure])  # fmt: skip


def _plot(sources, optimism, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_s, ax_o) = new_figure(ncols=2, width=5.5)
    seed_dots(ax_s, {f"{k} (seed {i})": s["acc"][k] for i, s in enumerate(sources) for k in ("init", "order", "both")},
              "test accuracy, one dot per run")  # fmt: skip
    seed_dots(ax_o, {"on the test half it was picked on": [o["picked_on_test"] for o in optimism],
                     "on the other half": [o["fresh"] for o in optimism]}, "test accuracy of the pick")  # fmt: skip
    ax_o.set_ylim(0.8, 1.0)
    return finish(
        fig,
        ctx.path("evaluation_protocol.png"),
        "Sources of variance and selection optimism, every seed",
    )


LAB = Lab(
    name="evaluation_protocol",
    title="Evaluation: seed variance, CPU reproducibility across threads, selecting on the test set",
    claims=CLAIMS,
    setup="Standardized digits, a 64-64 ReLU MLP, Adam lr 3e-3, 10 epochs (profond's Trainer). "
    "Per lab seed: 4 runs varying only the weights' seed, 4 only the batch-order seed, 4 both; "
    "a 256-256 MLP trained one epoch twice on one thread and once on two; 12 random "
    "configurations (lr, width) picked on one random half of the test split and re-scored on "
    "the other half.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "reproductibilité",
        "reproducibility",
        "seed",
        "graine",
        "variance",
        "évaluation",
        "evaluation",
        "validation croisée",
        "test set",
    ),  # fmt: skip
    answers=("Q95", "Q96", "Q145", "Q146"),
)
