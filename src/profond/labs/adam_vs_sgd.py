"""Lab: at the same learning rate, Adam lowers the training loss faster than plain SGD.

Course §44.2.3: Adam divides each parameter's step by a running estimate of its gradient's
scale, so a small learning rate still moves every weight; plain SGD's step is the raw gradient
times the learning rate. The lab trains the same MLP from the same initialization on digits with
each optimizer, same learning rate, same epochs and same batches, and compares training losses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from profond.labs.base import Lab, Outcome, Verdict
from profond.labs.digits_batch import load_digits_tensors


@dataclass(frozen=True)
class AdamVsSgdConfig:
    lr: float = 1e-3  # the same for both: Adam's usual default
    epochs: int = 10  # passes over the 1 797 digits
    batch_size: int = 64  # mini-batches, shuffled the same way for both optimizers
    hidden_sizes: tuple[int, ...] = (64, 64)  # a small MLP


CONFIG = AdamVsSgdConfig()
OPTIMIZERS = ("sgd", "adam")


def train_losses(optimizer_name: str, seed: int, config: AdamVsSgdConfig) -> list[float]:
    """Full training-set loss after each epoch.

    Returns:
        ``epochs + 1`` losses, the first one at initialization.
    """
    import torch
    from torch import nn

    from profond.models.mlp import MLP, MLPConfig

    x, y = load_digits_tensors(standardize=False)
    torch.manual_seed(seed)  # same initial weights for both optimizers
    model = MLP(
        MLPConfig(
            in_features=x.shape[1], num_classes=10, hidden_sizes=config.hidden_sizes, dropout=0.0
        )
    )
    if optimizer_name == "sgd":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(seed)  # same batches for both optimizers

    def full_loss() -> float:
        with torch.no_grad():
            return nn.functional.cross_entropy(model(x), y).item()

    losses = [full_loss()]
    for _ in range(config.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        losses.append(full_loss())
    return losses


def experiment(outdir: Path, seed: int) -> Outcome:
    import torch

    torch.set_num_threads(1)  # tiny matrices: threads cost more than they give
    curves = {name: train_losses(name, seed, CONFIG) for name in OPTIMIZERS}
    final = {name: curve[-1] for name, curve in curves.items()}
    figure = _plot(curves, outdir / "training_loss.png")
    verdict = Verdict(
        claim=f"With lr={CONFIG.lr:g} and {CONFIG.epochs} epochs each, Adam ends with a lower "
        "training loss than plain SGD.",
        passed=final["adam"] < final["sgd"],
        measured={
            "final_loss_adam": final["adam"],
            "final_loss_sgd": final["sgd"],
            "initial_loss": curves["sgd"][0],
            "lr": CONFIG.lr,
            "epochs": CONFIG.epochs,
        },
    )
    return Outcome([verdict], [figure])


def _plot(curves: dict[str, list[float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, losses in curves.items():
        ax.plot(range(len(losses)), losses, marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cross-entropy")
    ax.set_title(f"Adam vs SGD on digits, lr={CONFIG.lr:g}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    from profond.train.plots import save_figure

    return save_figure(fig, path)  # atomic, like every figure profond writes


LAB = Lab(
    name="adam_vs_sgd",
    title="Adam vs plain SGD at the same learning rate",
    claim="At the same learning rate, Adam reaches a lower training loss than plain SGD.",
    keywords=(
        "adam",
        "sgd",
        "descente de gradient stochastique",
        "stochastic gradient descent",
        "optimiseur",
        "optimizer",
        "optimiser",
    ),
    fast=True,
    experiment=experiment,
)
