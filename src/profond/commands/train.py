"""``profond train``: train a model and track the run.

The parser collects only the options the user gave (every default is ``None``), in a flat
dict keyed like :meth:`profond.runs.RunSpec.from_options`; the run pipeline fills in the
dataset's and the family's defaults. ``--config run.yaml`` sets the same options from a file,
and flags on the command line win over it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from profond.commands.common import (
    TRACKING_URI_HELP,
    finite_float,
    float_pair,
    non_empty,
    non_negative_int,
    one_of,
    positive_int,
    tracking_uri_arg,
)
from profond.data.names import dataset_names
from profond.models.names import family_names

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "warmup", "warmup_cosine", "onecycle")
NORMALIZATIONS = ("minmax", "standard", "none")


def class_ids(text: str) -> list[int]:
    """``0,1,2`` → ``[0, 1, 2]``: distinct class ids >= 0."""
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects class ids such as 0,1,2, got {text!r}") from None
    if not ids or min(ids) < 0 or len(set(ids)) != len(ids):
        raise argparse.ArgumentTypeError(f"expects distinct class ids >= 0, got {text!r}")
    return ids


# (group, flag, keyword arguments of add_argument). ``dest`` is the option's name in the run
# spec and in a ``--config`` file. Help strings give the real defaults.
OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("", "--model", dict(type=one_of("model", family_names()), metavar="NAME",
        help=f"{', '.join(family_names())} (default: mlp)")),
    ("", "--data", dict(type=one_of("dataset", dataset_names()), metavar="NAME",
        help=f"{', '.join(dataset_names())} (default: the model's; digits for the mlp)")),
    ("", "--engine", dict(type=one_of("engine", ("torch", "scratch")),
        help="torch (default), or scratch (the NumPy engine, MLP only)")),
    ("training", "--epochs", dict(type=positive_int,
        help="default: the model's and dataset's (digits 40, sunspots/co2 100, resnet 24, "
             "unet 8, otherwise 10)")),
    ("training", "--batch-size", dict(type=positive_int, help="default: 128 (32 for series)")),
    ("training", "--optimizer", dict(type=one_of("optimizer", OPTIMIZERS),
        help=f"{', '.join(OPTIMIZERS)} (default: adam; adamw for the resnet)")),
    ("training", "--lr", dict(type=finite_float,
        help="learning rate (default: 1e-3; 3e-3 for series, resnet and unet; 2e-4 for the gan)")),
    ("training", "--momentum", dict(type=finite_float, help="default: 0.9")),
    ("training", "--weight-decay", dict(type=finite_float,
        help="default: 0; 0.1 for the resnet (decoupled, with adamw)")),
    ("training", "--l1", dict(type=finite_float, help="L1 penalty coefficient (default: 0)")),
    ("training", "--l2", dict(type=finite_float, help="L2 penalty coefficient (default: 0)")),
    ("training", "--schedule", dict(type=one_of("schedule", SCHEDULES),
        help=f"{', '.join(SCHEDULES)} (default: constant; cosine for the cnn, "
             "onecycle for the resnet)")),
    ("training", "--step-size", dict(type=positive_int,
        help="step schedule: epochs between decays (default: 10)")),
    ("training", "--gamma", dict(type=finite_float,
        help="step schedule: decay factor (default: 0.1)")),
    ("training", "--warmup-epochs", dict(type=non_negative_int, help="default: 1")),
    ("training", "--clip-grad-norm", dict(type=finite_float, help="default: no clipping")),
    ("training", "--patience", dict(type=positive_int,
        help="early stopping patience in epochs (default: off; 20 for series)")),
    ("training", "--class-weights", dict(type=one_of("class weighting", ("balanced",)),
        help="'balanced' for imbalanced data (default: none)")),
    ("training", "--explode-grad-norm", dict(type=finite_float,
        help="a gradient norm above this stops the run as diverged (default: 1e6)")),
    ("training", "--no-restore-best", dict(action="store_const", const=False, dest="restore_best",
        help="with --patience, keep the last weights instead of the best epoch's")),
    ("training", "--betas", dict(type=float_pair, metavar="B1,B2",
        help="Adam/AdamW/RMSprop betas (default: 0.9,0.999; 0.5,0.999 for the gan)")),
    ("training", "--augment", dict(type=one_of("augmentation", ("shift_flip", "shift")),
        help="augment image batches: shift_flip, shift (default: none; shift_flip for the "
             "resnet)")),
    ("training", "--seed", dict(type=non_negative_int, help="default: 0")),
    ("training", "--device", dict(type=non_empty,
        help="auto (default), cpu, cuda, cuda:N, mps")),
    ("training", "--threads", dict(type=positive_int, help="CPU threads (default: torch's)")),
    ("training", "--compile", dict(action="store_true", default=None,
        help="torch.compile the model")),
    ("training", "--label-smoothing", dict(type=finite_float, metavar="X",
        help="classification: blend the targets with X of the uniform distribution (default: 0; "
             "0.1 for the resnet)")),
    ("training", "--ema", dict(type=finite_float, metavar="DECAY",
        help="evaluate and keep a moving average of the weights, e.g. 0.999; 0 turns it off "
             "(default: off; 0.999 for the resnet)")),
    ("training", "--tta", dict(type=one_of("test-time augmentation", ("flip", "none")),
        help="classification: 'flip' averages the predictions of each image and its "
             "mirror image in evaluations; 'none' turns it off (default: none; flip for the "
             "resnet)")),
    ("training", "--precision", dict(type=one_of("precision", ("fp32", "bf16", "auto")),
        help="bf16: forward passes in bfloat16 (autocast), faster on CPUs with AVX512-BF16 "
             "or AMX and on recent GPUs; auto: bf16 where the device has it natively, else "
             "fp32 (default: fp32; auto for the resnet)")),
    ("model", "--hidden", dict(type=non_empty, metavar="SIZES",
        help="hidden sizes, e.g. 256,128 (default: the model's)")),
    ("model", "--activation", dict(type=non_empty,
        help="relu, sigmoid, tanh, leaky_relu, gelu (default: the model's)")),
    ("model", "--dropout", dict(type=finite_float, help="default: the model's")),
    ("model", "--init", dict(type=non_empty, help="default, xavier, he (default: the model's)")),
    ("model", "--batch-norm", dict(action="store_true", default=None,
        help="batch normalization (default: the model's)")),
    ("model", "--set", dict(action="append", metavar="KEY=VALUE", dest="set",
        help="any model option (repeatable), e.g. --set kernel_size=5")),
    ("data", "--val-fraction", dict(type=finite_float, help="default: 0.1")),
    ("data", "--normalization", dict(type=one_of("normalization", NORMALIZATIONS),
        help="minmax, standard, none (default: the model's; standard for the mlp, else minmax)")),
    ("data", "--data-dir", dict(type=non_empty, help="a folder holding the dataset's files")),
    ("data", "--limit", dict(type=positive_int,
        help="use only the first N training samples (default: all)")),
    ("data", "--no-download", dict(action="store_const", const=False, dest="download",
        help="never download missing files")),
    ("data", "--window", dict(type=positive_int, help="forecasting: input window (default: 24)")),
    ("data", "--horizon", dict(type=positive_int,
        help="forecasting: steps predicted (default: 1)")),
    ("data", "--max-len", dict(type=positive_int, help="text: tokens per sample (default: 64)")),
    ("practice", "--adversarial", dict(type=one_of("adversarial attack", ("fgsm", "pgd")), metavar="fgsm|pgd",
        help="train on FGSM or PGD examples as well as clean ones (default: off)")),
    ("practice", "--adversarial-eps", dict(type=finite_float, metavar="EPS",
        help="the attack's L-infinity radius, in input units (default: 0.1)")),
    ("practice", "--init-from", dict(type=non_empty, metavar="RUN",
        help="start from the matching weights of this run (transfer, continual learning)")),
    ("practice", "--freeze", dict(type=non_empty, metavar="N|up-to-LAYER",
        help="with --init-from: freeze the first N layers, or up to the named layer")),
    ("practice", "--replay", dict(type=positive_int, metavar="N",
        help="with --init-from: also train on N examples of the parent run's classes")),
    ("practice", "--classes", dict(type=class_ids, metavar="IDS",
        help="train on these classes only, e.g. 0,1,2,3,4 (default: all)")),
    ("practice", "--imbalance-ratio", dict(type=finite_float, metavar="R",
        help="skew the training split: largest class R times the smallest (default: off)")),
    ("practice", "--resample", dict(type=one_of("resampling", ("balanced",)), metavar="balanced",
        help="'balanced': draw the training split with every class equally likely")),
    ("practice", "--loss", dict(type=one_of("loss", ("cross_entropy", "focal")), metavar="cross_entropy|focal",
        help="cross_entropy (default) or focal (classification)")),
    ("practice", "--focal-gamma", dict(type=finite_float, metavar="GAMMA",
        help="the focal loss's gamma (default: 2)")),
    ("tracking", "--tracking-uri", dict(type=tracking_uri_arg, help=TRACKING_URI_HELP)),
    ("tracking", "--experiment", dict(type=non_empty,
        help="MLflow experiment name (default: profond)")),
    ("tracking", "--run-name", dict(type=non_empty, help="default: a name MLflow picks")),
    ("tracking", "--register-as", dict(type=non_empty, metavar="NAME",
        help="register the model in the MLflow registry under this name")),
    ("tracking", "--no-mlflow-model", dict(action="store_const", const=False,
        dest="log_mlflow_model", help="skip the MLflow-format copy of the model")),
)  # fmt: skip

MODEL_FLAGS = {"hidden": "hidden_sizes", "activation": "activation", "dropout": "dropout",
               "init": "init", "batch_norm": "batch_norm"}  # fmt: skip


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model and track the run in MLflow",
        description="Train a model; with no option, the lab's MLP on the embedded digits.",
    )
    p.add_argument("--config", metavar="RUN.YAML", default=None,
                   help="read options from a YAML file (keys: the option names); "
                        "flags given here win over it")  # fmt: skip
    groups = {"": p}
    for group, flag, kwargs in OPTIONS:
        if group not in groups:
            groups[group] = p.add_argument_group(group)
        groups[group].add_argument(flag, **{"default": None, **kwargs})
    p.add_argument("--resume", metavar="RUN", type=non_empty, default=None,
                   help="continue an interrupted run (an id, id prefix or run name)")  # fmt: skip
    p.add_argument("--distributed", type=positive_int, metavar="N", default=None,
                   help="train with N processes (DistributedDataParallel through torchrun)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    p.set_defaults(func=run, parser=p)


def option_dests() -> list[str]:
    """Every option a ``--config`` file may set, by its name in the run spec."""
    return [_dest(flag, kwargs) for _, flag, kwargs in OPTIONS]


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options the user gave, flat, keyed like ``RunSpec.from_options``."""
    from profond.errors import ProfondError

    options: dict[str, Any] = {}
    model_options: dict[str, Any] = {}
    for dest in option_dests():
        value = getattr(args, dest, None)
        if value is None or dest == "set":
            continue
        if dest in MODEL_FLAGS:
            model_options[MODEL_FLAGS[dest]] = value
        else:
            options[dest] = value
    for item in getattr(args, "set", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ProfondError(f"--set expects KEY=VALUE, got {item!r}")
        model_options[key.strip()] = value.strip()
    if model_options:
        options["model_options"] = model_options
    return options


def run(args: argparse.Namespace) -> int:
    """Train (or resume) one run and print its id and final metrics."""
    from profond.commands.train_config import apply_config

    if args.config is not None:
        args = apply_config(args)
    if args.distributed:
        return spawn_torchrun(args.distributed)
    from profond.commands.common import stdout_to_stderr
    from profond.runs import resume_run, train_run

    with stdout_to_stderr():  # libraries' chatter must not break --json on stdout
        if args.resume:
            outcome = resume_run(args.resume, tracking_uri=args.tracking_uri)
        else:
            outcome = train_run(**run_options(args))
    if os.environ.get("RANK", "0") != "0":
        return 0
    if args.json:
        from profond.commands.common import print_json

        print_json({"run_id": outcome.run_id, "parameters": outcome.parameters,
                    "main_metric": outcome.main_metric, "metrics": outcome.metrics})  # fmt: skip
    else:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in outcome.metrics.items())
        print(f"run {outcome.run_id} finished: {shown}")
    return 0


def spawn_torchrun(nproc: int) -> int:
    """Re-run this same command under torchrun with ``nproc`` processes."""
    import subprocess

    argv = sys.argv[1:]
    if "--distributed" in argv:
        i = argv.index("--distributed")
        del argv[i : i + 2]
    argv = [a for a in argv if not a.startswith("--distributed=")]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={nproc}", "-m", "profond", *argv]  # fmt: skip
    return subprocess.call(command)


def _dest(flag: str, kwargs: dict[str, Any]) -> str:
    return kwargs.get("dest") or flag.lstrip("-").replace("-", "_")
