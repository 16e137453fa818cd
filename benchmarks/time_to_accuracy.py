"""Wall time until the test accuracy first reaches each target, for the CNN and the ResNet.

Each family trains with the recipe of its default command (``profond train --model NAME``:
the dataset's and family's defaults, overridden by ``--set KEY=VALUE`` run options) through
profond's :class:`Trainer`, and, in the same run, through a plain hand-written PyTorch loop of
the same network, batches, augmentation and learning-rate schedule. After every epoch the
test accuracy is measured off the clock; a runner stops at the last target or the budget.
With TensorFlow installed (``pip install 'profond[bench]'``), Keras's reference convnet runs too.

Usage::

    python benchmarks/time_to_accuracy.py [--families cnn resnet] [--targets 0.91 0.93 0.94]
        [--threads 2] [--limit N] [--epochs N] [--budget-s S] [--set ema=0.999 ...]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F

from profond.data.augment import get_augmentation
from profond.data.registry import load_dataset
from profond.models import get_family, make_config
from profond.runs import RunSpec, resolve
from profond.train.callbacks import Callback
from profond.train.device import resolve_precision
from profond.train.optim import build_optimizer, lr_factor
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


@dataclass
class Race:
    """Times to targets of one runner: ``reached[target] = seconds`` of training wall time."""

    targets: tuple[float, ...]
    budget_s: float
    reached: dict[float, float] = field(default_factory=dict)
    accuracies: list[float] = field(default_factory=list)
    train_s: float = 0.0  # training wall time so far (test evaluations excluded)

    label: str = ""  # printed with each epoch

    def epoch_done(self, seconds: float, accuracy: float) -> bool:
        """Record an epoch; True when the runner should stop."""
        self.train_s += seconds
        self.accuracies.append(accuracy)
        print(f"  {self.label} epoch {len(self.accuracies)}: {seconds:.1f} s, "
              f"test accuracy {accuracy:.4f}", flush=True)  # fmt: skip
        for target in self.targets:
            if accuracy >= target and target not in self.reached:
                self.reached[target] = self.train_s
        return len(self.reached) == len(self.targets) or self.train_s >= self.budget_s


class _Clock(Callback):
    """Test accuracy after each epoch, off the clock, with the weights the run evaluates."""

    def __init__(self, race: Race, task: ClassificationTask, data: Any) -> None:
        self.race, self.task, self.data = race, task, data
        self.last = 0.0

    def on_fit_start(self, trainer: Trainer, start_epoch: int) -> None:
        self.last = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        spent = time.perf_counter() - self.last
        model = trainer.evaluation_model
        accuracy = self.task.evaluate(model, self.data.x_test, self.data.y_test, 512)["accuracy"]
        model.train(trainer.model is model)
        trainer.should_stop = self.race.epoch_done(spent, accuracy)
        self.last = time.perf_counter()


def run_profond(model: torch.nn.Module, config: Any, data: Any, race: Race) -> None:
    task = ClassificationTask(data)
    Trainer(config, callbacks=[_Clock(race, task, data)]).fit(model, task, data)


def run_plain(model: torch.nn.Module, config: Any, data: Any, race: Race) -> None:
    """The loop a person writes: shuffle, augment, forward, loss, backward, step, schedule,
    with torch's own weight average (``AveragedModel``) and flip TTA when the recipe has them.
    No validation split is evaluated (profond's Trainer evaluates one after every epoch)."""
    from torch.optim.swa_utils import AveragedModel

    optimizer = build_optimizer(model.parameters(), config)
    augment = get_augmentation(config.augment) if config.augment else None
    average = (
        AveragedModel(model, multi_avg_fn=_ema_with_warmup(config.ema), use_buffers=True)
        if config.ema
        else None
    )
    x, y, size = data.x_train, data.y_train, config.batch_size
    steps = -(-len(x) // size)
    bf16 = resolve_precision(config.precision, torch.device("cpu")) == "bf16"  # as the Trainer
    torch.manual_seed(config.seed)
    for epoch in range(config.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x))
        for step, i in enumerate(range(0, len(x), size)):
            for group in optimizer.param_groups:
                group["lr"] = config.lr * lr_factor(config, epoch + step / steps)
            xb, yb = x[order[i : i + size]], y[order[i : i + size]]
            if augment is not None:
                xb = augment(xb, None)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(xb), yb, label_smoothing=config.label_smoothing)
            loss.backward()
            optimizer.step()
            if average is not None:
                average.update_parameters(model)
        spent = time.perf_counter() - start
        evaluated = average.module if average is not None else model
        evaluated.eval()
        with torch.no_grad():
            probs = torch.cat([_probs(evaluated, data.x_test[j : j + 512], config.tta == "flip")
                               for j in range(0, len(data.x_test), 512)])  # fmt: skip
        if race.epoch_done(spent, (probs.argmax(1) == data.y_test).float().mean().item()):
            return


