"""``profond lab list``, ``profond lab run NAME|--all`` and ``profond lab report``.

Module imports stay light (no torch, no mlflow): building the CLI parser must be instant.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from profond.errors import ProfondError

if TYPE_CHECKING:
    from rich.console import Console

    from profond.labs.base import LabResult

STATUS_STYLE = {"holds": "green", "does not hold": "red", "inconclusive": "yellow"}


def add_lab_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lab`` command and its ``list``, ``run`` and ``report`` sub-commands."""
    lab = subparsers.add_parser("lab", help="run the experiments behind the course's claims")
    commands = lab.add_subparsers(dest="lab_command", metavar="{list,run,report}", required=True)

    listing = commands.add_parser("list", help="the labs and the claims each decides")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=_list)

    run = commands.add_parser("run", help="run a lab (or all): figures, results.json, verdicts")
    run.add_argument("name", nargs="?", help="a name from `profond lab list`")
    run.add_argument("--all", action="store_true", help="run every lab, then print a summary")
    run.add_argument("--mode", choices=("fast", "faithful"), default="fast",
                     help="fast: seconds per lab (default); faithful: closer to the cited paper")  # fmt: skip
    run.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    run.add_argument("--seeds", type=int, default=None,
                     help="number of seeds (default: the lab's, 2-3 fast, 5-10 faithful)")  # fmt: skip
    run.add_argument("--out", type=Path, default=None,
                     help="output folder (default: a new folder under PROFOND_HOME/labs/NAME)")  # fmt: skip
    run.add_argument("--json", action="store_true", help="print the results as JSON")
    run.add_argument("--no-track", action="store_true", help="do not record an MLflow run")
    run.set_defaults(func=_run)

    report = commands.add_parser(
        "report", help="one HTML page + Markdown of every lab's latest run"
    )
    report.add_argument("--out", type=Path, default=None,
                        help="folder for report.html and report.md (default: PROFOND_HOME/labs)")  # fmt: skip
    report.add_argument("--from", dest="source", type=Path, default=None,
                        help="folder searched for results.json (default: PROFOND_HOME/labs)")  # fmt: skip
    report.set_defaults(func=_report)


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from profond.labs.registry import all_labs

    labs = all_labs()
    if args.json:
        print(json.dumps([lab.describe() for lab in labs], indent=2, ensure_ascii=False))
        return 0
    table = Table("name", "claims", "answers", "quiz")
    table.columns[2].max_width = 16  # ids wrap; the claims get the room
    for lab in labs:
        claims = "\n".join(f"• {c.text}" for c in lab.claims)
        table.add_row(lab.name, claims, " ".join(lab.answers), "yes" if lab.fast else "")
    Console().print(table)
    return 0


def default_outdir(name: str) -> Path:
    """A fresh folder ``PROFOND_HOME/labs/NAME/YYYYmmdd-HHMMSS[-k]`` so runs never overwrite."""
    from profond.paths import profond_home

    base = profond_home() / "labs" / name / time.strftime("%Y%m%d-%H%M%S")
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def run_lab(
    name: str,
    outdir: Path | None,
    seed: int,
    console: Console,
    *,
    mode: str = "fast",
    seeds: int | None = None,
    track: bool = True,
    quiet: bool = False,
) -> LabResult:
    """Run a lab, record it in MLflow and print its verdicts.

    Raises:
        ProfondError: unknown lab or mode, bad ``seeds``, or ``outdir`` already holds a
            ``results.json``.
    """
    import dataclasses

    from profond.labs.base import write_results
    from profond.labs.registry import get_lab

    lab = get_lab(name)
    lab.config_for(mode)  # an unknown mode fails before anything is written
    if seeds is not None and seeds < 1:
        raise ProfondError(f"--seeds must be at least 1, got {seeds}")
    if outdir is None:
        outdir = default_outdir(name)
    elif (outdir / "results.json").exists():
        raise ProfondError(
            f"{outdir} already holds results.json; choose another --out or remove it"
        )
    if not quiet:
        console.print(f"[bold]{lab.title}[/bold]  ({mode} mode)")
    result = lab.run(outdir, seed, mode=mode, seeds=seeds)
    if track:
        from profond.labs.tracking import track as track_run

        result = dataclasses.replace(result, run_id=track_run(result))
        write_results(result)
    if not quiet:
        print_verdicts(result, console)
    return result


def print_verdicts(result: LabResult, console: Console) -> None:
    from rich.markup import escape

    for verdict in result.verdicts:
        style = STATUS_STYLE[verdict.status]
        seeds = "".join("✓" if ok else "✗" for ok in verdict.seed_results)
        console.print(f"[{style}]{verdict.status.upper()}[/{style}] {escape(verdict.claim.text)}")
        console.print(f"     per seed {seeds}: {escape(verdict.summary)}")
    run = f", MLflow run {result.run_id}" if result.run_id else ""
    console.print(f"results and figures in {result.outdir} ({result.seconds:.1f} s{run})")


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    if args.all == bool(args.name):
        raise ProfondError("give a lab name or --all (not both)")
    console = Console(stderr=args.json)
    if args.all:
        if args.out is not None and (args.out / "results.json").exists():
            raise ProfondError(f"{args.out} holds results.json; --all writes one folder per lab")
        return _run_all(args, console)
    result = run_lab(args.name, args.out, args.seed, console, mode=args.mode, seeds=args.seeds,
                     track=not args.no_track, quiet=args.json)  # fmt: skip
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    return 0  # a claim that does not hold is a result, not a failure of the command


def _run_all(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from profond.labs.registry import lab_names

    names = lab_names()
    results, start = [], time.perf_counter()
    for i, name in enumerate(names, start=1):
        console.print(f"[{i}/{len(names)}] {name} …")
        out = args.out / name if args.out is not None else None
        result = run_lab(name, out, args.seed, console, mode=args.mode, seeds=args.seeds,
                         track=not args.no_track, quiet=True)  # fmt: skip
        counts = result.counts()
        console.print(f"      {result.seconds:.1f} s: {counts['holds']} hold, "
                      f"{counts['does not hold']} do not, {counts['inconclusive']} inconclusive")  # fmt: skip
        results.append(result)
    total = time.perf_counter() - start
    table = Table("lab", "seconds", "claim", "verdict", title=f"{len(names)} labs in {total:.0f} s")
    for result in results:
        for verdict in result.verdicts:
            style = STATUS_STYLE[verdict.status]
            table.add_row(result.name, f"{result.seconds:.1f}", verdict.claim.id,
                          f"[{style}]{verdict.status}[/{style}]")  # fmt: skip
    console.print(table)
    if args.json:
        print(json.dumps({"seconds": round(total, 1), "labs": [r.to_json() for r in results]},
                         indent=2, ensure_ascii=False))  # fmt: skip
    return 0


def _report(args: argparse.Namespace) -> int:
    from profond.labs.report import write_report
    from profond.paths import profond_home

    source = args.source if args.source is not None else profond_home() / "labs"
    out = args.out if args.out is not None else profond_home() / "labs"
    html, markdown = write_report(source, out)
    print(f"report: {html}\nmarkdown: {markdown}")
    return 0
