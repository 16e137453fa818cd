"""One epoch of the lab's MLP on Fashion-MNIST, NumPy engine against PyTorch, same run.

784 → Dense(128, relu) → Dropout(0.2) → Dense(10), Adam lr 1e-3, batch 128, 60 000 images.
Both engines use 2 threads and the same shuffled order; the last line printed is
``ratio scratch/torch: X.XX`` (seconds per epoch, lower is better for scratch).

Usage::

    python benchmarks/scratch_vs_torch.py [--epochs 3] [--profile] [--threads 2]
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import pstats
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from profond.scratch import build_mlp, make_optimizer

DATA = Path("/usr/share/datasets/fashion-mnist")
BATCH_SIZE = 128
THREADS = 2


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped): magic, dimensions as big-endian uint32, then uint8 data."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_train() -> tuple[np.ndarray, np.ndarray]:
    x = read_idx(DATA / "train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    y = read_idx(DATA / "train-labels-idx1-ubyte.gz").astype(np.int64)
    return x, y


def scratch_epoch(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    model = build_mlp(784, (128,), 10, "relu", 0.2, "default", seed=0)
    model.compile(make_optimizer("adam", 1e-3))
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, shuffle=True, seed=seed)
    return time.perf_counter() - start


def torch_epoch(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    start = time.perf_counter()
    model.train()
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(x)))
    for begin in range(0, len(x), BATCH_SIZE):
        index = order[begin : begin + BATCH_SIZE]
        loss = loss_fn(model(xt[index]), yt[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per engine")
    parser.add_argument("--profile", action="store_true", help="cProfile one scratch epoch")
    parser.add_argument("--threads", type=int, default=THREADS, help="BLAS/torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y = load_train()
    with threadpool_limits(limits=args.threads):
        # One untimed epoch each warms caches and thread pools.
        scratch_epoch(x[:5000], y[:5000], seed=0)
        torch_epoch(x[:5000], y[:5000], seed=0)
        scratch_times, torch_times = [], []
        for epoch in range(args.epochs):
            scratch_times.append(scratch_epoch(x, y, seed=epoch))
            torch_times.append(torch_epoch(x, y, seed=epoch))
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(scratch_epoch, x, y, 0)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    scratch_s, torch_s = float(np.median(scratch_times)), float(np.median(torch_times))
    print(
        f"scratch (numpy {np.__version__}): {scratch_s:.3f} s/epoch  {np.round(scratch_times, 3)}"
    )
    print(f"torch ({torch.__version__}): {torch_s:.3f} s/epoch  {np.round(torch_times, 3)}")
    print(f"ratio scratch/torch: {scratch_s / torch_s:.2f}")


if __name__ == "__main__":
    main()
