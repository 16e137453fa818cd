"""Each family's default command, timed: epochs, seconds per epoch, final metric, peak RSS.

Runs ``profond train --model NAME --json`` once per family, each in its own process and its
own temporary store, one after the other, and prints a Markdown table: the epochs run (early
stopping may end a run before its default), the median seconds per epoch (read off the epoch lines the run prints), the whole command's
wall time, the family's main test metric and the process's peak resident memory.

Usage::

    python benchmarks/family_table.py [--families cnn resnet ...] [--epochs N]
        [--threads N] [--device cpu|cuda] [-- EXTRA TRAIN OPTIONS]

``--epochs 1`` gives the per-epoch cost and the memory of every family in a few minutes; the
final metric is then that of one epoch, and the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from profond.models.names import family_names

EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+)\b.*\((\d+(?:\.\d+)?)s\b", re.MULTILINE)


@dataclass
class FamilyRun:
    family: str
    data: str
    epochs: int
    seconds_per_epoch: float
    wall_s: float
    metric: str
    value: float
    peak_rss_mib: float


def time_family(family: str, extra: list[str], home: str) -> FamilyRun:
    """One default run of ``family`` in a child process; its own rusage gives the peak RSS."""
    command = [sys.executable, "-m", "profond", "train", "--model", family, "--json", *extra]
    env = {**os.environ, "PROFOND_HOME": os.path.join(home, family)}
    env.pop("MLFLOW_TRACKING_URI", None)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS (KiB on Linux)
        wall = time.perf_counter() - start
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise SystemExit(f"profond train --model {family} failed ({code}):\n{tail}")
    outcome = json.loads(stdout.strip().splitlines()[-1])
    epochs = EPOCH_LINE.findall(stderr)
    seconds = [float(s) for _, _, s in epochs]
    metric = outcome["main_metric"]
    return FamilyRun(
        family=family,
        data=_data_name(stderr),
        epochs=len(epochs),
        seconds_per_epoch=statistics.median(seconds) if seconds else float("nan"),
        wall_s=wall,
        metric=metric,
        value=float(outcome["metrics"].get(metric, float("nan"))),
        peak_rss_mib=usage.ru_maxrss / 1024,
    )


def _data_name(stderr: str) -> str:
    found = re.search(r"\bon (\S+) \(", stderr)
    return found.group(1) if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="*", default=family_names())
    parser.add_argument("--epochs", type=int, default=None, help="default: each family's")
    parser.add_argument("--threads", type=int, default=None, help="default: chosen per model")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("extra", nargs="*", help="more `profond train` options, after --")
    args = parser.parse_args()
    extra = ["--device", args.device, *args.extra]
    if args.epochs is not None:
        extra += ["--epochs", str(args.epochs)]
    if args.threads is not None:
        extra += ["--threads", str(args.threads)]
    print(f"profond train --model NAME {' '.join(extra)}", flush=True)
    print("| family | data | epochs run | s/epoch (median) | wall s | test metric | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as home:
        for family in args.families:
            run = time_family(family, extra, home)
            print(f"| `{run.family}` | {run.data} | {run.epochs} | {run.seconds_per_epoch:.2f} | "
                  f"{run.wall_s:.0f} | {run.metric} {run.value:.4f} | {run.peak_rss_mib:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
