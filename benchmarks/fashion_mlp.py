"""The lab's MLP on Fashion-MNIST through `profond train`, 5 epochs: accuracy, s/epoch, peak RSS.

Run: python benchmarks/fashion_mlp.py [--engine torch|scratch]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", default="torch")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PROFOND_HOME": home}
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "profond", "train", "--data", "fashion-mnist", "--model", "mlp",
             "--epochs", str(args.epochs), "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "128",
             "--engine", args.engine, "--json"],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
        run_id = json.loads(done.stdout.strip().splitlines()[-1])["run_id"]
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{home}/mlflow.db")
        epoch_times = [m.value for m in client.get_metric_history(run_id, "epoch_time_s")] or [
            float("nan")
        ]
        metrics = client.get_run(run_id).data.metrics
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"engine {args.engine}: test_accuracy {metrics['test_accuracy']:.4f} after {args.epochs} epochs"
    )
    print(f"per-epoch seconds (train + validation): {', '.join(f'{t:.2f}' for t in epoch_times)}")
    print(f"whole command: {wall:.1f} s; peak RSS of the training process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
