"""Lab: knowledge distillation — what a student learns from a teacher's soft targets.

Course: a light student learns to imitate a heavy teacher by reproducing its outputs, whose
soft probabilities carry more than the hard labels. Measured with profond's own
:class:`~profond.compress.distill.DistillationTask` (loss ``α·T²·KL + (1 − α)·CE``).
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    teacher_hidden: tuple[int, ...] = (256, 256)
    teacher_dropout: float = 0.2
    teacher_epochs: int = 15
    student_hidden: tuple[int, ...] = (16,)
    student_epochs: int = 20
    lr_grid: tuple[float, ...] = (3e-3, 1e-2)  # Adam, tuned per student arm on validation
    temperature: float = 4.0
    alpha: float = 0.9
    margin: float = 0.005  # soft targets help: +0.5 point beyond the seed spread
    omitted_class: int = 3
    bias_grid: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)  # head bias shift
    omitted_at_least: float = 0.5  # the distilled student's accuracy on the never-seen class


CONFIG = Config()
FAITHFUL = Config(seeds=6, teacher_epochs=40, student_epochs=60)
CLAIMS = (
    Claim("soft_targets_help",
          "A student trained on the teacher's soft outputs learns better than the same student "
          "trained on the hard labels: the soft targets carry more information.",
          "distillation; Q139; Q140",
          f"digits test accuracy of a {CONFIG.student_hidden} MLP student on hard labels vs "
          f"distilled from a 256-256 teacher (T = {CONFIG.temperature:g}, α = {CONFIG.alpha:g}), "
          "each arm's lr tuned on validation",
          f"per seed: distilled − hard > max({CONFIG.margin:g}, 2 × pooled seed std)",
          expected="subtle"),
    Claim("dark_knowledge_unseen_class",
          "The teacher's soft outputs teach a student even a class it never saw in training.",
          "Q140",
          f"test accuracy on the digit {CONFIG.omitted_class} of students trained on a set "
          f"without any {CONFIG.omitted_class}, after one shift of that class's output bias "
          "picked on validation",
          f"per seed: distilled student ≥ {CONFIG.omitted_at_least:g} on the omitted class",
          expected="holds"),
)  # fmt: skip


def _without(data, cls: int):
    """``data`` with no example of class ``cls`` in its training and validation splits."""
    from dataclasses import replace

    train, val = data.y_train != cls, data.y_val != cls
    return replace(data, x_train=data.x_train[train], y_train=data.y_train[train],
                   x_val=data.x_val[val], y_val=data.y_val[val])  # fmt: skip


def _omitted_accuracy(model, data, cls: int, grid) -> tuple[float, float]:
    """Accuracy on the test examples of ``cls`` after the best bias shift on validation."""
    import torch

    with torch.no_grad():
        val, test = model(data.x_val), model(data.x_test)

    def shifted(logits, delta):
        out = logits.clone()
        out[:, cls] += delta
        return out.argmax(1)

    best = max(grid, key=lambda d: float((shifted(val, d) == data.y_val).float().mean()))
    mask = data.y_test == cls
    return float((shifted(test[mask], best) == cls).float().mean()), float(best)


def experiment(ctx: LabContext) -> Outcome:
    from profond.compress.distill import DistillationTask
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    teacher_setting = st.Setting(optimizer="adam", lr=1e-3, epochs=c.teacher_epochs,
                                 model_options={"hidden_sizes": c.teacher_hidden,
                                                "dropout": c.teacher_dropout})  # fmt: skip
    student = st.Setting(optimizer="adam", epochs=c.student_epochs,
                         model_options={"hidden_sizes": c.student_hidden, "dropout": 0.0})  # fmt: skip
    teachers = [st.train(teacher_setting, data, s).model for s in ctx.seeds]
    hard_tuned, hard = st.tuned_over_seeds(student, data, ctx.seeds, c.lr_grid)
    kd, omitted = [], []
    kd_lrs: list[float] = []
    hidden = _without(data, c.omitted_class)
    for seed, teacher in zip(ctx.seeds, teachers, strict=True):

        def task(d, teacher=teacher):
            return DistillationTask(d, teacher, c.temperature, c.alpha)

        if not kd_lrs:  # tuned once, on the first seed (validation split), like the hard arm
            kd_lrs.append(st.tune_lr(student, data, c.lr_grid, seed=seed, task=task).lr)
        kd.append(st.train(student.but(lr=kd_lrs[0]), data, seed, task=task))
        arms = {
            "hard": st.train(student.but(lr=hard_tuned.lr), hidden, seed),
            "distilled": st.train(student.but(lr=kd_lrs[0]), hidden, seed, task=task),
        }
        omitted.append({k: _omitted_accuracy(r.model, data, c.omitted_class, c.bias_grid)
                        for k, r in arms.items()})  # fmt: skip
    teacher_acc = [_acc(t, data) for t in teachers]
    gain = compare([r.test["test_accuracy"] for r in kd], [r.test["test_accuracy"] for r in hard],
                   margin=c.margin)  # fmt: skip
    kd_omit = [o["distilled"][0] for o in omitted]
    shifts = ", ".join(f"{o['distilled'][1]:g}/{o['hard'][1]:g}" for o in omitted)
    figure = _plot(teacher_acc, gain, omitted, ctx)
    return Outcome([
        decide(CLAIMS[0], gain.greater(),
               {**gain.to_json(), "teacher": teacher_acc, "lr_hard": hard_tuned.lr, "lr_distilled": kd_lrs[0]},
               summary=f"teacher {fmt_seeds(teacher_acc)}; student distilled {fmt_seeds(gain.a)} vs "
               f"hard labels {fmt_seeds(gain.b)}: mean gain {gain.mean_diff:+.4f} (counts beyond "
               f"{gain.threshold:.4f})"),
        decide(CLAIMS[1], [a >= c.omitted_at_least for a in kd_omit], {"omitted": omitted},
               summary=f"accuracy on the never-seen {c.omitted_class}s: distilled {fmt_seeds(kd_omit)}"
               f", hard labels {fmt_seeds([o['hard'][0] for o in omitted])} (bias shifts "
               f"distilled/hard: {shifts})"),
    ], [figure])  # fmt: skip


def _acc(model, data) -> float:
    import torch

    with torch.no_grad():
        return float((model(data.x_test).argmax(1) == data.y_test).float().mean())


def _plot(teacher_acc, gain, omitted, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_a, ax_o) = new_figure(ncols=2)
    seed_dots(ax_a, {"teacher": teacher_acc, "student, hard": list(gain.b),
                     "student, distilled": list(gain.a)}, "test accuracy")  # fmt: skip
    ax_a.set_ylim(0.8, 1.0)
    seed_dots(ax_o, {"hard": [o["hard"][0] for o in omitted],
                     "distilled": [o["distilled"][0] for o in omitted]},
              "accuracy on the omitted class")  # fmt: skip
    return finish(fig, ctx.path("distillation.png"), "Distillation on digits, every seed")


LAB = Lab(
    name="distillation",
    title="Distillation: soft targets teach a small student, even a class it never saw",
    claims=CLAIMS,
    setup="Teacher: 256-256 ReLU MLP with dropout 0.2, Adam, on standardized digits; student: "
    "one hidden layer of 16, trained on hard labels or with profond.compress's distillation "
    "loss (T = 4, α = 0.9), each arm's Adam lr tuned on validation (profond's Trainer). "
    "Omitted-class test: both students trained without any 3 (training and validation), then "
    "the output bias of class 3 shifted by the amount that maximizes validation accuracy.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("distillation", "teacher", "student", "soft targets", "compression"),
    answers=("Q117", "Q138", "Q139", "Q140"),
)
