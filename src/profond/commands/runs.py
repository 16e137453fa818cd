"""``profond runs``: the tracked runs, newest first, with full run ids."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import Any

from profond.commands.common import add_tracking_uri, new_file, positive_int, print_json

# Columns by priority: on a narrow terminal the last ones are dropped, never the run id.
COLUMNS = ("run id", "name", "status", "model", "data", "main metric", "time (s)", "started",
           "engine", "experiment")  # fmt: skip


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("runs", help="the table of tracked runs, newest first")
    add_tracking_uri(p)
    p.add_argument("--limit", type=positive_int, default=50,
                   help="most runs shown (default: 50)")  # fmt: skip
    p.add_argument("--out", type=new_file, default=None, metavar="FILE",
                   help="also write the runs as JSON to this new file")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the runs as JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from profond.commands.common import stdout_to_stderr
    from profond.track.runs import list_runs

    with stdout_to_stderr():
        runs = list_runs(args.tracking_uri, args.limit)
    if args.out is not None:
        from profond.atomic import atomic_write_text

        atomic_write_text(args.out, json.dumps(runs, indent=2))
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        print_json(runs)
        return 0
    rows = [row_of(r) for r in runs]
    print(f"{len(runs)} run(s)")
    for line in layout(rows, terminal_width()):
        print(line)
    return 0


def row_of(run: dict[str, Any]) -> dict[str, str]:
    metric = run.get("main_metric")
    value = run["metrics"].get(metric) if metric else None
    return {
        "run id": run["run_id"],
        "name": run.get("name") or "",
        "status": run["status"] + (" (stale)" if run.get("stale") else ""),
        "model": run["model"],
        "data": run["data"],
        "main metric": f"{metric}={value:.4f}" if value is not None else "",
        "time (s)": f"{run['duration_s']:.1f}" if run["duration_s"] is not None else "",
        "started": (run["start_time"] or "")[:19].replace("T", " "),
        "engine": run["engine"],
        "experiment": run.get("experiment") or "",
    }


def terminal_width() -> int | None:
    """The width to fit in: ``$COLUMNS``, else the terminal's; ``None`` when piped."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def layout(rows: list[dict[str, str]], width: int | None) -> list[str]:
    """Aligned lines; columns after the run id are dropped while the lines exceed ``width``."""
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in COLUMNS}
    kept = [COLUMNS[0]]
    for column in COLUMNS[1:]:
        total = sum(widths[c] + 2 for c in kept) + widths[column]
        if width is None or total <= width:
            kept.append(column)
    lines = ["  ".join(c.ljust(widths[c]) for c in kept).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in kept).rstrip() for r in rows]
    return lines
