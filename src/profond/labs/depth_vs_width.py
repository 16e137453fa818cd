"""Lab: depth can represent some functions with far fewer units, but a random or trained net
does not turn depth into exponentially many linear pieces; pyramid widths buy nothing here.

Course Q60, Q61 (deep nets represent complex functions more efficiently, with fewer parameters),
Q124, §44.1.2 (depth vs width), C38 (adding a hidden layer leads to exponentially complex outputs),
C40 (add neurons toward the bottom, then progressively decrease).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    folds: int = 4  # the target is the tent map composed this many times (2^(k-1) teeth)
    shallow_fails_above: float = 0.01  # trained shallow net with the deep net's parameters: MSE
    neurons: int = 96
    shapes: tuple[int, ...] = (1, 2, 3, 6)  # hidden layers sharing the 96 neurons
    points_on_line: int = 20_000
    exponential_factor: float = 2.0  # C38 needs at least this many more regions at the deepest
    pyramid: tuple[int, ...] = (128, 32)
    inverted: tuple[int, ...] = (32, 128)
    epochs: int = 20
    lr_grid: tuple[float, ...] = (1e-3, 3e-3)  # Adam, tuned per shape on validation
    acc_margin: float = 0.005


CONFIG = Config()
FAITHFUL = Config(seeds=5, folds=6, shapes=(1, 2, 3, 6, 12), epochs=40)
CLAIMS = (
    Claim("depth_is_efficient",
          "Deep networks can represent some complex functions with far fewer parameters than "
          "shallow ones.", "Q60; Q61; §44.1.2",
          "MSE on a sawtooth (the tent map composed k times): a hand-built deep net of 2 ReLU units "
          "per layer vs a trained one-hidden-layer net with the same number of parameters",
          f"per seed: the deep net is exact (MSE < 1e-12) and the shallow one's MSE > "
          f"{CONFIG.shallow_fails_above:g}", expected="holds"),
    Claim("layers_make_exponential_complexity",
          "Adding hidden layers makes a network's outputs exponentially more complex.", "C38; Q60",
          f"linear regions crossed along a line between two digits, {CONFIG.neurons} ReLU neurons "
          f"in {CONFIG.shapes} layers, at initialization",
          f"per seed: the deepest arrangement has ≥ {CONFIG.exponential_factor:g}× the regions of one layer",
          expected="does not hold"),
    Claim("pyramid_widths_better",
          "It is better to put more neurons in the first layers and decrease them progressively.",
          "C40", f"digits test accuracy of {CONFIG.pyramid} vs {CONFIG.inverted} MLPs (same "
          "parameters up to 5 %, each Adam lr tuned)",
          f"per seed: pyramid minus inverted accuracy > max({CONFIG.acc_margin:g}, 2 × pooled std)",
          expected="does not hold"),
)  # fmt: skip


def tent_target(x: np.ndarray, folds: int) -> np.ndarray:
    for _ in range(folds):
        x = 2 * np.minimum(x, 1 - x)
    return x


def deep_tent(folds: int):
    """The exact sawtooth: each layer g(h) = 2·relu(h) − 4·relu(h − ½) as 2 ReLU units."""
    import torch
    from torch import nn

    layers: list[nn.Module] = []
    for _ in range(folds):
        first = nn.Linear(1, 2)
        with torch.no_grad():
            first.weight.copy_(torch.tensor([[1.0], [1.0]]))
            first.bias.copy_(torch.tensor([0.0, -0.5]))
        combine = nn.Linear(2, 1)
        with torch.no_grad():
            combine.weight.copy_(torch.tensor([[2.0, -4.0]]))
            combine.bias.zero_()
        layers += [first, nn.ReLU(), combine]
    return nn.Sequential(*layers).double()


def _sawtooth(seed: int, c: Config) -> dict[str, float]:
    import torch
    from torch import nn

    from profond.labs import small_train as st
    from profond.labs.toy import regression_bundle, regression_task

    deep = deep_tent(c.folds)
    params = sum(p.numel() for p in deep.parameters())
    width = max(1, (params - 1) // 3)  # one hidden layer: 3 parameters per unit, plus a bias
    x = np.linspace(0, 1, 2001)[:, None]
    with torch.no_grad():
        deep_mse = float(np.mean((deep(torch.as_tensor(x)).numpy() - tent_target(x, c.folds)) ** 2))
    data = regression_bundle("sawtooth", (x, tent_target(x, c.folds)), (x, tent_target(x, c.folds)))

    def shallow(_data, s):
        torch.manual_seed(s)
        return nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, 1))

    setting = st.Setting(optimizer="adam", lr=0.01, epochs=150, batch_size=256)
    run = st.train(setting, data, seed, model=shallow, task=regression_task)
    return {"deep_mse": deep_mse, "shallow_mse": run.test.get("test_mse", float("inf")),
            "params_deep": params, "shallow_width": width}  # fmt: skip


def count_regions(shape: int, seed: int, c: Config) -> int:
    """Activation patterns along the segment between two digits, for ``shape`` equal layers."""
    import torch
    from torch import nn

    from profond.labs.small_train import digits

    data = digits()
    torch.manual_seed(seed)
    width = c.neurons // shape
    layers = [nn.Linear(64, width)] + [nn.Linear(width, width) for _ in range(shape - 1)]
    a, b = data.x_train[seed].reshape(-1), data.x_train[seed + 100].reshape(-1)
    t = torch.linspace(-1, 2, c.points_on_line)[:, None]  # the line extends past both digits
    h, signs = a + t * (b - a), []
    with torch.no_grad():
        for layer in layers:
            z = layer(h)
            signs.append(z > 0)
            h = torch.relu(z)
    pattern = torch.cat(signs, 1)
    return int((pattern[1:] != pattern[:-1]).any(1).sum().item()) + 1


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    saw = [_sawtooth(s, c) for s in ctx.seeds]
    regions = {k: [count_regions(k, s, c) for s in ctx.seeds] for k in c.shapes}
    data = st.digits()
    acc = {}
    for name, sizes in (("pyramid", c.pyramid), ("inverted", c.inverted)):
        setting = st.Setting(optimizer="adam", epochs=c.epochs, model_options={"hidden_sizes": sizes, "dropout": 0.0})  # fmt: skip
        _, runs = st.tuned_over_seeds(setting, data, ctx.seeds, c.lr_grid)
        acc[name] = [r.test["test_accuracy"] for r in runs]
    shape = compare(acc["pyramid"], acc["inverted"], margin=c.acc_margin)
    deepest, one = regions[c.shapes[-1]], regions[c.shapes[0]]
    figure = _plot(regions, acc, ctx)
    return Outcome([
        decide(CLAIMS[0], [s["deep_mse"] < 1e-12 and s["shallow_mse"] > c.shallow_fails_above for s in saw],
               {"runs": saw}, summary=f"{saw[0]['params_deep']} parameters: hand-built deep MSE "
               f"{saw[0]['deep_mse']:.1e}; trained {saw[0]['shallow_width']}-unit shallow MSE "
               + fmt_seeds([s["shallow_mse"] for s in saw])),
        decide(CLAIMS[1], [d >= c.exponential_factor * o for d, o in zip(deepest, one, strict=True)],
               {"regions": {str(k): v for k, v in regions.items()}},
               summary="regions along the line by layers " + ", ".join(f"{k}: {v}" for k, v in regions.items())),
        decide(CLAIMS[2], shape.greater(), shape.to_json(),
               summary=f"test accuracy pyramid {fmt_seeds(shape.a)} vs inverted {fmt_seeds(shape.b)} "
               f"(difference counts beyond {shape.threshold:.3f})"),
    ], [figure])  # fmt: skip


def _plot(regions, acc, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots

    fig, (ax_r, ax_a) = new_figure(ncols=2, width=5.0)
    seed_dots(
        ax_r,
        {f"{k}×{ctx.config.neurons // k}": v for k, v in regions.items()},
        "linear regions on the line",
    )
    seed_dots(ax_a, acc, "test accuracy (digits)")
    ax_a.set_ylim(0.9, 1.0)
    return finish(fig, ctx.path("depth_width.png"), "Depth vs width, every seed")


LAB = Lab(
    name="depth_vs_width",
    title="Depth vs width: efficient in principle, not exponential in practice, shape barely matters",
    claims=CLAIMS,
    setup="A hand-built deep ReLU net computing a 4-fold sawtooth exactly vs a trained one-hidden-"
    "layer net with as many parameters; linear regions along a line between two digits for 96 "
    "neurons in 1, 2, 3 or 6 layers at init; 128-32 vs 32-128 MLPs on digits (Adam, lr tuned each).",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("profondeur", "largeur", "depth", "width", "hidden layer", "couche cachée"),
    answers=("Q60", "Q61", "Q124", "C36", "C38", "C40"),
)