def _ema_with_warmup(decay: float) -> Callable[..., None]:
    """The moving average profond's Trainer keeps: decay ``min(decay, (1 + n) / (10 + n))``
    after ``n`` updates, so that the first random weights fade at once."""

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: Any) -> None:
        step = int(n)
        floats = [(a, c) for a, c in zip(averaged, current, strict=True) if a.is_floating_point()]
        if not floats:  # a group of integer buffers (batch norm's counters): copied
            for a, c in zip(averaged, current, strict=True):
                a.copy_(c)
            return
        weight = 1.0 - min(decay, (1 + step) / (10 + step))
        torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], weight)

    return update


def _probs(model: torch.nn.Module, x: torch.Tensor, flip: bool) -> torch.Tensor:
    probs = model(x).softmax(1)
    return (probs + model(x.flip(-1)).softmax(1)) / 2 if flip else probs


def run_keras(data: Any, race: Race, epochs: int, batch_size: int, threads: int) -> None:
    """Keras's reference MNIST convnet (two conv/pool stages, dropout, softmax), on the same data.

    profond's CNN with ``--set channels=32,64 --set padding=valid --set hidden_size=0 --set
    dropout=0.5 --set batch_norm=false`` is the same network.
    """
    import tensorflow as tf  # type: ignore[import-not-found]

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras  # type: ignore[import-not-found]

    x = data.x_train.permute(0, 2, 3, 1).numpy()
    xt = data.x_test.permute(0, 2, 3, 1).numpy()
    model = keras.Sequential([
        keras.Input(shape=x.shape[1:]),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dropout(0.5),
        keras.layers.Dense(data.num_classes, activation="softmax"),
    ])  # fmt: skip
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(x, data.y_train.numpy(), batch_size=batch_size, epochs=1, verbose=0)
        spent = time.perf_counter() - start
        accuracy = model.evaluate(xt, data.y_test.numpy(), verbose=0)[1]
        if race.epoch_done(spent, float(accuracy)):
            return


def race_family(name: str, args: argparse.Namespace) -> list[tuple[str, str, Race]]:
    """(runner, recipe, race) for profond and the plain loop (and Keras) on one family."""
    given = dict(args.set)  # run options, and model options (e.g. channels=16,32,64)
    model_options = {k: given.pop(k) for k in list(given) if k not in RunSpec.option_names()}
    run = resolve(RunSpec.from_options({"model": name, **given, "model_options": model_options}))
    config = run.train if args.epochs is None else replace(run.train, epochs=args.epochs)
    config = replace(config, threads=args.threads, device="cpu")
    data = load_dataset(run.data, replace(run.data_options, limit=args.limit))
    family = get_family(name)
    recipe = (f"{config.epochs} ep, batch {config.batch_size}, {config.optimizer} lr {config.lr:g}, "
              f"{config.schedule}, augment {config.augment}, smoothing {config.label_smoothing:g}, "
              f"ema {config.ema}, tta {config.tta}, {config.precision}, model {run.model_options or 'default'}")  # fmt: skip
    runners: list[tuple[str, Callable[[Race], None]]] = []
    for runner, fit in (("profond", run_profond), ("plain torch", run_plain)):
        if runner == "plain torch" and args.skip_plain:
            continue

        def go(race: Race, fit: Callable[..., None] = fit) -> None:
            torch.manual_seed(config.seed)
            fit(family.module_class(make_config(family, family.data_fields(data), run.model_options)),
                config, data, race)  # fmt: skip

        runners.append((runner, go))
    if name == "cnn" and _has_keras():
        runners.append(
            (
                "keras",
                lambda race: run_keras(data, race, config.epochs, config.batch_size, args.threads),
            )
        )
    results = []
    for runner, go in runners:
        race = Race(tuple(args.targets), args.budget_s, label=f"{name} {runner}")
        go(race)
        results.append((runner, recipe, race))
        _print_row(name, runner, race, len(data.x_train))
    return results


def _has_keras() -> bool:
    try:
        import keras  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def _print_row(name: str, runner: str, race: Race, images: int) -> None:
    per_epoch = race.train_s / max(len(race.accuracies), 1)
    times = "  ".join(
        f"{t:.2f}: {race.reached[t]:6.0f}s" if t in race.reached else f"{t:.2f}:      -"
        for t in race.targets
    )
    best = max(race.accuracies, default=float("nan"))
    print(f"{name:<7} {runner:<12} {per_epoch:7.1f} s/epoch ({images} images)  {times}  "
          f"best {best:.4f} after {len(race.accuracies)} epochs", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="*", default=["cnn", "resnet"])
    parser.add_argument("--targets", nargs="*", type=float, default=[0.91, 0.93, 0.94])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the family's")
    parser.add_argument(
        "--budget-s", type=float, default=1800.0, help="training seconds per runner"
    )
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        type=_run_option, help="a run option, e.g. ema=0.999 or schedule=onecycle")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads; test accuracy after each epoch")
    for name in args.families:
        for runner, recipe, _ in race_family(name, args):
            if runner == "profond":
                print(f"{name:<7} recipe: {recipe}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss:.0f} MiB")


def _run_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as a number when it is one (model options: ``channels=16,32``)."""
    key, _, value = text.partition("=")
    for cast in (int, float):
        try:
            return key, cast(value)
        except ValueError:
            pass
    return key, value


if __name__ == "__main__":
    main()
