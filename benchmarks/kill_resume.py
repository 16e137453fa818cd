"""``kill -9`` at random moments of ``profond train``, then ``--resume``: every run must end with
the very weights of an uninterrupted run, and the store must stay readable throughout.

On a fresh ``PROFOND_HOME``, one uninterrupted run (an MLP on digits, fixed seed, one thread)
gives the reference weights. Then ``--kills`` runs of the same options are each sent SIGKILL at
one moment: a random time in the run, or a random delay after a line of its progress (the run's
start line, before the first checkpoint is written; an epoch's line; the test line, while the
model is being saved and logged). After each kill:

* ``profond runs --json`` must answer (the store is readable) and show the run RUNNING and
  stale (its process is gone) when it was killed while running;
* ``profond train --resume RUN`` must finish it, after which the run is FINISHED and its saved
  weights are bit-identical (``torch.equal``) to the reference's;
* no temporary file is left among the checkpoints.

Prints one line per kill and a summary::

    kill  3 after 'epoch 2/' +0.41s  -> RUNNING (stale) -> resumed FINISHED, weights identical

Usage::

    python benchmarks/kill_resume.py [--kills 20] [--epochs 6] [--seed 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

# Where a kill can land: a random time, or a random delay after a progress line.
TRIGGERS = (
    ("time", None),
    ("line", "run "),  # the run exists, no checkpoint yet
    ("line", "epoch 1/"),
    ("line", "epoch {mid}/"),
    ("line", "test:"),  # training done: evaluating, saving and logging the model
)


@dataclass
class Kill:
    """One kill and what followed it."""

    index: int
    trigger: str
    delay_s: float
    run_id: str | None = None
    status: str = ""  # as `profond runs` showed it after the kill
    stale: bool = False
    resumed: str = ""  # the status after --resume, or why it was not resumed
    identical: bool | None = None
    temporaries: int = 0
    problem: str = ""


def profond(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PROFOND_HOME": str(home), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "profond", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def train_args(args: argparse.Namespace, name: str) -> list[str]:
    return ["train", "--model", "mlp", "--data", "digits", "--epochs", str(args.epochs),
            "--seed", str(args.seed), "--threads", "1", "--run-name", name]  # fmt: skip


def saved_weights(home: Path, run_id: str) -> dict[str, torch.Tensor]:
    """The state dict of the model run ``run_id`` saved."""
    folder = home / "artifacts" / run_id / "artifacts" / "profond_model"
    return torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def list_runs(home: Path) -> dict[str, dict]:
    """``profond runs --json`` by run name; raises when the store cannot be read."""
    done = profond(home, "runs", "--json", "--limit", "1000", timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"profond runs failed: {done.stderr.strip()[-500:]}")
    return {run["name"]: run for run in json.loads(done.stdout)}


def kill_at(home: Path, args: argparse.Namespace, kill: Kill, pattern: str | None) -> None:
    """Start a run and SIGKILL it ``kill.delay_s`` after its start (or after ``pattern``)."""
    env = {**os.environ, "PROFOND_HOME": str(home), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "profond", *train_args(args, f"kill-{kill.index}")]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = threading.Event()

    def watch() -> None:  # reads stderr to the end, so that the run never blocks on it
        assert process.stderr is not None
        for raw in process.stderr:
            if pattern and raw.decode(errors="replace").startswith(pattern):
                seen.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    if pattern:
        seen.wait(timeout=args.max_run_s)
    time.sleep(kill.delay_s)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    else:
        kill.trigger += " (ended first)"
    process.wait()  # reaped: its pid no longer exists, as after a real crash
    reader.join(timeout=10)


def check_after_kill(home: Path, args: argparse.Namespace, kill: Kill,
                     reference: dict[str, torch.Tensor]) -> None:  # fmt: skip
    run = list_runs(home).get(f"kill-{kill.index}")
    if run is None:
        kill.status, kill.resumed = "not created", "nothing to resume"
        return
    kill.run_id, kill.status, kill.stale = run["run_id"], run["status"], bool(run["stale"])
    if kill.status == "RUNNING" and not kill.stale:
        kill.problem = "a killed run is not shown as stale"
    if kill.status != "FINISHED":
        done = profond(home, "train", "--resume", kill.run_id, timeout=args.max_run_s)
        if done.returncode != 0:
            kill.resumed = "resume failed"
            kill.problem = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"
            return
        kill.resumed = list_runs(home)[f"kill-{kill.index}"]["status"]
    else:
        kill.resumed = "FINISHED before the kill"
    kill.identical = same_weights(saved_weights(home, kill.run_id), reference)
    kill.temporaries = len(list((home / "checkpoints").rglob("*.tmp")))


def describe(kill: Kill) -> str:
    stale = " (stale)" if kill.stale else ""
    weights = {True: "weights identical", False: "WEIGHTS DIFFER", None: "no weights"}
    line = (f"kill {kill.index:>2} {kill.trigger:<16} +{kill.delay_s:.2f}s -> "
            f"{kill.status}{stale} -> {kill.resumed}, {weights[kill.identical]}")  # fmt: skip
    if kill.temporaries:
        line += f", {kill.temporaries} temporary files left"
    return line + (f"  [{kill.problem}]" if kill.problem else "")


def plan(args: argparse.Namespace, reference_s: float) -> list[tuple[str, str | None, float]]:
    """(description, line pattern or None, delay) for each kill; every trigger appears."""
    rng = random.Random(args.seed)
    moments = []
    for i in range(args.kills):
        kind, pattern = TRIGGERS[i % len(TRIGGERS)]
        if pattern is None:
            delay = rng.uniform(0.0, reference_s)
            moments.append((f"at {delay:.1f}s", None, delay))
        else:
            pattern = pattern.format(mid=max(1, args.epochs // 2))
            # The test line comes seconds before the end (saving, logging the MLflow model).
            longest = 2.0 if pattern == "test:" else 1.0
            moments.append((f"after {pattern.strip()!r}", pattern, rng.uniform(0.0, longest)))
    return moments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-run-s", type=float, default=300, help="longest one run may take")
    parser.add_argument("--home", help="the store to use (default: a fresh temporary one)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.home or tmp)
        start = time.monotonic()
        done = profond(home, *train_args(args, "reference"), timeout=args.max_run_s)
        if done.returncode != 0:
            raise SystemExit(f"the reference run failed: {done.stderr[-2000:]}")
        reference_s = time.monotonic() - start
        reference = saved_weights(home, list_runs(home)["reference"]["run_id"])
        print(f"reference run: {reference_s:.1f}s", flush=True)
        kills = []
        for index, (trigger, pattern, delay) in enumerate(plan(args, reference_s), start=1):
            kill = Kill(index, trigger, delay)
            kill_at(home, args, kill, pattern)
            try:
                check_after_kill(home, args, kill, reference)
            except RuntimeError as exc:
                kill.problem = str(exc)
            kills.append(kill)
            print(describe(kill), flush=True)
    resumed = [k for k in kills if k.identical is not None]
    identical = sum(bool(k.identical) for k in resumed)
    problems = [k for k in kills if k.problem or k.identical is False or k.temporaries]
    print(f"{len(kills)} kills: {identical}/{len(resumed)} runs ended with the reference weights, "
          f"{sum(k.stale for k in kills)} shown stale after the kill, "
          f"{len(kills) - len(resumed)} killed before their run existed, "
          f"{len(problems)} with a problem")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(k) for k in kills], indent=2))
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
