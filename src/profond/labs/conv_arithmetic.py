"""Lab: convolution arithmetic, checked against the layers themselves.

Course §44.3.1, Q10, Q39, Q90 and the quiz cards on CNNs state parameter counts, output sizes of
``valid``/``same`` padding and strides, what batch normalization stores, how big a pattern a
kernel can see, and the convolution formula. Each is recomputed here from torch layers (no
training): counts from ``parameters()``, sizes from real forward passes on random inputs drawn
from the seed, receptive fields as the support of ∂output/∂input, the operation by comparing
``conv2d`` with explicit sums.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    image: int = 100  # side of the RGB input of the four-layer network
    filters: tuple[int, ...] = (32, 64, 64, 128)  # its 3x3, stride-2, "same" convolutions
    stacked: int = 4  # stacked 3x3 convolutions whose receptive field is measured
    sizes: tuple[int, ...] = (7, 8, 28, 29)  # input sides for the padding/stride formulas
    tol: float = 1e-5


CONFIG = Config()
FAITHFUL = Config(seeds=3, stacked=6, sizes=(5, 7, 8, 13, 28, 29, 32, 64))
COURSE = "§44.3.1; Q10; Q39; Q90"


def _claims(c: Config) -> tuple[Claim, ...]:
    return (
        Claim(
            "parameter_count",
            f"Four 3x3 stride-2 'same' convolutions ({', '.join(map(str, c.filters))} filters) "
            f"on a {c.image}x{c.image} RGB image, then one dense unit, hold 136 449 parameters, "
            "with feature maps of 50, 25, 13 and 7 pixels.",
            "C64; Q89; Q90",
            "parameters() of the torch model, and the sides of its feature maps",
            "holds for a seed if both are exactly as stated",
            expected="holds",
        ),
        Claim(
            "padding_stride_formulas",
            "'valid' padding shrinks a side by k - 1, 'same' keeps it at stride 1, and a stride s "
            "divides it by s (rounded down for valid, up for same).",
            "Q39; C59; C60; C65; C76; C78",
            f"output sides of real conv layers, k in 1..5, s in 1..3, sides {c.sizes}",
            "holds for a seed if every output side matches floor((n - k) / s) + 1 (valid) or "
            "ceil(n / s) (same: torch's padding='same' at s = 1, k // 2 for odd k at s > 1)",
            expected="holds",
        ),
        Claim(
            "batchnorm_stores_four_vectors",
            "A batch-norm layer over C channels learns 2C values (scale, shift) and keeps 2C "
            "statistics that training updates by averaging, not by gradient.",
            "C44; C53",
            "parameters and buffers of BatchNorm2d(16); what one training forward changes",
            "holds for a seed if 32 parameters, 32 running statistics, and a forward without any "
            "optimizer step moves the statistics but not the parameters",
            expected="holds",
        ),
        Claim(
            "kernel_size_bounds_pattern",
            "The kernel size is the largest pattern a CNN can recognise.",
            "C58; C75",
            f"receptive field (support of ∂output/∂input) after 1..{c.stacked} stacked 3x3 convs",
            "holds for a seed if it stays 3 pixels wide at every depth",
            expected="does not hold",
        ),
        Claim(
            "layer_computes_flipped_convolution",
            "A convolution layer computes (I*K)(i, j) = sum I(i - m, j - n) K(m, n), the kernel "
            "flipped.",
            "§44.3.1; C69",
            "conv2d against explicit sums with the flipped kernel and with the kernel as is",
            f"holds for a seed if conv2d matches the flipped sum within {c.tol:g}",
            expected="does not hold",
        ),
        Claim(
            "dense_vs_conv_weights",
            "A dense layer from a 224x224 RGB image to 1 000 units needs over 150 million "
            "weights; a 3x3 convolution with 64 filters, under 2 000.",
            "§44.3.1; Q90",
            "weights of nn.Linear(150 528, 1 000) (counted from its shape) and nn.Conv2d(3, 64, 3)",
            "holds if 150 528 000 > 1.5e8 and 1 728 < 2 000",
            expected="holds",
        ),
    )


CLAIMS = _claims(CONFIG)


def keras_like_model(c: Config):
    """The four-convolution network of the parameter-count claim (Keras 'same' semantics)."""
    from torch import nn

    layers, channels = [], 3
    for f in c.filters:
        # stride 2 'same' in Keras pads so that out = ceil(n / 2): pad 1 on each side for 3x3
        layers += [nn.Conv2d(channels, f, 3, stride=2, padding=1), nn.ReLU()]
        channels = f
    side = c.image
    for _ in c.filters:
        side = math.ceil(side / 2)
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * side * side, 1))


def count_and_sides(c: Config, seed: int) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = keras_like_model(c)
    x = torch.randn(2, 3, c.image, c.image)
    sides = []
    for layer in model:
        x = layer(x)
        if isinstance(layer, nn.Conv2d):
            sides.append(int(x.shape[-1]))
    per_layer = [sum(p.numel() for p in m.parameters()) for m in model if list(m.parameters())]
    return {"total": sum(per_layer), "per_layer": per_layer, "sides": sides}


def formula_mismatches(c: Config, seed: int) -> list[str]:
    """Every (padding, n, k, s) whose real output side differs from the formula."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    wrong = []
    for n in c.sizes:
        x = torch.randn(1, 1, n, n)
        for k in range(1, 6):
            weight = torch.randn(1, 1, k, k)
            for s in range(1, 4):
                if k <= n:
                    got = F.conv2d(x, weight, stride=s).shape[-1]
                    if got != (n - k) // s + 1:
                        wrong.append(f"valid n={n} k={k} s={s}: {got}")
                # 'same': torch's own padding="same" at stride 1; at larger strides the usual
                # symmetric k // 2 padding of an odd kernel (torch refuses "same" there)
                if s == 1:
                    with warnings.catch_warnings():  # even kernels: torch notes an extra copy
                        warnings.simplefilter("ignore", UserWarning)
                        got = F.conv2d(x, weight, padding="same").shape[-1]
                elif k % 2:
                    got = F.conv2d(x, weight, stride=s, padding=k // 2).shape[-1]
                else:
                    continue
                if got != math.ceil(n / s):
                    wrong.append(f"same n={n} k={k} s={s}: {got}")
    return wrong


def batchnorm_facts(seed: int) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    bn = nn.BatchNorm2d(16)
    assert bn.running_mean is not None and bn.running_var is not None  # tracked by default
    params_before = [p.detach().clone() for p in bn.parameters()]
    stats_before = bn.running_mean.clone()
    bn.train()
    bn(torch.randn(8, 16, 5, 5) * 3 + 2)
    return {
        "parameters": sum(p.numel() for p in bn.parameters()),
        "statistics": bn.running_mean.numel() + bn.running_var.numel(),
        "statistics_moved": bool(not torch.equal(stats_before, bn.running_mean)),
        "parameters_moved": any(
            not torch.equal(a, b) for a, b in zip(params_before, bn.parameters(), strict=True)
        ),
    }


def receptive_fields(c: Config, seed: int) -> list[int]:
    """Width of the input region that reaches one central output, after 1..stacked 3x3 convs."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    widths = []
    for depth in range(1, c.stacked + 1):
        net = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(depth)])
        x = torch.randn(1, 1, 31, 31, requires_grad=True)
        net(x)[0, 0, 15, 15].backward()
        assert x.grad is not None
        cols = (x.grad[0, 0].abs().sum(0) > 0).nonzero().flatten()
        widths.append(int(cols.max() - cols.min() + 1))
    return widths


def correlation_errors(seed: int) -> dict[str, float]:
    """Max |conv2d - explicit sum| with the kernel as is (cross-correlation) and flipped."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    image, kernel = torch.randn(9, 9), torch.randn(3, 3)
    out = F.conv2d(image[None, None], kernel[None, None])[0, 0]  # (7, 7), valid
    patches = image.unfold(0, 3, 1).unfold(1, 3, 1)  # (7, 7, 3, 3): patch at (i, j)
    as_is = (patches * kernel).sum((-1, -2))
    flipped = (patches * kernel.flip(0, 1)).sum((-1, -2))
    return {
        "as_is": float((out - as_is).abs().max()),
        "flipped": float((out - flipped).abs().max()),
    }


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    claims = _claims(c)
    counts = [count_and_sides(c, s) for s in ctx.seeds]
    wrong = [formula_mismatches(c, s) for s in ctx.seeds]
    bns = [batchnorm_facts(s) for s in ctx.seeds]
    fields = [receptive_fields(c, s) for s in ctx.seeds]
    corr = [correlation_errors(s) for s in ctx.seeds]
    dense, conv = 224 * 224 * 3 * 1000, 3 * 3 * 3 * 64
    bn_ok = [
        b["parameters"] == 32
        and b["statistics"] == 32
        and b["statistics_moved"]
        and not b["parameters_moved"]
        for b in bns
    ]
    verdicts = [
        decide(claims[0], [r["total"] == 136_449 and r["sides"] == [50, 25, 13, 7] for r in counts],
               {"per_seed": counts},
               summary=f"{counts[0]['total']:,} parameters ({', '.join(f'{n:,}' for n in counts[0]['per_layer'])}); "
               f"feature maps {counts[0]['sides']}."),
        decide(claims[1], [not w for w in wrong], {"mismatches": wrong},
               summary=f"{sum(map(len, wrong))} mismatches between real conv layers and the formulas "
               f"(sides {c.sizes}, k 1..5, s 1..3)."),
        decide(claims[2], bn_ok, {"per_seed": bns},
               summary=f"{bns[0]['parameters']} parameters, {bns[0]['statistics']} running statistics; "
               f"a training forward moved the statistics ({bns[0]['statistics_moved']}) and the "
               f"parameters ({bns[0]['parameters_moved']})."),
        decide(claims[3], [all(w == 3 for w in f) for f in fields], {"receptive_field": fields},
               summary=f"receptive field after 1..{c.stacked} 3x3 layers: {fields[0]} px (2n + 1)."),
        decide(claims[4], [e["flipped"] < c.tol for e in corr], {"errors": corr},
               summary=f"conv2d vs the kernel as is: {corr[0]['as_is']:.1e}; vs the flipped "
               f"kernel: {corr[0]['flipped']:.2f}: layers compute cross-correlation."),
        decide(claims[5], [dense > 150_000_000 and conv < 2000] * len(ctx.seeds),
               {"dense_weights": dense, "conv_weights": conv},
               summary=f"dense {dense:,} weights vs 3x3x3x64 convolution {conv:,}."),
    ]  # fmt: skip
    return Outcome(verdicts, [_plot(c, ctx.seeds[0], ctx)])


def _plot(c: Config, seed: int, ctx: LabContext):
    import torch
    from torch import nn

    from profond.labs.figures import finish, new_figure

    fig, axes = new_figure(ncols=c.stacked, width=2.6, height=2.8)
    torch.manual_seed(seed)
    for depth, ax in enumerate(axes, start=1):
        net = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(depth)])
        x = torch.randn(1, 1, 15, 15, requires_grad=True)
        net(x)[0, 0, 7, 7].backward()
        assert x.grad is not None
        ax.imshow((x.grad[0, 0] != 0).float().numpy(), cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"{depth} layer{'s' if depth > 1 else ''}: {2 * depth + 1}x{2 * depth + 1}")
        ax.set_xticks([])
        ax.set_yticks([])
    return finish(fig, ctx.path("receptive_field.png"), "Input pixels reaching one output (3x3 kernels)")  # fmt: skip


LAB = Lab(
    name="conv_arithmetic",
    title="Convolution arithmetic: parameters, output sizes, receptive fields, the operation",
    claims=CLAIMS,
    setup=(
        "No training: torch layers on random inputs drawn from the seed. Parameter counts from "
        "parameters(), sizes from forward passes, receptive fields from the non-zero gradient "
        "of one output with respect to the input, the operation from explicit sums."
    ),
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "convolution",
        "padding",
        "stride",
        "kernel",
        "noyau",
        "receptive field",
    ),  # fmt: skip
    answers=(
        "Q10",
        "Q39",
        "Q89",
        "Q90",
        "C44",
        "C53",
        "C58",
        "C59",
        "C60",
        "C64",
        "C65",
        "C69",
        "C75",
        "C76",
        "C78",
    ),  # fmt: skip
    fast=True,
)
