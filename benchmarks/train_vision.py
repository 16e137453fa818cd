"""Per-epoch training time of the vision families, side by side (CPU, and CUDA when available).

Each family trains on its default dataset for a measured number of batches after warm-up; the
time is scaled to a full epoch of the default training split (Fashion-MNIST: 54 000 images after
the validation split; shapes: 2 160). Usage::

    python benchmarks/train_vision.py [--device cpu|cuda] [--batches 60] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import torch

from profond.data.registry import DataOptions, load_dataset
from profond.models import get_family, make_config
from profond.models.cnn import count_parameters
from profond.train.tasks import task_class

FAMILIES = ("cnn", "resnet", "autoencoder", "unet")


def epoch_time(name: str, device: torch.device, batches: int, batch_size: int) -> tuple[int, float]:
    """(parameter count, seconds per epoch) of one family on its default data."""
    family = get_family(name)
    bundle = load_dataset(family.default_data, DataOptions(limit=batches * batch_size + 1000))
    full = {"fashion-mnist": 54_000, "shapes": 2_160}[family.default_data]
    torch.manual_seed(0)
    model = family.module_class(make_config(family, family.data_fields(bundle), {})).to(device)
    task = task_class(family.task)(bundle)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    model.train()

    def step(i: int) -> None:
        start = (i * batch_size) % (len(bundle.x_train) - batch_size)
        x = bundle.x_train[start : start + batch_size].to(device)
        y = bundle.y_train[start : start + batch_size].to(device)
        optimizer.zero_grad(set_to_none=True)
        task.training_step(model, x, y).backward()
        optimizer.step()

    for i in range(5):  # warm-up: oneDNN picks its kernels, CUDA initialises
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    begin = time.perf_counter()
    for i in range(batches):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    per_batch = (time.perf_counter() - begin) / batches
    return count_parameters(model), per_batch * full / batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device(args.device)]
    if args.device == "cuda" and torch.cuda.is_available():
        devices.insert(0, torch.device("cpu"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    header = f"{'family':<12} {'params':>9} " + " ".join(
        f"{d.type + ' s/epoch':>14}" for d in devices
    )
    print(header + ("   ratio" if len(devices) == 2 else ""))
    for name in args.families:
        results = [epoch_time(name, d, args.batches, args.batch_size) for d in devices]
        times = " ".join(f"{t:>14.1f}" for _, t in results)
        ratio = f"   {results[0][1] / results[1][1]:.1f}x" if len(results) == 2 else ""
        print(f"{name:<12} {results[0][0]:>9} {times}{ratio}", flush=True)


if __name__ == "__main__":
    main()
