"""Lab: do sigmoid gradients vanish toward the first layers of a deep MLP, and do ReLU's not?

Course §44.1.2: the sigmoid's derivative is at most 1/4, so back-propagating through many sigmoid
layers multiplies the gradient by small factors; ReLU's derivative is 1 for positive inputs.
The lab back-propagates one digits batch through a deep MLP at initialization and measures the
back-propagated signal ‖∂loss/∂z‖ at each layer's pre-activation (the δ of backprop) and each
weight's gradient norm. Control arms separate the activation from its initialization: ReLU with
Xavier (the init made for tanh) and sigmoid with a variance-preserving gain of 4 (1/slope at 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 3
    depth: int = 10  # hidden layers: deep enough for a product of derivatives to show
    hidden_size: int = 64
    batch_size: int = 256  # samples in the one batch the gradients are measured on
    vanish_below: float = 1e-2  # "vanishes": first/last hidden δ ratio below this
    keep_above: float = 1e-1  # "does not vanish": that ratio above this


CONFIG = Config()
FAITHFUL = Config(seeds=10, depth=20, hidden_size=128, batch_size=512)
# arm -> (activation, init); "xavier4" is Xavier with gain 4, variance-preserving for σ'(0)=1/4
ARMS = {
    "sigmoid+xavier": ("sigmoid", "xavier"),
    "sigmoid+xavier×4": ("sigmoid", "xavier4"),
    "tanh+xavier": ("tanh", "xavier"),
    "relu+he": ("relu", "he"),
    "relu+xavier": ("relu", "xavier"),
}
COURSE = "§44.1.2; Q5; Q104; Q105; C42"
CLAIMS = (
    Claim(
        "sigmoid_vanishes",
        "In a deep sigmoid MLP (Xavier init) the gradient vanishes toward the first layers.",
        COURSE,
        "‖δ‖ of the first hidden layer over the last hidden layer's, at initialization",
        f"holds for a seed if the ratio < {CONFIG.vanish_below:g}",
        expected="holds",
    ),
    Claim(
        "relu_does_not_vanish",
        "With ReLU (and He init) the gradient does not vanish toward the first layers.",
        COURSE,
        "the same ratio for ReLU + He",
        f"holds for a seed if the ratio > {CONFIG.keep_above:g}",
        expected="holds",
    ),
    Claim(
        "relu_alone_avoids_vanishing",
        "ReLU by itself avoids vanishing gradients, whatever the initialization.",
        "C42; Q105",
        "the same ratio for ReLU with Xavier init (fan-in + fan-out, made for tanh)",
        f"holds for a seed if the ratio > {CONFIG.keep_above:g}",
        expected="subtle",
    ),
    Claim(
        "sigmoid_vanishes_despite_init",
        "Sigmoid's vanishing comes from the activation: it remains with a variance-preserving "
        "initialization (Xavier with gain 4).",
        "§44.1.2; Q32",
        "the same ratio for sigmoid with Xavier × 4",
        f"holds for a seed if the ratio < {CONFIG.vanish_below:g}",
        expected="subtle",
    ),
)


def _model(activation: str, init: str, data, seed: int, config: Config):
    import torch
    from torch import nn

    from profond.labs.small_train import Setting, build_model

    options = {
        "hidden_sizes": (config.hidden_size,) * config.depth,
        "activation": activation,
        "dropout": 0.0,
        "init": "xavier" if init == "xavier4" else init,
    }
    model = build_model(Setting(model_options=options), data, seed)
    if init == "xavier4":
        torch.manual_seed(seed)
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight, gain=4.0)
    return model


def measure(activation: str, init: str, seed: int, config: Config) -> dict[str, list[float]]:
    """Per Linear layer (first hidden first, output last): ‖∂L/∂z‖ and ‖∂L/∂W‖ at init."""
    import torch
    from torch import nn

    from profond.labs.small_train import digits

    data = digits()
    model = _model(activation, init, data, seed, config)
    generator = torch.Generator().manual_seed(seed)
    batch = torch.randperm(len(data.x_train), generator=generator)[: config.batch_size]
    outputs: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
        out.retain_grad()  # so that backward fills z.grad = δ for this layer
        outputs.append(out)

    hooks = [m.register_forward_hook(keep) for m in model.modules() if isinstance(m, nn.Linear)]
    loss = nn.functional.cross_entropy(model(data.x_train[batch]), data.y_train[batch])
    loss.backward()
    for hook in hooks:
        hook.remove()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    deltas = [z.grad for z in outputs]
    weight_grads = [m.weight.grad for m in linears]
    # retain_grad() and backward() filled every one of them
    assert all(g is not None for g in deltas + weight_grads)
    return {
        "delta": [cast(torch.Tensor, g).norm().item() for g in deltas],
        "weight_grad": [cast(torch.Tensor, g).norm().item() for g in weight_grads],
    }


def experiment(ctx: LabContext) -> Outcome:
    config: Config = ctx.config
    runs = {arm: [measure(*ARMS[arm], s, config) for s in ctx.seeds] for arm in ARMS}
    # First hidden layer against the last hidden one: the output layer's δ does not go
    # through an activation derivative, so it is left out.
    ratio = {arm: [r["delta"][0] / r["delta"][-2] for r in rs] for arm, rs in runs.items()}
    w_ratio = {arm: [r["weight_grad"][0] / r["weight_grad"][-2] for r in rs] for arm, rs in runs.items()}  # fmt: skip
    figure = _plot(runs, ctx)

    def verdict(claim: Claim, arm: str, below: float | None = None, above: float | None = None):
        values = ratio[arm]
        if below is not None:
            ok = [v < below for v in values]
        else:
            assert above is not None  # every caller gives one bound
            ok = [v > above for v in values]
        return decide(
            claim,
            ok,
            {"arm": arm, "delta_ratio": values, "weight_grad_ratio": w_ratio[arm],
             "delta_per_layer_seed0": runs[arm][0]["delta"]},
            summary=f"{arm}: first/last hidden ‖δ‖ = {fmt_seeds(values)} over seeds "
            f"(weight-gradient ratio {fmt_seeds(w_ratio[arm])}).",
        )  # fmt: skip

    verdicts = [
        verdict(CLAIMS[0], "sigmoid+xavier", below=config.vanish_below),
        verdict(CLAIMS[1], "relu+he", above=config.keep_above),
        verdict(CLAIMS[2], "relu+xavier", above=config.keep_above),
        verdict(CLAIMS[3], "sigmoid+xavier×4", below=config.vanish_below),
    ]
    return Outcome(verdicts, [figure])


def _plot(runs: dict[str, list[dict[str, list[float]]]], ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_delta, ax_weight) = new_figure(ncols=2, width=6.0)
    for arm, per_seed in runs.items():
        layers = list(range(1, len(per_seed[0]["delta"]) + 1))
        color = ax_delta._get_lines.get_next_color()
        seed_lines(ax_delta, layers, [r["delta"] for r in per_seed], arm, color, log=True)
        seed_lines(ax_weight, layers, [r["weight_grad"] for r in per_seed], arm, color, log=True)
    ax_delta.set_ylabel("‖∂loss/∂z‖ (back-propagated δ)")
    ax_weight.set_ylabel("‖∂loss/∂W‖")
    for ax in (ax_delta, ax_weight):
        ax.set_xlabel("layer (1 = first hidden, last = output)")
        ax.grid(True, which="both", alpha=0.3)
    ax_delta.legend(fontsize=7)
    title = f"Gradients per layer at init, {ctx.config.depth}-layer MLP on digits, every seed"
    return finish(fig, ctx.path("gradient_norms.png"), title)


LAB = Lab(
    name="activation_gradients",
    title="Vanishing gradients: sigmoid vs ReLU, each with and without its initialization",
    claims=CLAIMS,
    setup="A 10×64 MLP on one batch of 256 standardized digits, at initialization; one backward "
    "pass of the cross-entropy. Five arms: sigmoid+Xavier, sigmoid+Xavier×4, tanh+Xavier, "
    "ReLU+He, ReLU+Xavier. Ratio of the first to the last hidden layer's back-propagated δ.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "vanishing gradient",
        "disparition du gradient",
        "gradient évanescent",
        "sigmoid",
        "sigmoïde",
        "relu",
        "activation function",
        "fonction d'activation",
    ),  # fmt: skip
    answers=("Q5", "Q32", "Q104", "Q105", "C42"),
    fast=True,
)
