"""``profond lab list`` and ``profond lab run NAME``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from profond.errors import ProfondError
from profond.labs.base import LabResult
from profond.labs.registry import all_labs, get_lab
from profond.paths import profond_home


def add_lab_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lab`` command and its ``list`` and ``run`` sub-commands."""
    lab = subparsers.add_parser("lab", help="run the experiments behind the course's claims")
    commands = lab.add_subparsers(dest="lab_command", metavar="{list,run}", required=True)

    listing = commands.add_parser(
        "list", help="the labs, the claim each tests, and whether it is fast"
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=_list)

    run = commands.add_parser("run", help="run one lab: figures, results.json and verdicts")
    run.add_argument("name", help="a name from `profond lab list`")
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: a new folder under PROFOND_HOME/labs/NAME)",
    )
    run.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    run.set_defaults(func=_run)


def _list(args: argparse.Namespace) -> int:
    labs = all_labs()
    if args.json:
        print(json.dumps([lab.describe() for lab in labs], indent=2, ensure_ascii=False))
        return 0
    table = Table("name", "fast", "claim")
    for lab in labs:
        table.add_row(lab.name, "yes" if lab.fast else "no", lab.claim)
    Console().print(table)
    return 0


def default_outdir(name: str) -> Path:
    """A fresh folder ``PROFOND_HOME/labs/NAME/YYYYmmdd-HHMMSS[-k]`` so runs never overwrite."""
    base = profond_home() / "labs" / name / time.strftime("%Y%m%d-%H%M%S")
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def run_lab(name: str, outdir: Path | None, seed: int, console: Console) -> LabResult:
    """Run a lab and print its verdicts.

    Raises:
        ProfondError: unknown lab, or ``outdir`` already holds a ``results.json``.
    """
    lab = get_lab(name)
    if outdir is None:
        outdir = default_outdir(name)
    elif (outdir / "results.json").exists():
        raise ProfondError(
            f"{outdir} already holds results.json; choose another --out or remove it"
        )
    console.print(f"[bold]{lab.title}[/bold]\nclaim: {lab.claim}")
    result = lab.run(outdir, seed)
    for verdict in result.verdicts:
        mark = "[green]PASS[/green]" if verdict.passed else "[red]FAIL[/red]"
        measured = ", ".join(
            f"{key}={value:.4g}"
            for key, value in verdict.measured.items()
            if isinstance(value, (int, float))
        )
        console.print(f"{mark} {verdict.claim}\n     measured: {measured}")
    console.print(f"results and figures in {result.outdir} ({result.seconds:.1f} s)")
    return result


def _run(args: argparse.Namespace) -> int:
    result = run_lab(args.name, args.out, args.seed, Console())
    # A failed claim is a result, not a crash: exit 1 so scripts can tell it from success.
    return 0 if result.passed else 1
