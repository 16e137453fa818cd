"""Where a ResNet training epoch on Fashion-MNIST spends its time (torch.profiler, CPU).

Profiles ``--batches`` training steps of the family's default network with the default
recipe (augmentation included), then one evaluation pass over ``--eval`` images, and prints
the operators by self CPU time plus a per-phase summary (augmentation, forward, backward,
optimizer step, evaluation). Usage::

    python benchmarks/profile_resnet.py [--batches 100] [--threads 2] [--model resnet]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile, record_function

from profond.data.augment import augment_batch
from profond.data.registry import DataOptions, load_dataset
from profond.models import get_family, make_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval", type=int, default=5000)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--rows", type=int, default=18)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    family = get_family(args.model)
    bundle = load_dataset("fashion-mnist", DataOptions(limit=args.batches * args.batch_size + 10))
    torch.manual_seed(0)
    options = dict(item.split("=", 1) for item in args.set)
    model = family.module_class(make_config(family, family.data_fields(bundle), options))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = bundle.x_train, bundle.y_train

    def train(batches: int) -> None:
        model.train()
        for i in range(batches):
            xb = x[i * args.batch_size : (i + 1) * args.batch_size]
            yb = y[i * args.batch_size : (i + 1) * args.batch_size]
            with record_function("phase:augment"):
                xb = augment_batch(xb)
            optimizer.zero_grad(set_to_none=True)
            with record_function("phase:forward"):
                loss = F.cross_entropy(model(xb), yb)
            with record_function("phase:backward"):
                loss.backward()
            with record_function("phase:step"):
                optimizer.step()

    @torch.no_grad()
    def evaluate() -> None:
        model.eval()
        with record_function("phase:evaluate"):
            for i in range(0, args.eval, 512):
                model(bundle.x_test[i : i + 512])

    train(5)  # warm-up: oneDNN picks its kernels
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train(args.batches)
        train_s = time.perf_counter() - start
        evaluate()
    total_s = time.perf_counter() - start
    events = prof.key_averages()
    print(f"{args.model}, {args.threads} threads, {args.batches} batches of {args.batch_size}")
    print(f"train {train_s / args.batches * 1000:.1f} ms/batch under the profiler "
          f"(x422 batches = {train_s / args.batches * 422:.0f} s/epoch); "
          f"evaluation of {args.eval} images {total_s - train_s:.1f} s")  # fmt: skip
    phases = sorted((e for e in events if e.key.startswith("phase:")), key=lambda e: e.key)
    for e in phases:
        print(f"  {e.key:<18} {e.cpu_time_total / 1e6:8.2f} s")
    print(events.table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
