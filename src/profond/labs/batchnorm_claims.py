"""Lab: batch normalization allows larger learning rates and speeds training — but not by
reducing "internal covariate shift", and it does not stop gradients from exploding at init.

Course Q106 (BN stabilizes and speeds learning), Q105, C44 (BN reduces vanishing/exploding
gradients, allows larger learning rates, works even if the data distributions vary), C77; the
"internal covariate shift" rationale of the original paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    depth: int = 6
    width: int = 64
    epochs: int = 3
    lr_grid: tuple[float, ...] = (0.03, 0.3, 3.0)  # plain SGD
    larger_lr_factor: float = 3.0  # BN's largest trainable lr ≥ this × without BN
    noise_std: float = 0.5  # noisy BN: per-step random scale exp(N(0, s²)) and shift N(0, s²)
    noise_hurts: float = 1.1  # ICS story holds if noisy BN's loss > this × BN's + 0.02
    probe_depths: tuple[int, ...] = (10, 30)
    explode_ratio: float = 10.0  # first/last hidden weight-gradient ratio at init


CONFIG = Config()
FAITHFUL = Config(
    seeds=5, epochs=8, lr_grid=(0.01, 0.03, 0.1, 0.3, 1.0, 3.0), probe_depths=(10, 30, 50)
)
CLAIMS = (
    Claim("bn_allows_larger_lr_and_speeds_up",
          "Batch normalization allows larger learning rates and speeds up training.",
          "Q106; C44", f"largest lr of {CONFIG.lr_grid} that trains (loss below chance, no divergence) "
          f"and best training loss after {CONFIG.epochs} epochs, {CONFIG.depth}-layer MLP with/without BN",
          f"per seed: BN's largest lr ≥ {CONFIG.larger_lr_factor:g}× and its best loss lower",
          expected="holds"),
    Claim("bn_works_by_reducing_covariate_shift",
          "Batch normalization works by reducing the shift of each layer's input distribution "
          "(internal covariate shift).", "C44; Q106",
          "best training loss over the lr grid of BN vs BN followed by fresh random per-unit scale "
          "and shift at every step (which adds shift back)",
          f"per seed: the noisy BN's loss > {CONFIG.noise_hurts:g} × BN's + 0.02", expected="does not hold"),
    Claim("bn_prevents_exploding_gradients",
          "Batch normalization reduces the vanishing/exploding gradient problem.", "C44; Q105",
          f"first over last hidden weight-gradient norm at init, BN-ReLU MLPs of depth "
          f"{CONFIG.probe_depths} without skips (training-mode batch of 256)",
          f"per seed: the ratio stays ≤ {CONFIG.explode_ratio:g} at depth {CONFIG.probe_depths[-1]}",
          expected="does not hold"),
)  # fmt: skip


def noisy_bn(model, std: float, seed: int):
    """Insert, after every BatchNorm1d, a fresh random per-unit scale and shift at each training step."""
    import torch
    from torch import nn

    class ShiftNoise(nn.Module):
        def __init__(self, generator: torch.Generator) -> None:
            super().__init__()
            self.generator = generator

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training:
                return x
            shape = (1, x.shape[1])
            scale = torch.exp(std * torch.randn(shape, generator=self.generator))
            shift = std * torch.randn(shape, generator=self.generator)
            return x * scale + shift

    generator = torch.Generator().manual_seed(seed)
    layers = [nn.Sequential(m, ShiftNoise(generator)) if isinstance(m, nn.BatchNorm1d) else m
              for m in model.body]  # fmt: skip
    model.body = nn.Sequential(*layers)
    return model


def _lr_sweep(ctx: LabContext) -> dict:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits()
    out: dict = {}
    for bn in (False, True):
        setting = st.Setting(optimizer="sgd", epochs=c.epochs,
                             model_options={"hidden_sizes": (c.width,) * c.depth, "dropout": 0.0,
                                            "batch_norm": bn, "init": "he"})  # fmt: skip
        losses = [
            [st.train(setting.but(lr=lr), data, s).last("train_loss") for lr in c.lr_grid]
            for s in ctx.seeds
        ]
        out[bn] = {"losses": losses, "setting": setting,
                   "largest": [max([lr for lr, v in zip(c.lr_grid, ls, strict=True) if v < math.log(10)], default=0.0)
                               for ls in losses]}  # fmt: skip
    return out


def _grad_ratio(depth: int, seed: int, c: Config) -> float:
    import torch.nn.functional as F
    from torch import nn

    from profond.labs import small_train as st

    data = st.digits()
    setting = st.Setting(model_options={"hidden_sizes": (c.width,) * depth, "dropout": 0.0,
                                        "batch_norm": True, "init": "he"})  # fmt: skip
    model = st.build_model(setting, data, seed).train()
    F.cross_entropy(model(data.x_train[:256]), data.y_train[:256]).backward()
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    first, last_hidden = linears[0].weight.grad, linears[-2].weight.grad
    assert first is not None and last_hidden is not None  # backward() reached both
    return first.norm().item() / last_hidden.norm().item()


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    sweep = _lr_sweep(ctx)
    best = {bn: [min(ls) for ls in sweep[bn]["losses"]] for bn in (False, True)}
    faster = [b_lr >= c.larger_lr_factor * p_lr and b < p for b_lr, p_lr, b, p in
              zip(sweep[True]["largest"], sweep[False]["largest"], best[True], best[False], strict=True)]  # fmt: skip
    bn_lr = [c.lr_grid[min(range(len(ls)), key=ls.__getitem__)] for ls in sweep[True]["losses"]]
    noisy_setting = sweep[True]["setting"]

    def noisy_model(d, s):
        return noisy_bn(st.build_model(noisy_setting, d, s), c.noise_std, s)

    # the noisy arm gets its own best lr from the same grid, like every arm
    noisy = [min(st.train(noisy_setting.but(lr=lr), st.digits(), s, model=noisy_model).last("train_loss")
                 for lr in c.lr_grid) for s in ctx.seeds]  # fmt: skip
    plain_bn = best[True]
    ratios = {d: [_grad_ratio(d, s, c) for s in ctx.seeds] for d in c.probe_depths}
    figure = _plot(sweep, ratios, ctx)
    return Outcome([
        decide(CLAIMS[0], faster, {"largest_lr": {"bn": sweep[True]["largest"], "plain": sweep[False]["largest"]},
                                    "best_loss": {"bn": best[True], "plain": best[False]}},
               summary=f"largest trainable lr: BN {sweep[True]['largest']} vs plain {sweep[False]['largest']}; "
               f"best loss BN {fmt_seeds(best[True])} vs plain {fmt_seeds(best[False])}"),
        decide(CLAIMS[1], [n > c.noise_hurts * b + 0.02 for n, b in zip(noisy, plain_bn, strict=True)],
               {"bn": plain_bn, "noisy_bn": noisy, "plain_best": best[False], "lr": bn_lr},
               summary=f"training loss BN {fmt_seeds(plain_bn)} vs BN + injected shift {fmt_seeds(noisy)} "
               f"(no BN, best lr: {fmt_seeds(best[False])})"),
        decide(CLAIMS[2], [r <= c.explode_ratio for r in ratios[c.probe_depths[-1]]],
               {"ratio_by_depth": {str(d): v for d, v in ratios.items()}},
               summary="first/last hidden gradient ratio at init: " + "; ".join(
                   f"depth {d}: {fmt_seeds(v)}" for d, v in ratios.items())),
    ], [figure])  # fmt: skip


def _plot(sweep, ratios, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    c: Config = ctx.config
    fig, (ax_l, ax_r) = new_figure(ncols=2, width=5.3)
    for bn, name in ((False, "no BN"), (True, "BN")):
        curves = [
            [min(v, 10.0) for v in ls] for ls in sweep[bn]["losses"]
        ]  # diverged → shown at 10
        seed_lines(ax_l, list(c.lr_grid), curves, name, log=True)
    ax_l.axhline(math.log(10), color="gray", linestyle=":", label="chance (ln 10)")
    ax_l.set(
        xscale="log", xlabel="SGD learning rate", ylabel=f"training loss after {c.epochs} epochs"
    )
    ax_l.legend(fontsize=7)
    seed_dots(
        ax_r,
        {f"depth {d}": v for d, v in ratios.items()},
        "first/last gradient ratio at init",
        log=True,
    )
    return finish(fig, ctx.path("batchnorm.png"), "Batch normalization, every seed")


LAB = Lab(
    name="batchnorm_claims",
    title="Batch normalization: larger learning rates yes; covariate shift and exploding gradients no",
    claims=CLAIMS,
    setup="6×64 He-initialized ReLU MLPs with and without BatchNorm on standardized digits, plain "
    "SGD at lr 0.03/0.3/3 for 3 epochs (profond's Trainer); the BN net with fresh random "
    "per-unit scale and shift injected after every BN at each step; weight-gradient ratios at "
    "init of 10- and 30-layer BN-ReLU MLPs without skips.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "batch normalization",
        "batch normalisation",
        "batchnorm",
        "normalisation par lots",
        "covariate shift",
    ),  # fmt: skip
    answers=("Q105", "Q106", "Q107", "C44", "C77"),
)
