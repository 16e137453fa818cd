"""Digits-MLP epoch time with the automatic thread count vs 2 threads, idle and under load.

A small model split over several threads spends its time waiting for them; when another
CPU-bound process holds the cores, every operation waits for a thread the scheduler put aside.
profond picks the thread count from the model's size (``profond.train.device.auto_threads``);
this script measures it against 2 threads (and torch's default, all cores), side by side:

    python benchmarks/threads_busy.py [--epochs 5] [--busy N]

``--busy N`` starts N spinning processes (default: one per core) for the loaded measurements.
Each measurement runs in a fresh process with OMP_NUM_THREADS unset, so that torch may use
every core; the figure is the median epoch time (training + validation).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MEASURE = """
import json, sys, torch
from profond.data.registry import DataOptions, load_dataset
from profond.models.registry import get_family, make_config
from profond.train.config import TrainConfig
from profond.train.tasks import task_class
from profond.train.trainer import Trainer

mode, epochs = sys.argv[1], int(sys.argv[2])
threads = None if mode == "auto" else torch.get_num_threads() if mode == "default" else int(mode)
family = get_family("mlp")
bundle = load_dataset("digits", DataOptions(normalization="standard"))
model = family.module_class(make_config(family, family.data_fields(bundle), {}))
trainer = Trainer(TrainConfig(epochs=epochs, threads=threads))
result = trainer.fit(model, task_class("classification")(bundle), bundle)
print(json.dumps({"threads": trainer.threads, "epoch_s": result.history["epoch_time_s"]}))
"""

MODES = ("auto", "2", "default")  # default: torch's own choice (every core)


def measure(mode: str, epochs: int) -> tuple[int, float]:
    """(threads used, median epoch seconds) of one fresh training process."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", MEASURE, mode, str(epochs)], capture_output=True,
                          text=True, env=env, check=True, timeout=1200)  # fmt: skip
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["threads"], statistics.median(out["epoch_s"][1:] or out["epoch_s"])


def start_busy(n: int) -> list[subprocess.Popen]:
    """``n`` processes that keep a core each busy until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    rows = {}
    for condition in ("idle", "busy"):
        workers = start_busy(args.busy) if condition == "busy" else []
        try:
            time.sleep(0.5 if workers else 0)
            for mode in MODES:
                rows[condition, mode] = measure(mode, args.epochs)
        finally:
            for worker in workers:
                worker.kill()
                worker.wait()
    print(f"digits MLP, median epoch time over {args.epochs} epochs ({os.cpu_count()} cores, "
          f"{args.busy} busy processes under load)")  # fmt: skip
    print(f"{'':<6}" + "".join(f"{m + ' threads':>22}" for m in MODES))
    for condition in ("idle", "busy"):
        cells = "".join(
            f"{rows[condition, m][1] * 1000:>12.1f} ms ({rows[condition, m][0]:>2})" for m in MODES
        )
        print(f"{condition:<6}{cells}")
    for condition in ("idle", "busy"):
        auto, two = rows[condition, "auto"][1], rows[condition, "2"][1]
        default = rows[condition, "default"][1]
        print(f"{condition}: auto is {two / auto:.1f}x faster than 2 threads, "
              f"{default / auto:.1f}x faster than torch's default")  # fmt: skip


if __name__ == "__main__":
    main()
