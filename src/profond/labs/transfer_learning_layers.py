"""Lab: which layers transfer — the early (generic) or the deep (specific) ones?

Course: transfer learning reuses a pre-trained network's generic features and needs less data;
one of its answers says the *deep* layers capture the generic patterns. The literature (Yosinski
et al. 2014) finds the opposite: early layers are generic, deep ones task-specific. Measured with
profond's own :func:`profond.models.transfer.init_from` (copy weights, freeze the first layers).
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds

SOURCE, TARGET = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (128, 128, 128)
    source_epochs: int = 15
    target_epochs: int = 30
    lr_grid: tuple[float, ...] = (1e-3, 3e-3, 1e-2)  # Adam, tuned per arm on validation
    batch_size: int = 16
    per_class: int = 10  # target training images per class (small data)
    margin: float = 0.02  # differences count beyond max(this, 2 × pooled seed std)


CONFIG = Config()
FAITHFUL = Config(seeds=6, source_epochs=30, target_epochs=60)
CLAIMS = (
    Claim("transfer_needs_less_data",
          "Starting from a network pre-trained on another task needs less data: with few "
          "examples, fine-tuning it beats training from scratch.", "transfer learning; Q23; Q24",
          f"test accuracy on digits 5–9 with {CONFIG.per_class} training images per class, from "
          "scratch vs from a 128-128-128 MLP pre-trained on 0–4 (all layers fine-tuned)",
          f"per seed: fine-tuned − scratch > max({CONFIG.margin:g}, 2 × pooled seed std)",
          expected="holds"),
    Claim("early_layers_generic",
          "The early layers hold generic features: frozen as they are, they serve the new task "
          "as well as retraining them.", "transfer learning (the literature's answer to Q101)",
          "target test accuracy with the first hidden layer copied and frozen (the rest retrained) "
          "vs from scratch",
          f"per seed: scratch − frozen-first ≤ max({CONFIG.margin:g}, 2 × pooled seed std)",
          expected="holds"),
    Claim("deep_layers_generic",
          "The deep layers capture the generic, reusable patterns.", "Q101",
          "target test accuracy with every hidden layer copied and frozen (only the head "
          "retrained) vs with only the first one frozen",
          f"per seed: frozen-first − frozen-all ≤ max({CONFIG.margin:g}, 2 × pooled seed std) "
          "(freezing the deep layers too costs nothing)", expected="does not hold"),
)  # fmt: skip


def _few(data, per_class: int, seed: int):
    """``data`` with only ``per_class`` training images of each class (seeded choice)."""
    from dataclasses import replace

    import torch

    g = torch.Generator().manual_seed(seed)
    keep = []
    for cls in data.y_train.unique():
        members = torch.nonzero(data.y_train == cls).flatten()
        keep.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    index = torch.cat(keep)
    return replace(data, x_train=data.x_train[index], y_train=data.y_train[index])


def _arms(c: Config, data, seeds) -> list[dict[str, float]]:
    """Target test accuracy per arm and seed; each arm's lr tuned on the target's validation."""
    from profond.data.replay import class_subset
    from profond.labs import small_train as st
    from profond.models.transfer import init_from

    setting = st.Setting(optimizer="adam", lr=c.lr_grid[0], epochs=c.source_epochs, batch_size=c.batch_size,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    source_data = class_subset(data, SOURCE)
    weights = {}
    for seed in seeds:
        source = st.train(setting.but(lr=c.lr_grid[0], batch_size=64), source_data, seed).model
        weights[seed] = {k: v for k, v in source.state_dict().items() if not k.startswith("head.")}
    target = _few(class_subset(data, TARGET), c.per_class, 0)  # the same few images for every seed
    arms: dict[str, int | None] = {"scratch": -1, "fine-tuned": None,
                                   **{f"frozen {k}": k for k in range(1, len(c.hidden_sizes) + 1)}}  # fmt: skip
    out: list[dict[str, float]] = [{} for _ in seeds]
    for name, freeze in arms.items():

        def factory(d, s, freeze=freeze):
            model = st.build_model(setting, d, s)
            if freeze != -1:
                init_from(model, weights[s], freeze=freeze)
            return model

        _, runs = st.tuned_over_seeds(setting.but(epochs=c.target_epochs), target, seeds, c.lr_grid,
                                      model=factory)  # fmt: skip
        for row, run in zip(out, runs, strict=True):
            row[name] = run.test["test_accuracy"]
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    runs = _arms(c, data, ctx.seeds)
    deepest = f"frozen {len(c.hidden_sizes)}"

    def arm(name):
        return [r[name] for r in runs]

    helps = compare(arm("fine-tuned"), arm("scratch"), margin=c.margin)
    early = compare(arm("scratch"), arm("frozen 1"), margin=c.margin)
    deep = compare(arm("frozen 1"), arm(deepest), margin=c.margin)
    figure = _plot(runs, ctx)
    return Outcome([
        decide(CLAIMS[0], helps.greater(), {**helps.to_json(), "runs": runs},
               summary=f"fine-tuned {fmt_seeds(helps.a)} vs scratch {fmt_seeds(helps.b)} "
               f"(counts beyond {helps.threshold:.3f})"),
        decide(CLAIMS[1], [not g for g in early.greater()], early.to_json(),
               summary=f"scratch {fmt_seeds(early.a)} vs first layer frozen {fmt_seeds(early.b)} "
               f"(counts beyond {early.threshold:.3f})"),
        decide(CLAIMS[2], [not g for g in deep.greater()], deep.to_json(),
               summary=f"first layer frozen {fmt_seeds(deep.a)} vs all hidden layers frozen "
               f"{fmt_seeds(deep.b)} (counts beyond {deep.threshold:.3f}); per depth: " + "; ".join(
                   ", ".join(f"{k} {v:.3f}" for k, v in r.items()) for r in runs)),
    ], [figure])  # fmt: skip


def _plot(runs, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax,) = new_figure(width=6.0)
    seed_dots(ax, {name: [r[name] for r in runs] for name in runs[0]}, "target test accuracy")
    return finish(fig, ctx.path("transfer_learning_layers.png"),
                  "Transfer 0–4 → 5–9: layers copied and frozen, every seed")  # fmt: skip


LAB = Lab(
    name="transfer_learning_layers",
    title="Transfer learning: the early layers are the generic ones, not the deep ones",
    claims=CLAIMS,
    setup="A 128-128-128 ReLU MLP pre-trained with Adam on digits 0–4 (profond's Trainer); "
    "target task: digits 5–9 with 10 training images per class; arms: from scratch, every "
    "layer copied and fine-tuned, and the first k hidden layers copied and frozen with the rest "
    "retrained (profond.models.transfer.init_from; the head always fresh); same budget, each "
    "arm's Adam lr tuned on the target's validation split.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "transfer learning",
        "fine-tuning",
        "feature extraction",
        "apprentissage par transfert",
    ),
    answers=("Q23", "Q24", "Q101", "Q102"),
)
