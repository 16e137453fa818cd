"""Lab: catastrophic forgetting — learning new classes erases the old ones; replay limits it.

Course: a model trained on new data forgets the old tasks; replaying stored data is one remedy.
Measured with profond's continual-learning parts: :func:`profond.data.replay.class_subset`,
:class:`~profond.data.replay.ReplayBuffer` (reservoir sampling) with
:func:`~profond.data.replay.with_replay`, and :class:`~profond.train.continual.GroupAccuracy`.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

OLD, NEW = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (128, 128)
    epochs: int = 10  # per task
    lr: float = 1e-3  # Adam
    replay: int = 29  # examples of the old classes kept: 5 % of their ~575 training images
    old_before_at_least: float = 0.95  # task A is learned...
    old_after_at_most: float = 0.2  # ... and then forgotten without replay
    restored_at_least: float = 0.7  # with replay, old-class accuracy at least this
    larger_replay: int = 115  # 20 %: measured and drawn, not part of a rule


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=30)
CLAIMS = (
    Claim("new_classes_erase_old",
          "A network trained on new classes forgets the old ones (catastrophic forgetting).",
          "continual learning; Q141; Q143",
          "test accuracy on digits 0–4 of a 128-128 MLP (one 10-way head) after learning 0–4, "
          "then after fine-tuning on 5–9 alone",
          f"per seed: before ≥ {CONFIG.old_before_at_least:g} and after ≤ "
          f"{CONFIG.old_after_at_most:g}", expected="holds"),
    Claim("small_replay_restores",
          "Replaying a few stored examples of the old classes while learning the new ones "
          "prevents most of the forgetting.", "Q144",
          f"test accuracy on 0–4 after learning 5–9 with a replay buffer of {CONFIG.replay} "
          "old examples (5 %) mixed into the training set",
          f"per seed: ≥ {CONFIG.restored_at_least:g}", expected="holds"),
)  # fmt: skip


def _probe(data):
    """A :class:`GroupAccuracy` that also keeps what it measured, epoch after epoch."""
    from profond.train.continual import GroupAccuracy

    class Recorder(GroupAccuracy):
        def __init__(self) -> None:
            super().__init__({"old": OLD, "new": NEW}, data.x_test, data.y_test, prefix="test_")
            self.seen: dict[str, list[float]] = {"test_old_accuracy": [], "test_new_accuracy": []}

        def on_epoch_end(self, trainer, epoch: int, logs: dict[str, float]) -> None:
            super().on_epoch_end(trainer, epoch, logs)
            for key, values in self.seen.items():
                values.append(logs[key])

    return Recorder()


def _sequence(c: Config, data, seed: int, replay: int) -> dict:
    """Learn OLD, then NEW (with ``replay`` old examples if > 0); per-epoch group accuracies."""
    from profond.data.replay import class_subset, fill_buffer, with_replay
    from profond.labs import small_train as st

    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    probe = _probe(data)
    old_data = class_subset(data, OLD)
    first = st.train(setting, old_data, seed, callbacks=[probe])
    new_data = class_subset(data, NEW)
    if replay:
        new_data = with_replay(new_data, fill_buffer(old_data, replay, seed))
    st.train(setting, new_data, seed, model=lambda _d, _s: first.model, callbacks=[probe])
    history = probe.seen
    return {"old_before": history["test_old_accuracy"][c.epochs - 1],
            "old_after": history["test_old_accuracy"][-1],
            "new_after": history["test_new_accuracy"][-1], "history": history}  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    naive = [_sequence(c, data, s, 0) for s in ctx.seeds]
    replay = [_sequence(c, data, s, c.replay) for s in ctx.seeds]
    larger = [_sequence(c, data, s, c.larger_replay) for s in ctx.seeds]
    figure = _plot(naive, replay, larger, c, ctx)

    def nums(runs, key):
        return [r[key] for r in runs]

    return Outcome([
        decide(CLAIMS[0], [r["old_before"] >= c.old_before_at_least and r["old_after"] <= c.old_after_at_most
                           for r in naive],
               {k: nums(naive, k) for k in ("old_before", "old_after", "new_after")},
               summary=f"accuracy on 0–4: {fmt_seeds(nums(naive, 'old_before'))} after learning them, "
               f"{fmt_seeds(nums(naive, 'old_after'))} after 5–9 (5–9: {fmt_seeds(nums(naive, 'new_after'))})"),
        decide(CLAIMS[1], [r["old_after"] >= c.restored_at_least for r in replay],
               {**{k: nums(replay, k) for k in ("old_before", "old_after", "new_after")},
                "larger_replay": {k: nums(larger, k) for k in ("old_after", "new_after")}},
               summary=f"with {c.replay} replayed examples, accuracy on 0–4 after 5–9: "
               f"{fmt_seeds(nums(replay, 'old_after'))} (5–9: {fmt_seeds(nums(replay, 'new_after'))}); "
               f"with {c.larger_replay}: {fmt_seeds(nums(larger, 'old_after'))} (5–9: "
               f"{fmt_seeds(nums(larger, 'new_after'))})"),
    ], [figure])  # fmt: skip


def _plot(naive, replay, larger, c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, axes = new_figure(ncols=3, width=4.2)
    epochs = list(range(1, 2 * c.epochs + 1))
    panels = (
        (naive, "no replay"),
        (replay, f"replay {c.replay}"),
        (larger, f"replay {c.larger_replay}"),
    )
    for ax, (runs, name) in zip(axes, panels, strict=True):
        seed_lines(ax, epochs, [r["history"]["test_old_accuracy"] for r in runs], "classes 0–4")
        seed_lines(ax, epochs, [r["history"]["test_new_accuracy"] for r in runs], "classes 5–9")
        ax.axvline(c.epochs + 0.5, color="grey", linestyle=":")
        ax.set_title(name)
        ax.set_xlabel("epoch (task 0–4, then 5–9)")
        ax.set_ylabel("test accuracy")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    return finish(fig, ctx.path("catastrophic_forgetting.png"), "Forgetting and replay, every seed")


LAB = Lab(
    name="catastrophic_forgetting",
    title="Catastrophic forgetting: new classes erase old ones; a small replay buffer prevents it",
    claims=CLAIMS,
    setup="Class-incremental digits: a 128-128 ReLU MLP with one 10-way head learns 0–4, then "
    "5–9 (Adam, profond's Trainer, same budget per task), either alone or with a reservoir "
    "replay buffer of 5 % of the old training images mixed in (profond.data.replay); accuracy "
    "on each group of classes measured every epoch on the test split (GroupAccuracy).",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("catastrophic forgetting", "oubli catastrophique", "continual learning", "replay"),
    answers=("Q141", "Q142", "Q143", "Q144"),
)
