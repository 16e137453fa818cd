"""``profond evaluate``: a run's metrics recomputed on its test split."""

from __future__ import annotations

import argparse
from typing import Any

from profond.commands.common import add_run_ref, add_tracking_uri, output_folder, print_json


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="metrics, per-class report, confusion matrix, calibration (ECE) and precision-recall "
        "of a run on its test split",
    )
    add_run_ref(p)
    p.add_argument("--out", type=output_folder, default=None, metavar="FOLDER",
                   help="write evaluation.json and the figures into this folder "
                        "(created if missing; existing files are not overwritten)")  # fmt: skip
    add_tracking_uri(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from profond.commands.common import resolve, stdout_to_stderr
    from profond.errors import ProfondError
    from profond.inference import evaluate_run

    target = None if args.out is None else args.out / "evaluation.json"
    if target is not None and target.exists():
        raise ProfondError(f"{target} exists; choose another --out (nothing is overwritten)")
    with stdout_to_stderr():
        run_id = resolve(args)
        result = evaluate_run(run_id, args.tracking_uri, args.out)
        result.setdefault("baselines", logged_baselines(run_id, args.tracking_uri))
    if target is not None:
        import json

        from profond.atomic import atomic_write_text

        atomic_write_text(target, json.dumps(result, indent=2))
        for path in sorted(args.out.iterdir()):
            print(f"wrote {path}", file=sys.stderr)
        if (result.get("calibration") or {}).get("logged"):
            print(f"logged the figures to run {run_id} under evaluation/", file=sys.stderr)
    if args.json:
        print_json(result)
    else:
        show(result)
    return 0


def logged_baselines(run_id: str, uri: str | None) -> dict[str, float]:
    """The baselines the run measured when it ended (persistence, seasonal naive, ...)."""
    from profond.track.runs import get_run

    metrics = get_run(run_id, uri).data.metrics
    return {
        k[len("baseline_") :]: v for k, v in sorted(metrics.items()) if k.startswith("baseline_")
    }


def show(result: dict[str, Any]) -> None:
    """The metrics, then for classifiers the per-class report and the confusion matrix."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"run {result['run_id']}: {result['model']} on {result['data']}")
    for key, value in result["metrics"].items():
        console.print(f"  {key:<26} {value:.4f}")
    for key, value in (result.get("baselines") or {}).items():
        console.print(f"  baseline {key:<17} {value:.4f}  (logged by the run)")
    per_class = result.get("per_class")  # {"precision": [...], "recall": [...], ...}
    if per_class:
        table = Table(title="per class")
        table.add_column("class")
        for column in per_class:
            table.add_column(column, justify="right")
        for i, name in enumerate(result.get("classes") or []):
            table.add_row(str(name), *(_cell(values[i]) for values in per_class.values()))
        console.print(table)
    calibration = result.get("calibration")
    if calibration:
        bins = len(calibration["reliability"]["count"])
        console.print(f"  {'calibration error (ECE)':<26} {calibration['ece']:.4f}  ({bins} bins)")
        console.print(
            f"  {'mean average precision':<26} {calibration['mean_average_precision']:.4f}"
        )
    if "confusion_matrix" in result:
        table = Table(title="confusion matrix (rows: true, columns: predicted)")
        table.add_column("")
        for i in range(len(result["classes"])):
            table.add_column(str(i), justify="right")
        for name, row in zip(result["classes"], result["confusion_matrix"], strict=True):
            table.add_row(str(name), *map(str, row))
        console.print(table)


def _cell(value: Any) -> str:
    if value is None:  # e.g. the average precision of a class absent from the test split
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
