"""Lab: sigmoid makes gradients vanish toward the first layers of a deep MLP; ReLU does not.

Course §44.1.2: the sigmoid's derivative is at most 1/4, so back-propagating through many
sigmoid layers multiplies the gradient by small factors and the first layers barely learn; ReLU's
derivative is 1 for positive inputs. The lab builds the same deep MLP with each activation (each
with the initialization made for it: Xavier for sigmoid, He for ReLU), takes one real batch of
digits, back-propagates the loss once at initialization and measures every layer's gradient norm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from profond.labs.base import Lab, Outcome, Verdict
from profond.labs.digits_batch import load_digits_tensors


@dataclass(frozen=True)
class ActivationGradientsConfig:
    depth: int = 10  # hidden layers: deep enough for a product of derivatives to show
    hidden_size: int = 64  # width of every hidden layer
    batch_size: int = 256  # samples in the one batch the gradients are measured on
    vanish_below: float = 1e-2  # sigmoid passes if first/last hidden gradient ratio is below this
    keep_above: float = 1e-1  # relu passes if that ratio stays above this


CONFIG = ActivationGradientsConfig()
# Each activation with the initialization designed for it, so that the comparison is fair.
SETUPS = {"sigmoid": "xavier", "relu": "he"}


def layer_gradient_norms(
    activation: str, seed: int, config: ActivationGradientsConfig
) -> list[float]:
    """Gradient norm of each Linear layer's weight after one backward pass at initialization.

    Returns:
        ``depth + 1`` norms, first hidden layer first, output layer last.
    """
    import torch
    from torch import nn

    from profond.models.mlp import MLP, MLPConfig

    x, y = load_digits_tensors(standardize=True)
    generator = torch.Generator().manual_seed(seed)
    batch = torch.randperm(len(x), generator=generator)[: config.batch_size]
    torch.manual_seed(seed)
    model = MLP(
        MLPConfig(
            in_features=x.shape[1],
            num_classes=10,
            hidden_sizes=(config.hidden_size,) * config.depth,
            activation=activation,
            dropout=0.0,
            init=SETUPS[activation],
        )
    )
    loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
    loss.backward()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return [m.weight.grad.norm().item() for m in linears if m.weight.grad is not None]


def experiment(outdir: Path, seed: int) -> Outcome:
    import torch

    torch.set_num_threads(1)  # tiny matrices: threads cost more than they give
    norms = {act: layer_gradient_norms(act, seed, CONFIG) for act in SETUPS}
    # First hidden layer against the last hidden one: the output layer's gradient does not go
    # through any activation derivative, so it is left out of the ratio.
    ratios = {act: values[0] / values[-2] for act, values in norms.items()}
    figure = _plot(norms, outdir / "gradient_norms.png")
    verdicts = [
        Verdict(
            claim=f"With sigmoid, the first layer's gradient is over {1 / CONFIG.vanish_below:g}x "
            "smaller than the last hidden layer's (vanishing gradient).",
            passed=ratios["sigmoid"] < CONFIG.vanish_below,
            measured={"first_over_last_hidden": ratios["sigmoid"], "layer_norms": norms["sigmoid"]},
        ),
        Verdict(
            claim=f"With ReLU, the first layer's gradient stays within {1 / CONFIG.keep_above:g}x "
            "of the last hidden layer's.",
            passed=ratios["relu"] > CONFIG.keep_above,
            measured={"first_over_last_hidden": ratios["relu"], "layer_norms": norms["relu"]},
        ),
    ]
    return Outcome(verdicts, [figure])


def _plot(norms: dict[str, list[float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for activation, values in norms.items():
        layers = range(1, len(values) + 1)
        ax.semilogy(layers, values, marker="o", label=f"{activation} ({SETUPS[activation]} init)")
    ax.set_xlabel("layer (1 = first hidden layer, last = output)")
    ax.set_ylabel("‖∂loss/∂W‖ at initialization")
    ax.set_title("Gradient norm per layer, deep MLP on digits")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    from profond.train.plots import save_figure

    return save_figure(fig, path)  # atomic, like every figure profond writes


LAB = Lab(
    name="activation_gradients",
    title="Vanishing gradients: sigmoid vs ReLU in a 10-layer MLP",
    claim="Sigmoid gradients vanish toward the first layers of a deep network; ReLU's do not.",
    keywords=(
        "vanishing gradient",
        "disparition du gradient",
        "gradient évanescent",
        "sigmoid",
        "sigmoïde",
        "relu",
        "activation function",
        "fonction d'activation",
    ),
    fast=True,
    experiment=experiment,
)
