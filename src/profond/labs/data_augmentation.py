"""Lab: realistic augmentation helps on small data; an unrealistic one does not.

Course Q69 (augmentation generates new data artificially to improve generalization), Q70
(realistic invariances — position, orientation, lighting — without new labels), C66 (rotations
as augmentation), Q9/Q92 (augmentation as regularization). 300 digits train an MLP (profond's
family and Trainer, Adam) with no augmentation, with random one-pixel shifts
(:func:`profond.data.augment.augment_batch`), or with random upside-down flips (a control: no
digit is written upside down, and a 6 becomes a 9). An MLP has no built-in translation
equivariance, so what it knows about shifts comes from the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds

ARMS = ("none", "shifts", "upside_down")


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    examples: int = 300
    hidden_sizes: tuple[int, ...] = (256, 256)
    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-3
    max_shift: int = 1  # pixels, on 8×8 images
    clean_gain: float = 0.01  # shifts raise clean test accuracy by ≥ 1 point
    shifted_gain: float = 0.05  # ... and shifted-test accuracy by ≥ 5 points
    control_gain: float = 0.005  # the control "helps" only above +0.5 point


CONFIG = Config()
FAITHFUL = Config(seeds=5, examples=600, epochs=60)
CLAIMS = (
    Claim("augmentation_improves_generalization",
          "Augmenting the training data with realistic variations (small shifts) improves "
          "generalization on small data.", "Q69; Q9; Q92",
          f"clean test accuracy with ±{CONFIG.max_shift} px shifts vs without, "
          f"{CONFIG.examples} training digits",
          f"per seed: gain ≥ {CONFIG.clean_gain:g}", expected="holds"),
    Claim("augmentation_teaches_invariance",
          "Augmentation teaches the invariances it encodes (here, position).", "Q70; C66",
          f"accuracy on test digits shifted by up to {CONFIG.max_shift} px, with vs without "
          "shift augmentation", f"per seed: gain ≥ {CONFIG.shifted_gain:g}", expected="holds"),
    Claim("any_augmentation_helps",
          "Generating new training data artificially improves generalization, whatever the "
          "transformation.", "Q69", "clean test accuracy with random upside-down flips vs "
          "without (flips are not a real invariance of digits)",
          f"per seed: gain > {CONFIG.control_gain:g}", expected="does not hold"),
)  # fmt: skip


def _transform(kind: str, max_shift: int):
    import torch

    from profond.data.augment import augment_batch

    if kind == "shifts":
        return lambda x: augment_batch(x, max_shift=max_shift, flip=False)
    if kind == "upside_down":
        return lambda x: torch.where((torch.rand(len(x)) < 0.5)[:, None, None, None], x.flip(-2), x)
    return lambda x: x


def _augmented_task(kind: str, max_shift: int):
    """A classification task whose training batches pass through ``kind``'s transform."""
    transform = _transform(kind, max_shift)

    def make(data):
        task = sweeps.lean_task(data)
        step = task.training_step
        task.training_step = lambda model, x, y: step(model, transform(x), y)
        return task

    return make


def _seed(c: Config, data, seed: int) -> dict:
    import torch

    from profond.data.augment import augment_batch
    from profond.labs import small_train as st

    small = sweeps.subset(data, c.examples, seed)
    shifted_x = augment_batch(data.x_test, torch.Generator().manual_seed(seed), c.max_shift, flip=False)  # fmt: skip
    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs, batch_size=c.batch_size,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    out = {}
    for kind in ARMS:
        model = st.train(setting, small, seed, task=_augmented_task(kind, c.max_shift)).model
        out[kind] = {"clean": sweeps.accuracy(model, data.x_test, data.y_test),
                     "shifted": sweeps.accuracy(model, shifted_x, data.y_test)}  # fmt: skip
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="minmax")  # background 0: zero padding of a shift is background
    runs = [_seed(c, data, s) for s in ctx.seeds]

    def arm(kind, split):
        return [r[kind][split] for r in runs]

    clean = compare(arm("shifts", "clean"), arm("none", "clean"))
    shifted = compare(arm("shifts", "shifted"), arm("none", "shifted"))
    control = compare(arm("upside_down", "clean"), arm("none", "clean"))
    figure = _plot(runs, ctx)
    return Outcome([
        decide(CLAIMS[0], [d >= c.clean_gain for d in clean.diffs], clean.to_json(),
               summary=f"clean test accuracy with shifts {fmt_seeds(clean.a)} vs none {fmt_seeds(clean.b)}"),
        decide(CLAIMS[1], [d >= c.shifted_gain for d in shifted.diffs], shifted.to_json(),
               summary=f"shifted test accuracy with shifts {fmt_seeds(shifted.a)} vs none {fmt_seeds(shifted.b)}"),
        decide(CLAIMS[2], [d > c.control_gain for d in control.diffs], control.to_json(),
               summary=f"clean test accuracy with upside-down flips {fmt_seeds(control.a)} vs none {fmt_seeds(control.b)}"),
    ], [figure])  # fmt: skip


def _plot(runs, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, axes = new_figure(ncols=2, width=5.0)
    for ax, split in zip(axes, ("clean", "shifted"), strict=True):
        seed_dots(ax, {k: [r[k][split] for r in runs] for k in ARMS}, f"{split} test accuracy")
        ax.set_ylim(0.5, 1.0)
    return finish(fig, ctx.path("data_augmentation.png"), "Augmentation on 300 digits, every seed")


LAB = Lab(
    name="data_augmentation",
    title="Data augmentation: realistic shifts help on small data, upside-down flips do not",
    claims=CLAIMS,
    setup="300 training digits in [0, 1] drawn per seed, a 256-256 ReLU MLP from profond's "
    "family, Adam lr 3e-3, 30 epochs of batches of 32 (profond's Trainer); training batches "
    "unchanged, shifted by up to 1 px (profond.data.augment, zero padding) or flipped upside "
    "down with probability 1/2; tested on the 360 test digits as they are and shifted by up to "
    "1 px. (Faithful mode keeps digits; a Fashion-MNIST CNN version is too slow for 60 s here.)",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "augmentation",
        "data augmentation",
        "invariance",
        "translation",
        "rotation",
        "régularisation",
    ),  # fmt: skip
    answers=("Q9", "Q69", "Q70", "Q92", "C66"),
)
