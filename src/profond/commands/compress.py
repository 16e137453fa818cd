"""``profond compress``: int8 quantization, pruning and distillation of a run, as new runs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from profond.errors import ProfondError


def add_parser(subparsers: Any) -> None:
    """Register ``profond compress`` (nothing heavy is imported here)."""
    p = subparsers.add_parser(
        "compress",
        help="quantize, prune or distill a run's model into new linked runs",
        description="Each --int8 mode, --prune fraction and --distill-from teacher makes one "
        "new run (tagged profond.parent_run) that predict, evaluate and serve take; size, "
        "parameters, latency (torch and ONNX, batch 1 and 64) and accuracy are printed side by "
        "side against the parent.",
    )
    p.add_argument("run", metavar="RUN_REF", help="run id, id prefix, run name or models:/ URI")
    p.add_argument("--int8", action="append", default=[], metavar="MODE",
                   help="dynamic and/or static (comma-separated or repeated)")  # fmt: skip
    p.add_argument("--prune", action="append", default=[], metavar="FRACTION",
                   help="magnitude pruning fractions, e.g. 0.5,0.9")  # fmt: skip
    p.add_argument("--structured", action="store_true",
                   help="prune whole output channels (L2 norm) instead of single weights")  # fmt: skip
    p.add_argument("--finetune-epochs", default="0", help="train pruned models with masks held")
    p.add_argument("--distill-from", metavar="TEACHER_REF", default=None,
                   help="train a fresh copy of RUN_REF's architecture against this teacher run")  # fmt: skip
    p.add_argument("--temperature", default="4", help="distillation temperature (default 4)")
    p.add_argument("--alpha", default="0.7", help="weight of the teacher's soft targets (0.7)")
    p.add_argument("--epochs", default=None, help="distillation epochs (default: the run's)")
    p.add_argument("--lr", default=None, help="learning rate (default: the run's)")
    p.add_argument("--seed", default="0")
    p.add_argument("--calibration-samples", default="512", help="static int8 calibration")
    p.add_argument("--repeats", default="30", help="timed calls per latency figure")
    p.add_argument("--experiment", default="profond")
    p.add_argument("--tracking-uri", default=None)
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=run_compress)


def number(text: str | None, kind: type, option: str) -> Any:
    """``kind(text)``, or a one-line :class:`ProfondError` naming the option."""
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise ProfondError(f"{option} expects a {kind.__name__}, got {text!r}") from None


def split_list(values: list[str]) -> list[str]:
    """``["a,b", "c"]`` → ``["a", "b", "c"]`` (empty items dropped)."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def options_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~profond.compress.variants.CompressOptions` the arguments ask for (checked)."""
    from profond.compress.variants import CompressOptions

    options = CompressOptions(
        int8=tuple(dict.fromkeys(split_list(args.int8))),  # each variant once, in order
        prune=tuple(dict.fromkeys(number(v, float, "--prune") for v in split_list(args.prune))),
        structured=args.structured,
        finetune_epochs=number(args.finetune_epochs, int, "--finetune-epochs"),
        distill_from=args.distill_from,
        temperature=number(args.temperature, float, "--temperature"),
        alpha=number(args.alpha, float, "--alpha"),
        epochs=number(args.epochs, int, "--epochs"),
        lr=number(args.lr, float, "--lr"),
        seed=number(args.seed, int, "--seed"),
        calibration_samples=number(args.calibration_samples, int, "--calibration-samples"),
        repeats=number(args.repeats, int, "--repeats"),
        experiment=args.experiment,
    )
    options.check()
    return options


def run_compress(args: argparse.Namespace) -> int:
    """Handler of ``profond compress``: builds, measures, tracks, prints one table."""
    from profond.compress.report import print_table
    from profond.compress.variants import compress_run

    options = options_from_args(args)  # bad options fail before any run is loaded
    result = compress_run(args.run, options, args.tracking_uri)
    if args.json:
        print(json.dumps(result))
        return 0
    print_table(result["rows"], f"compression of run {result['parent_run']}")
    for name, run_id in result["runs"].items():
        print(f"{name}: run {run_id}")
    return 0
