"""Lab: label noise, memorization and what early stopping buys.

Course Q93/Q94 (early stopping: stop when validation stops improving; an implicit regularizer),
Q128 and Q91 (the model learns wrong labels as if they were true), Q147 and C18 (a falling
training loss can hide a rising validation loss), Q9/C72 (early stopping as regularization). A
256-256 MLP (profond's family and Trainer, Adam) trains on digits with 0 % and 40 % of its
training labels replaced by another class; probes record, every epoch, the accuracy on the
clean and on the mislabelled training examples and on the test split. Early stopping keeps the
epoch of lowest validation loss, as ``TrainConfig.patience`` with ``restore_best`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    noise: float = 0.4
    hidden_sizes: tuple[int, ...] = (256, 256)
    epochs: int = 60
    lr: float = 1e-3
    helps_noisy: float = 0.01  # early stopping's test gain with noise: more than 1 point
    helps_clean: float = 0.005  # ... and without noise (the course's general claim): 0.5 point
    clean_fit: float = 0.9  # at the early-stopping epoch: clean examples fitted ≥ this
    noisy_fit: float = 0.3  # ... mislabelled ones ≤ this
    later_rise: float = 0.2  # mislabelled fit rises by at least this after that epoch
    hidden_epochs: int = 20  # training loss falls while validation loss rises this long


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=150)
CLAIMS = (
    Claim("early_stopping_helps_with_noise",
          "Early stopping improves test accuracy when labels are noisy.", "Q93; Q94; Q128",
          f"test accuracy at the lowest-validation-loss epoch minus at the last epoch, "
          f"{CONFIG.noise:.0%} noisy labels",
          f"per seed: more than {CONFIG.helps_noisy:g}", expected="holds"),
    Claim("early_stopping_helps_clean",
          "Early stopping improves test accuracy (it regularizes), also with clean labels.",
          "Q9; Q94; C72", "the same gain with clean labels",
          f"per seed: more than {CONFIG.helps_clean:g}", expected="does not hold"),
    Claim("clean_examples_first",
          "The network learns the mislabelled examples as if they were true — but only after "
          "the clean ones.", "Q128; Q91",
          "training accuracy on the clean and on the mislabelled examples (against their given "
          "labels) at the early-stopping epoch and at the end",
          f"per seed: at the early-stopping epoch clean ≥ {CONFIG.clean_fit:g} and mislabelled ≤ "
          f"{CONFIG.noisy_fit:g}, and mislabelled rises by ≥ {CONFIG.later_rise:g} by the end",
          expected="holds"),
    Claim("falling_loss_hides_overfitting",
          "A decreasing training loss does not guarantee a good model: validation loss can rise "
          "meanwhile.", "Q147; C18",
          "epochs after the validation-loss minimum, and both losses there and at the end "
          f"({CONFIG.noise:.0%} noise)",
          f"per seed: ≥ {CONFIG.hidden_epochs} epochs after the minimum, the training loss lower "
          "and the validation loss higher at the end", expected="holds"),
)  # fmt: skip


def _run(c: Config, data, seed: int, noise: float) -> dict:
    import torch

    from profond.labs import small_train as st

    noisy_y = sweeps.flip_labels(data.y_train, noise, data.num_classes, seed) if noise else data.y_train  # fmt: skip
    wrong = noisy_y != data.y_train
    probes = {
        "clean": sweeps.accuracy_probe(data.x_train[~wrong], noisy_y[~wrong]),
        "noisy": sweeps.accuracy_probe(data.x_train[wrong], noisy_y[wrong]) if bool(wrong.any()) else None,
        "test": sweeps.accuracy_probe(data.x_test, data.y_test),
    }  # fmt: skip
    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    run = st.train(setting, sweeps.with_labels(data, noisy_y), seed, task=sweeps.lean_task,
                   callbacks=[p for p in probes.values() if p is not None])  # fmt: skip
    val_loss = run.history["val_loss"]
    best = int(torch.tensor(val_loss).argmin())
    curves = {k: p.values if p is not None else [] for k, p in probes.items()}
    return {
        "best_epoch": best + 1,
        "gain": curves["test"][best] - curves["test"][-1],
        "curves": curves,
        "train_loss": run.history["train_loss"],
        "val_loss": val_loss,
    }


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    noisy = [_run(c, data, s, c.noise) for s in ctx.seeds]
    clean = [_run(c, data, s, 0.0) for s in ctx.seeds]
    last = c.epochs - 1
    at_best = [(r["curves"]["clean"][r["best_epoch"] - 1], r["curves"]["noisy"][r["best_epoch"] - 1], r["curves"]["noisy"][-1]) for r in noisy]  # fmt: skip
    hidden = [(c.epochs - r["best_epoch"], r["train_loss"][-1] < r["train_loss"][r["best_epoch"] - 1],
               r["val_loss"][-1] > r["val_loss"][r["best_epoch"] - 1]) for r in noisy]  # fmt: skip
    figure = _plot(c, noisy, clean, ctx)
    return Outcome([
        decide(CLAIMS[0], [r["gain"] > c.helps_noisy for r in noisy], {"gain": [r["gain"] for r in noisy], "best_epoch": [r["best_epoch"] for r in noisy]},
               summary=f"{c.noise:.0%} noise: test accuracy at the early-stopping epoch ({[r['best_epoch'] for r in noisy]}) minus at epoch "
               f"{last + 1}: {fmt_seeds([r['gain'] for r in noisy])}"),
        decide(CLAIMS[1], [r["gain"] > c.helps_clean for r in clean], {"gain": [r["gain"] for r in clean], "best_epoch": [r["best_epoch"] for r in clean]},
               summary=f"clean labels: the same gain {fmt_seeds([r['gain'] for r in clean])} (early-stopping epochs {[r['best_epoch'] for r in clean]})"),
        decide(CLAIMS[2], [cl >= c.clean_fit and nb <= c.noisy_fit and ne - nb >= c.later_rise for cl, nb, ne in at_best],
               {"clean_at_best": [a[0] for a in at_best], "noisy_at_best": [a[1] for a in at_best], "noisy_at_end": [a[2] for a in at_best]},
               summary="at the early-stopping epoch, clean / mislabelled fitted: " + "; ".join(
                   f"{cl:.3f} / {nb:.3f} (mislabelled at the end {ne:.3f})" for cl, nb, ne in at_best)),
        decide(CLAIMS[3], [n >= c.hidden_epochs and tr and va for n, tr, va in hidden],
               {"epochs_after_minimum": [h[0] for h in hidden], "train_falls": [h[1] for h in hidden], "val_rises": [h[2] for h in hidden]},
               summary=f"epochs after the validation-loss minimum: {[h[0] for h in hidden]}; training loss "
               f"{fmt_seeds([r['train_loss'][-1] for r in noisy])} at the end, validation loss "
               f"{fmt_seeds([min(r['val_loss']) for r in noisy])} → {fmt_seeds([r['val_loss'][-1] for r in noisy])}"),
    ], [figure])  # fmt: skip


def _plot(c: Config, noisy, clean, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_l, ax_f) = new_figure(ncols=2, width=5.5)
    epochs = list(range(1, c.epochs + 1))
    seed_lines(ax_l, epochs, [r["train_loss"] for r in noisy], f"train, {c.noise:.0%} noise", "tab:blue", log=True)  # fmt: skip
    seed_lines(ax_l, epochs, [r["val_loss"] for r in noisy], f"validation, {c.noise:.0%} noise", "tab:red", log=True)  # fmt: skip
    seed_lines(ax_l, epochs, [r["val_loss"] for r in clean], "validation, clean", "tab:green", log=True)  # fmt: skip
    ax_l.set(xlabel="epoch", ylabel="cross-entropy")
    for name, color in (("clean", "tab:blue"), ("noisy", "tab:red"), ("test", "black")):
        seed_lines(ax_f, epochs, [r["curves"][name] for r in noisy], f"{name} examples", color)
    for r in noisy:
        ax_f.axvline(r["best_epoch"], color="gray", linestyle=":", linewidth=0.8)
    ax_f.set(
        xlabel="epoch (dotted: early-stopping epoch)", ylabel=f"accuracy ({c.noise:.0%} noise)"
    )
    for ax in (ax_l, ax_f):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return finish(fig, ctx.path("early_stopping.png"), "Label noise and early stopping, every seed")


LAB = Lab(
    name="early_stopping_label_noise",
    title="Label noise: clean examples first, then memorization; early stopping helps with noise",
    claims=CLAIMS,
    setup="Standardized digits (1 150 train / 287 validation / 360 test), 0 % or 40 % of the "
    "training labels replaced by another class (validation and test clean), a 256-256 ReLU MLP "
    "from profond's family, Adam lr 1e-3, 60 epochs of batches of 64, profond's Trainer; probes "
    "record per epoch the accuracy on clean and mislabelled training examples and on the test "
    "split; the early-stopping epoch is the one of lowest validation loss.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "early stopping",
        "arrêt précoce",
        "bruit",
        "label noise",
        "étiquettes",
        "overfitting",
        "surapprentissage",
        "validation",
    ),  # fmt: skip
    answers=("Q8", "Q9", "Q88", "Q91", "Q92", "Q93", "Q94", "Q128", "Q147", "C18", "C72"),
)
