"""Lab: does learning a second task at the same time help the first, whatever the task?

Q129 and Q130: a network trained on several tasks shares its representation; a related task
helps, most when the main task has few labels, while an unrelated one can hurt (negative
transfer). The lab uses sklearn's digits with the class known for only 100 training images and
an auxiliary label known for all of them: the digit's parity (related: it depends on the class)
or a coin flip fixed per image (unrelated). profond's MLP gets a second head; the Trainer
minimises the sum of both cross-entropies (the main one over the labelled images only).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

ARMS = ("main task only", "+ parity (related)", "+ coin flip (unrelated)")
UNLABELLED = -1  # main-task label of an image whose class is not known (as the task expects)


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    labelled: int = 100  # training images whose class is known
    hidden: int = 64
    epochs: int = 30
    lr: float = 3e-3  # Adam
    aux_weight: float = 1.0  # weight of the auxiliary cross-entropy
    helps: float = 0.02  # "helps": main-task test accuracy higher by at least this
    hurts: float = 0.01  # "hurts": lower by at least this


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=80)


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "related_task_helps",
            "Learning a related auxiliary task at the same time improves the main task when its "
            "labels are few.",
            "Q129; Q130",
            f"digit test accuracy with {c.labelled} class labels, alone vs with parity labels "
            "for every image",
            f"holds for a seed if higher by at least {c.helps:g}",
            expected="subtle",
        ),
        Claim(
            "unrelated_task_hurts",
            "An unrelated auxiliary task can hurt the main task (negative transfer).",
            "Q130",
            "the same accuracy with coin-flip labels as the auxiliary task",
            f"holds for a seed if lower than the main task alone by at least {c.hurts:g}",
            expected="subtle",
        ),
    )


CLAIMS = _claims(CONFIG)


def multitask_model(c: Config, seed: int, aux: bool):
    """profond's MLP, with a second, two-way head on the same hidden layer when ``aux``.

    ``forward`` gives the main task's logits ``(B, 10)``; ``aux_logits`` the second head's
    ``(B, 2)``.
    """
    import torch

    from profond.models.mlp import MLP, MLPConfig

    torch.manual_seed(seed)
    return MLP(
        MLPConfig(in_features=64, hidden_sizes=(c.hidden,), dropout=0.0,
                  aux_classes=2 if aux else 0, aux_weight=c.aux_weight)
    )  # fmt: skip


def arm_data(data, arm: str, c: Config, seed: int):
    """Training targets ``(N, 2)``: the class for the first ``labelled`` images (else -1) and
    the arm's auxiliary label; validation and test keep the class only."""
    import dataclasses

    import torch

    main = data.y_train.clone()
    main[c.labelled :] = UNLABELLED
    if arm.startswith("+ parity"):
        aux = data.y_train % 2
    else:
        aux = torch.randint(2, data.y_train.shape, generator=torch.Generator().manual_seed(seed))
    return dataclasses.replace(data, y_train=torch.stack([main, aux], dim=1))


def _factory(c: Config, aux: bool, data: Any, seed: int) -> Any:
    return multitask_model(c, seed, aux)


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs.small_train import Setting, digits, train
    from profond.train.tasks.multitask import MultitaskTask

    c: Config = ctx.config
    claims = _claims(c)
    data = digits()
    setting = Setting(optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=64)
    task = MultitaskTask
    acc: dict[str, list[float]] = {arm: [] for arm in ARMS}
    for seed in ctx.seeds:
        for arm in ARMS:
            run = train(setting, arm_data(data, arm, c, seed), seed, task=task,
                        model=partial(_factory, c, arm != ARMS[0]))  # fmt: skip
            acc[arm].append(run.test["test_accuracy"])
    base, related, unrelated = acc[ARMS[0]], acc[ARMS[1]], acc[ARMS[2]]
    verdicts = [
        decide(claims[0], [r - b >= c.helps for r, b in zip(related, base, strict=True)], {"test_accuracy": acc},
               summary=f"digit accuracy: alone {fmt_seeds(base)}, with parity {fmt_seeds(related)}."),
        decide(claims[1], [b - u >= c.hurts for u, b in zip(unrelated, base, strict=True)], {"test_accuracy": acc},
               summary=f"digit accuracy: alone {fmt_seeds(base)}, with coin flips {fmt_seeds(unrelated)}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(acc, c, ctx)])


def _plot(acc: dict[str, list[float]], c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax,) = new_figure(width=6.0)
    seed_dots(ax, acc, ylabel="digit test accuracy")
    ax.set_ylim(0.6, 1.0)
    return finish(fig, ctx.path("multitask.png"), f"Digits, {c.labelled} class labels: auxiliary tasks")  # fmt: skip


LAB = Lab(
    name="multitask_learning",
    title="Multi-task learning: a related vs an unrelated auxiliary task, few labels",
    claims=CLAIMS,
    setup=(
        "sklearn digits, standardized; the class is known for 100 of the 1 150 training images, "
        "the auxiliary label for all (parity, or a fixed coin flip). profond's MLP (64 units) "
        "with a second two-way head, trained by the Trainer on the sum of the cross-entropies "
        "(Adam 3e-3, 30 epochs, batch 64); 'alone' trains the same network without the second loss."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "multi-task",
        "multitâche",
        "multitask",
        "auxiliary task",
        "tâche auxiliaire",
        "negative transfer",
    ),  # fmt: skip
    answers=("Q129", "Q130"),
)
