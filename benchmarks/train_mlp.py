"""profond's trainer against a plain hand-written PyTorch loop: same MLP, data, batches, threads.

Run: python benchmarks/train_mlp.py [--epochs 3] [--threads 2]
Prints the per-epoch seconds of each (median over epochs, both measured in this run, in
alternating blocks) and, last, the overhead ratio profond/plain.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from profond.data.registry import DataOptions, load_dataset
from profond.models import build_model
from profond.train.config import TrainConfig
from profond.train.tasks.classification import ClassificationTask
from profond.train.trainer import Trainer


def lab_mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("mlp", {"in_features": 784, "num_classes": 10})


def plain_epochs(x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int) -> list[float]:
    """The loop a person writes by hand: shuffle, slice, forward, loss, backward, step."""
    model = lab_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(x), batch_size):
            index = order[i : i + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def profond_epochs(data, epochs: int, batch_size: int, threads: int) -> list[float]:
    # the same thread count as the plain loop (left unset, profond picks one for the model)
    config = TrainConfig(
        epochs=epochs, batch_size=batch_size, lr=1e-3, device="cpu", threads=threads
    )
    result = Trainer(config).fit(lab_mlp(), ClassificationTask(data), data)
    return result.history["epoch_time_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_dataset("fashion-mnist", DataOptions(val_fraction=0.0))  # no validation: same work
    plain: list[float] = []
    ours: list[float] = []
    for _ in range(args.blocks):
        plain += plain_epochs(data.x_train, data.y_train, args.epochs, args.batch_size)
        ours += profond_epochs(data, args.epochs, args.batch_size, args.threads)
    p, o = statistics.median(plain), statistics.median(ours)
    print(
        f"Fashion-MNIST, lab MLP, batch {args.batch_size}, {args.threads} threads, {len(data.x_train)} images"
    )
    print(f"plain PyTorch loop : {p:.3f} s/epoch (epochs: {', '.join(f'{t:.2f}' for t in plain)})")
    print(f"profond Trainer    : {o:.3f} s/epoch (epochs: {', '.join(f'{t:.2f}' for t in ours)})")
    print(f"ratio profond/plain: {o / p:.3f}")


if __name__ == "__main__":
    main()
