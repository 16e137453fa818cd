"""Lab: the same network memorizes random labels, yet generalizes with true ones.

Course §44.2.4 and Q88 (a network can memorize its training examples, noise included), Q82 and
Q89 (many parameters need much data, or they overfit). Following Zhang et al. (2017), one
512-512 MLP (profond's family and Trainer, Adam) is trained on the same digits with their true
labels and with labels drawn at random: if capacity alone decided generalization, a network
able to fit random labels would also overfit the true ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    examples: int = 500
    hidden_sizes: tuple[int, ...] = (512, 512)
    epochs: int = 50
    lr: float = 1e-3
    memorized: float = 0.99  # training accuracy that counts as memorized
    chance_at_most: float = 0.15  # test accuracy of the random-label net (chance: 0.10)
    generalizes: float = 0.93  # test accuracy of the true-label net, same architecture
    slower: float = 2.0  # random labels need at least this × the epochs of true labels


CONFIG = Config()
FAITHFUL = Config(seeds=5, examples=1150, epochs=200)
CLAIMS = (
    Claim("network_memorizes_noise",
          "A network can memorize its training examples, noise included.", "§44.2.4; Q88",
          "training and test accuracy of a 512-512 MLP trained on random labels",
          f"per seed: training accuracy ≥ {CONFIG.memorized:g} and test accuracy ≤ "
          f"{CONFIG.chance_at_most:g}", expected="holds"),
    Claim("capacity_implies_overfitting",
          "A network with enough parameters to memorize its data overfits it: its parameter count "
          "must be limited relative to the data.", "Q82; Q89",
          "test accuracy of the same network (able to memorize random labels) on the true labels",
          f"per seed: the true-label test accuracy stays below {CONFIG.generalizes:g}",
          expected="does not hold"),
    Claim("noise_is_learned_slower",
          "Memorizing random labels is slower than learning true ones.", "§44.2.4; Q88",
          f"epochs to {CONFIG.memorized:g} training accuracy, random vs true labels",
          f"per seed: random labels need ≥ {CONFIG.slower:g}× the epochs", expected="holds"),
)  # fmt: skip


def _run(c: Config, data, seed: int, setting) -> dict:
    from profond.labs import small_train as st

    probe = sweeps.accuracy_probe(data.x_train, data.y_train)
    run = st.train(setting, data, seed, task=sweeps.lean_task, callbacks=[probe])
    reached = [i + 1 for i, a in enumerate(probe.values) if a >= c.memorized]
    return {
        "train_curve": probe.values,
        "test": run.test["test_accuracy"],
        "epochs_to": float(reached[0]) if reached else float("inf"),
    }


def experiment(ctx: LabContext) -> Outcome:
    import torch

    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    runs: dict[str, list[dict]] = {"true": [], "random": []}
    for seed in ctx.seeds:
        small = sweeps.subset(data, c.examples, seed)
        shuffled = torch.randint(data.num_classes, (c.examples,), generator=torch.Generator().manual_seed(seed))  # fmt: skip
        runs["true"].append(_run(c, small, seed, setting))
        runs["random"].append(_run(c, sweeps.with_labels(small, shuffled), seed, setting))
    rnd, tru = runs["random"], runs["true"]
    figure = _plot(c, runs, ctx)
    final = {k: [r["train_curve"][-1] for r in v] for k, v in runs.items()}
    return Outcome([
        decide(CLAIMS[0], [r["train_curve"][-1] >= c.memorized and r["test"] <= c.chance_at_most for r in rnd],
               {"train": final["random"], "test": [r["test"] for r in rnd]},
               summary=f"random labels: train accuracy {fmt_seeds(final['random'])}, test {fmt_seeds([r['test'] for r in rnd])}"),
        decide(CLAIMS[1], [r["test"] < c.generalizes for r in tru],
               {"test_true": [r["test"] for r in tru], "train_true": final["true"]},
               summary=f"true labels, same network: test accuracy {fmt_seeds([r['test'] for r in tru])} "
               f"(train {fmt_seeds(final['true'])})"),
        decide(CLAIMS[2], [a >= c.slower * b for a, b in zip([r["epochs_to"] for r in rnd], [r["epochs_to"] for r in tru], strict=True)],
               {"epochs_random": [r["epochs_to"] for r in rnd], "epochs_true": [r["epochs_to"] for r in tru]},
               summary=f"epochs to {c.memorized:g} train accuracy: random {fmt_seeds([r['epochs_to'] for r in rnd])} "
               f"vs true {fmt_seeds([r['epochs_to'] for r in tru])}"),
    ], [figure])  # fmt: skip


def _plot(c: Config, runs: dict, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_c, ax_t) = new_figure(ncols=2, width=5.5)
    for name, color in (("true", "tab:blue"), ("random", "tab:red")):
        seed_lines(ax_c, list(range(1, c.epochs + 1)), [r["train_curve"] for r in runs[name]],
                   f"{name} labels", color)  # fmt: skip
    ax_c.set(xlabel="epoch", ylabel="training accuracy")
    ax_c.grid(True, alpha=0.3)
    ax_c.legend(fontsize=8)
    seed_dots(
        ax_t, {f"{k} labels": [r["test"] for r in v] for k, v in runs.items()}, "test accuracy"
    )
    ax_t.set_ylim(0, 1)
    return finish(fig, ctx.path("random_labels.png"), "True vs random labels, same MLP, every seed")


LAB = Lab(
    name="random_labels_memorization",
    title="Random labels: the same MLP memorizes noise and generalizes with true labels",
    claims=CLAIMS,
    setup="500 standardized training digits drawn per seed, a 512-512 ReLU MLP (about 300 k "
    "parameters) from profond's family, Adam lr 1e-3, 50 epochs of batches of 64, profond's "
    "Trainer; once with the true labels and once with labels drawn uniformly at random; test "
    "on the 360 true-labelled test digits.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "mémorisation",
        "memorization",
        "overfitting",
        "surapprentissage",
        "capacité",
        "capacity",
        "paramètres",
    ),  # fmt: skip
    answers=("Q82", "Q88", "Q89"),
)
