"""The ``profond`` command: it parses arguments and calls the packages, nothing more."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from profond import __version__
from profond.errors import ProfondError

# Sub-commands that other packages define: (module, function adding the parser).
PLUGGED_COMMANDS = (
    ("profond.serve.commands", "add_serve_parser"),
    ("profond.compress.commands", "add_export_parser"),
    ("profond.study.commands", "add_study_parser"),
    ("profond.labs.commands", "add_lab_parser"),
    ("profond.commands.compress", "add_parser"),
    ("profond.commands.attack", "add_parser"),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except ProfondError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="profond",
        description="Train, track, serve and explain the networks of a deep-learning course.",
    )
    parser.add_argument("--version", action="version", version=f"profond {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_train(sub)
    _add_evaluate(sub)
    _add_predict(sub)
    _add_runs(sub)
    _add_data(sub)
    _add_generate(sub)
    for module_name, function in PLUGGED_COMMANDS:
        if importlib.util.find_spec(module_name) is not None:
            getattr(importlib.import_module(module_name), function)(sub)
    return parser


# ------------------------------------------------------------------ train
def _add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="train a model and track the run in MLflow",
                       description="Train a model; with no option, the lab's MLP on the embedded digits.")  # fmt: skip
    p.add_argument(
        "--model",
        default="mlp",
        help="mlp, cnn, resnet, rnn, lstm, gru, transformer, autoencoder, unet, vae, gan",
    )
    p.add_argument(
        "--data", default=None, help="a dataset name (profond data list); default: the model's"
    )
    p.add_argument(
        "--engine", default="torch", help="torch, or scratch (the NumPy engine, MLP only)"
    )
    g = p.add_argument_group("training")
    g.add_argument(
        "--epochs", type=int, default=None, help="default: the dataset's (40 for digits, else 10)"
    )
    g.add_argument("--batch-size", type=int, default=None, help="default: 128 (32 for series)")
    g.add_argument(
        "--optimizer", default=None, help="sgd, momentum, nesterov, adam (default), adamw, rmsprop"
    )
    g.add_argument(
        "--lr", type=float, default=None, help="learning rate (default: 1e-3; 3e-3 for series)"
    )
    g.add_argument("--momentum", type=float, default=None, help="default 0.9")
    g.add_argument("--weight-decay", type=float, default=None)
    g.add_argument("--l1", type=float, default=None, help="L1 penalty coefficient")
    g.add_argument("--l2", type=float, default=None, help="L2 penalty coefficient")
    g.add_argument(
        "--schedule",
        default=None,
        help="constant (default; cosine for cnn), step, cosine, warmup, warmup_cosine",
    )
    g.add_argument(
        "--step-size", type=int, default=None, help="step schedule: epochs between decays (10)"
    )
    g.add_argument("--gamma", type=float, default=None, help="step schedule: decay factor (0.1)")
    g.add_argument("--warmup-epochs", type=int, default=None, help="default 1")
    g.add_argument("--clip-grad-norm", type=float, default=None)
    g.add_argument("--patience", type=int, default=None, help="early stopping patience (epochs)")
    g.add_argument("--class-weights", default=None, help="'balanced' for imbalanced data")
    g.add_argument("--seed", type=int, default=None, help="default 0")
    g.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N, mps")
    g.add_argument("--threads", type=int, default=None, help="CPU threads")
    g.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    g.add_argument("--resume", metavar="RUN_ID", default=None, help="continue an interrupted run")
    g.add_argument("--distributed", type=int, metavar="N", default=None,
                   help="train with N processes (DistributedDataParallel through torchrun)")  # fmt: skip
    m = p.add_argument_group("model")
    m.add_argument("--hidden", default=None, help="hidden sizes, e.g. 256,128 (MLP)")
    m.add_argument("--activation", default=None, help="relu, sigmoid, tanh, leaky_relu, gelu")
    m.add_argument("--dropout", type=float, default=None)
    m.add_argument("--init", default=None, help="default, xavier, he")
    m.add_argument("--batch-norm", action="store_true", default=None)
    m.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any model option (repeatable), e.g. --set kernel_size=5")  # fmt: skip
    d = p.add_argument_group("data")
    d.add_argument("--val-fraction", type=float, default=0.1)
    d.add_argument(
        "--normalization",
        default=None,
        help="minmax, standard, none (default: the model's; standard for the mlp)",
    )
    d.add_argument("--data-dir", default=None, help="a folder holding the dataset's files")
    d.add_argument("--limit", type=int, default=None, help="use only the first N training samples")
    d.add_argument("--no-download", action="store_true", help="never download missing files")
    d.add_argument("--window", type=int, default=24, help="forecasting: input window")
    d.add_argument("--horizon", type=int, default=1, help="forecasting: steps predicted")
    d.add_argument("--max-len", type=int, default=64, help="text: tokens per sample")
    t = p.add_argument_group("tracking")
    t.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: SQLite under PROFOND_HOME)",
    )
    t.add_argument("--experiment", default="profond")
    t.add_argument("--run-name", default=None)
    t.add_argument("--register-as", default=None, help="register the model under this name")
    t.add_argument(
        "--no-mlflow-model", action="store_true", help="skip the MLflow-format model copy"
    )
    t.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from profond.experiment import resume_run, train_run

    if args.distributed:
        return _spawn_torchrun(args.distributed)
    if args.resume:
        outcome = resume_run(args.resume, tracking_uri=args.tracking_uri)
    else:
        outcome = train_run(_run_spec(args))
    if os.environ.get("RANK", "0") != "0":
        return 0
    if args.json:
        print(
            json.dumps(
                {
                    "run_id": outcome.run_id,
                    "parameters": outcome.parameters,
                    "metrics": outcome.card.metrics,
                }
            )
        )
    else:
        print(
            f"run {outcome.run_id} finished: "
            + ", ".join(f"{k}={v:.4f}" for k, v in outcome.card.metrics.items())
        )
    return 0


def _run_spec(args: argparse.Namespace) -> Any:
    from profond.data.registry import get_dataset
    from profond.experiment import RunSpec, data_options_for, train_config_for
    from profond.models.registry import get_family

    family = get_family(args.model)
    data = args.data or family.default_data
    given = dict(
        epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
        momentum=args.momentum, weight_decay=args.weight_decay, l1=args.l1, l2=args.l2,
        schedule=args.schedule, step_size=args.step_size, gamma=args.gamma,
        warmup_epochs=args.warmup_epochs, clip_grad_norm=args.clip_grad_norm, patience=args.patience,
        class_weights=args.class_weights, seed=args.seed, device=args.device, threads=args.threads,
        compile=args.compile,
    )  # fmt: skip
    train = train_config_for(
        get_dataset(data), family, {k: v for k, v in given.items() if v is not None}
    )
    data_options = data_options_for(
        family,
        {
            k: v
            for k, v in dict(
                seed=train.seed, val_fraction=args.val_fraction, normalization=args.normalization,
                data_dir=args.data_dir, limit=args.limit, download=not args.no_download,
                window=args.window, horizon=args.horizon, max_len=args.max_len,
            ).items()
            if v is not None
        },
    )  # fmt: skip
    return RunSpec(
        model=args.model, data=data, engine=args.engine, model_options=_model_options(args),
        data_options=data_options, train=train, tracking_uri=args.tracking_uri,
        experiment=args.experiment, run_name=args.run_name, register_as=args.register_as,
        log_mlflow_model=not args.no_mlflow_model,
    )  # fmt: skip


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.hidden is not None:
        options["hidden_sizes"] = args.hidden
    for name in ("activation", "dropout", "init", "batch_norm"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    for item in args.set:
        if "=" not in item:
            raise ProfondError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        options[key.strip()] = value.strip()
    return options


def _spawn_torchrun(nproc: int) -> int:
    """Re-run this same command under torchrun with ``nproc`` processes."""
    import subprocess

    argv = sys.argv[1:]
    if "--distributed" in argv:
        i = argv.index("--distributed")
        del argv[i : i + 2]
    argv = [a for a in argv if not a.startswith("--distributed=")]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "profond",
        *argv,
    ]
    return subprocess.call(command)


# ------------------------------------------------------------------ evaluate / predict / runs
def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="metrics and confusion matrix of a run on its test split")
    p.add_argument("run_id")
    p.add_argument(
        "--out", type=Path, default=None, help="write the confusion-matrix PNG into this folder"
    )
    p.add_argument("--tracking-uri", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from profond.inference import evaluate_run

    result = evaluate_run(args.run_id, args.tracking_uri, args.out)
    if args.json:
        print(json.dumps(result))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"run {result['run_id']}: {result['model']} on {result['data']}")
    for key, value in result["metrics"].items():
        console.print(f"  {key:<22} {value:.4f}")
    if "confusion_matrix" in result:
        table = Table(title="confusion matrix (rows: true, columns: predicted)")
        table.add_column("")
        for i in range(len(result["classes"])):
            table.add_column(str(i), justify="right")
        for name, row in zip(result["classes"], result["confusion_matrix"], strict=True):
            table.add_row(name, *map(str, row))
        console.print(table)
    return 0


def _add_predict(sub: Any) -> None:
    p = sub.add_parser(
        "predict", help="predict with a run's model: image, .npy array, series file or text"
    )
    p.add_argument("run_id")
    p.add_argument(
        "inputs", nargs="+", help="files (PNG/JPEG/.npy/.csv) or, for text models, texts"
    )
    p.add_argument("--tracking-uri", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_predict)


def _predict(args: argparse.Namespace) -> int:
    from profond.inference import predict_run

    predictions = predict_run(args.run_id, args.inputs, args.tracking_uri)
    if args.json:
        print(json.dumps(predictions))
        return 0
    for p in predictions:
        if "probabilities" in p:
            top = sorted(enumerate(p["probabilities"]), key=lambda kv: -kv[1])[:3]
            shown = ", ".join(f"{i}: {v:.3f}" for i, v in top)
            print(f"{p['input']}: class {p['class']} ({p['label']})  top-3 probabilities {shown}")
        else:
            rest = {k: v for k, v in p.items() if k != "input"}
            print(f"{p['input']}: {json.dumps(rest)}")
    return 0


def _add_runs(sub: Any) -> None:
    p = sub.add_parser("runs", help="the table of tracked runs, newest first")
    p.add_argument("--tracking-uri", default=None)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_runs)


def _runs(args: argparse.Namespace) -> int:
    from profond.track.runs import list_runs

    runs = list_runs(args.tracking_uri, args.limit)
    if args.json:
        print(json.dumps(runs))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(runs)} run(s)")
    for column in (
        "run id",
        "model",
        "data",
        "engine",
        "status",
        "main metric",
        "time (s)",
        "started",
    ):
        table.add_column(column)
    for run in runs:
        metric = next(
            (
                (k, v)
                for k, v in run["metrics"].items()
                if k
                in ("test_accuracy", "test_rmse", "test_miou", "test_elbo", "test_mse", "gan_fid")
            ),
            None,
        )
        table.add_row(
            run["run_id"], run["model"], run["data"], run["engine"], run["status"],
            f"{metric[0]}={metric[1]:.4f}" if metric else "",
            f"{run['duration_s']:.1f}" if run["duration_s"] is not None else "",
            (run["start_time"] or "")[:19],
        )  # fmt: skip
    Console().print(table)
    return 0


# ------------------------------------------------------------------ data / generate
def _add_data(sub: Any) -> None:
    p = sub.add_parser("data", help="datasets: what is available and what would download")
    data_sub = p.add_subparsers(metavar="ACTION")
    lst = data_sub.add_parser("list", help="every dataset with its task and where it is")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_data_list)
    info = data_sub.add_parser("info", help="sizes, shapes and location of one dataset (loads it)")
    info.add_argument("name")
    info.add_argument("--data-dir", default=None)
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=_data_info)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _data_list(args: argparse.Namespace) -> int:
    from profond.data.registry import DataOptions, dataset_names, get_dataset

    rows = []
    for name in dataset_names():
        try:
            spec = get_dataset(name)
        except ImportError:
            continue
        rows.append({"name": name, "task": spec.task, "description": spec.description,
                     "status": spec.status(DataOptions(download=False))})  # fmt: skip
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(
                f"{row['name']:<14} {row['task']:<20} {row['status']}\n{'':<14} {row['description']}"
            )
    return 0


def _data_info(args: argparse.Namespace) -> int:
    from profond.data.registry import DataOptions, get_dataset

    spec = get_dataset(args.name)
    options = DataOptions(data_dir=args.data_dir, download=False)
    status = spec.status(options)
    info: dict[str, Any] = {
        "name": spec.name,
        "task": spec.task,
        "description": spec.description,
        "status": status,
    }
    if not status.startswith("not found"):
        info.update(spec.load(options).describe())
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:<12} {value}")
    return 0


def _add_generate(sub: Any) -> None:
    p = sub.add_parser("generate", help="a grid of samples from a VAE or GAN run")
    p.add_argument("run_id")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="PNG path (default: samples-RUN_ID.png)")
    p.add_argument("--tracking-uri", default=None)
    p.set_defaults(func=_generate)


def _generate(args: argparse.Namespace) -> int:
    from profond.track.runs import load_run_model
    from profond.train.generate import generate_grid

    if args.n <= 0:
        raise ProfondError(f"--n must be a positive number of samples, got {args.n}")
    out = args.out or Path(f"samples-{args.run_id}.png")
    if out.exists():
        raise ProfondError(f"{out} exists; choose another --out (nothing is overwritten)")
    path = generate_grid(load_run_model(args.run_id, args.tracking_uri), args.n, args.seed, out)
    print(f"wrote {path}")
    return 0
