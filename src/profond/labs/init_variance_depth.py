"""Lab: initialization sets whether a deep net's signal survives — Xavier for tanh, He for ReLU.

Course Q31 (a bad initialization makes gradients explode or vanish; Xavier and He use the fan-in
and fan-out to keep the activations' variance), Q32 (Xavier for sigmoid/tanh, He for ReLU), Q62
(depth makes gradients vanish or explode), C42. A 30-layer MLP of width 128 on digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    depth: int = 30
    width: int = 128
    keep_range: tuple[float, float] = (0.5, 2.0)  # He+ReLU: last/first activation std
    tanh_range: tuple[float, float] = (0.1, 10.0)  # Xavier+tanh: the same ratio
    shrink_below: float = 1e-3  # Xavier+ReLU: the ratio falls below this
    explode_above: float = 1e3  # N(0, 1)+ReLU: the ratio exceeds this
    saturated_share: float = 0.9  # N(0, 1)+tanh: share of |a| > 0.99 in the last layer
    epochs: int = 3
    lr_grid: tuple[float, ...] = (0.003, 0.03)  # SGD + momentum, tuned per init on validation
    # pre-registered absolute bars (fixed before the first run; chance is ln 10 ≈ 2.30)
    trains_below: float = 0.5  # He+ReLU: training loss below this ...
    stalls_above: float = 2.0  # ... while Xavier+ReLU stays above this
    constant: float = 0.05  # every weight of the symmetric arm
    identical_tol: float = 1e-6


CONFIG = Config()
FAITHFUL = Config(seeds=5, epochs=10)
INITS = ("normal", "xavier", "he")
CLAIMS = (
    Claim("he_suits_relu",
          "He initialization keeps a deep ReLU net's activation scale; Xavier (made for tanh) does not.",
          "Q31; Q32; C42", "std of the last hidden layer's activations over the first's, at init",
          f"per seed: He+ReLU within {CONFIG.keep_range} and Xavier+ReLU below {CONFIG.shrink_below:g}",
          expected="holds"),
    Claim("xavier_suits_tanh",
          "Xavier initialization keeps a deep tanh net's activation scale.", "Q31; Q32",
          "the same ratio for Xavier+tanh", f"per seed: within {CONFIG.tanh_range}", expected="holds"),
    Claim("bad_init_explodes_or_saturates",
          "A naive initialization (N(0, 1)) makes the signal explode (ReLU) or saturate (tanh).",
          "Q31; Q62", "N(0, 1) weights: ReLU std ratio; tanh share of saturated last-layer units",
          f"per seed: ReLU ratio > {CONFIG.explode_above:g} and tanh share > {CONFIG.saturated_share:g}",
          expected="holds"),
    Claim("he_trains_deep_relu",
          "With He initialization a 30-layer ReLU net trains; with Xavier it stalls.", "Q32; Q62",
          f"training loss after {CONFIG.epochs} epochs (SGD + momentum, each init's lr tuned)",
          f"per seed: He < {CONFIG.trains_below:g} and Xavier > {CONFIG.stalls_above:g}",
          expected="holds"),
    Claim("equal_weights_stay_equal",
          "Initializing every weight to the same value never breaks the symmetry between units.",
          "Q31", "largest difference between two first-layer units' incoming weights after training",
          f"per seed: below {CONFIG.identical_tol:g}", expected="holds"),
)  # fmt: skip


def deep_mlp(activation: str, init: str, data, seed: int, c: Config):
    """A ``depth``×``width`` MLP from the family; ``normal`` and ``constant`` re-drawn here."""
    import torch
    from torch import nn

    from profond.labs.small_train import Setting, build_model

    options = {"hidden_sizes": (c.width,) * c.depth, "activation": activation, "dropout": 0.0,
               "init": init if init in ("xavier", "he") else "default"}  # fmt: skip
    model = build_model(Setting(model_options=options), data, seed)
    if init in ("normal", "constant"):
        torch.manual_seed(seed)
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                if init == "normal":
                    nn.init.normal_(layer.weight, 0.0, 1.0)
                else:
                    nn.init.constant_(layer.weight, c.constant)
                nn.init.zeros_(layer.bias)
    return model


class ActivationProbe(TypedDict):
    """Per activation layer, the std of its outputs; the last layer's saturated share."""

    std: list[float]
    saturated: float


def activation_stds(activation: str, init: str, seed: int, c: Config) -> ActivationProbe:
    import torch

    from profond.labs.small_train import digits

    data = digits()
    model = deep_mlp(activation, init, data, seed, c)
    acts = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: acts.append(out.detach()))
             for m in model.body if type(m).__name__.lower() == activation]  # fmt: skip
    with torch.no_grad():
        model(data.x_train[:256])
    for hook in hooks:
        hook.remove()
    return {"std": [a.std().item() for a in acts],
            "saturated": (acts[-1].abs() > 0.99).float().mean().item()}  # fmt: skip


def _train_arms(ctx: LabContext) -> dict:
    import torch

    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits()
    setting = st.Setting(optimizer="momentum", epochs=c.epochs)
    out: dict[str, Any] = {}
    for init in ("he", "xavier"):

        def factory(d, s, init=init):
            return deep_mlp("relu", init, d, s, c)

        tuned, runs = st.tuned_over_seeds(setting, data, ctx.seeds, c.lr_grid, model=factory)
        out[init] = {"lr": tuned.lr, "loss": [r.last("train_loss") for r in runs],
                     "curves": [r.history.get("train_loss", []) for r in runs]}  # fmt: skip
    sym = st.over_seeds(setting.but(lr=0.01, epochs=1), data, ctx.seeds,
                        model=lambda d, s: deep_mlp("relu", "constant", d, s, c))  # fmt: skip
    spreads = []
    for run in sym:
        first = next(m for m in run.model.modules() if hasattr(m, "weight"))
        weight = first.weight
        assert isinstance(weight, torch.Tensor)  # a layer's weight, not a submodule
        spreads.append((weight - weight[0]).abs().max().item())
    out["symmetric_spread"] = spreads
    return out


def experiment(ctx: LabContext) -> Outcome:
    c: Config = ctx.config
    probes = {f"{act}+{init}": [activation_stds(act, init, s, c) for s in ctx.seeds]
              for act in ("relu", "tanh") for init in INITS}  # fmt: skip
    ratio = {arm: [p["std"][-1] / p["std"][0] for p in ps] for arm, ps in probes.items()}
    trained = _train_arms(ctx)
    figure = _plot(probes, trained, ctx)
    lo, hi = c.keep_range
    return Outcome([
        decide(CLAIMS[0], [lo <= h <= hi and x < c.shrink_below for h, x in zip(ratio["relu+he"], ratio["relu+xavier"], strict=True)],
               {"he": ratio["relu+he"], "xavier": ratio["relu+xavier"]},
               summary=f"last/first std ratio: He+ReLU {fmt_seeds(ratio['relu+he'])}, Xavier+ReLU {fmt_seeds(ratio['relu+xavier'])}"),
        decide(CLAIMS[1], [c.tanh_range[0] <= r <= c.tanh_range[1] for r in ratio["tanh+xavier"]],
               {"xavier_tanh": ratio["tanh+xavier"]}, summary=f"Xavier+tanh ratio {fmt_seeds(ratio['tanh+xavier'])}"),
        decide(CLAIMS[2], [r > c.explode_above and p["saturated"] > c.saturated_share
                           for r, p in zip(ratio["relu+normal"], probes["tanh+normal"], strict=True)],
               {"relu_ratio": ratio["relu+normal"], "tanh_saturated": [p["saturated"] for p in probes["tanh+normal"]]},
               summary=f"N(0,1): ReLU ratio {fmt_seeds(ratio['relu+normal'])}, tanh saturated share "
               f"{[round(p['saturated'], 3) for p in probes['tanh+normal']]}"),
        decide(CLAIMS[3], [h < c.trains_below and x > c.stalls_above
                           for h, x in zip(trained["he"]["loss"], trained["xavier"]["loss"], strict=True)],
               {"he": trained["he"]["loss"], "xavier": trained["xavier"]["loss"],
                "lr": {"he": trained["he"]["lr"], "xavier": trained["xavier"]["lr"]}},
               summary=f"training loss after {c.epochs} epochs: He {[round(v, 3) for v in trained['he']['loss']]} "
               f"(lr {trained['he']['lr']:g}) vs Xavier {[round(v, 3) for v in trained['xavier']['loss']]} "
               f"(lr {trained['xavier']['lr']:g})"),
        decide(CLAIMS[4], [s < c.identical_tol for s in trained["symmetric_spread"]],
               {"spread": trained["symmetric_spread"]},
               summary=f"largest difference between units after 1 epoch: {trained['symmetric_spread']}"),
    ], [figure])  # fmt: skip


def _plot(probes, trained, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax_s, ax_t) = new_figure(ncols=2, width=5.5)
    for arm, ps in probes.items():
        curves = [p["std"] for p in ps]
        seed_lines(ax_s, list(range(1, len(curves[0]) + 1)), curves, arm, log=True)
    ax_s.set(xlabel="hidden layer", ylabel="activation std at init")
    ax_s.legend(fontsize=6)
    for init in ("he", "xavier"):
        curves = [cv for cv in trained[init]["curves"] if cv]
        if curves:
            seed_lines(ax_t, list(range(1, len(curves[0]) + 1)), curves, f"ReLU+{init}")
    ax_t.set(xlabel="epoch", ylabel="training loss")
    ax_t.legend(fontsize=7)
    for ax in (ax_s, ax_t):
        ax.grid(True, which="both", alpha=0.3)
    return finish(fig, ctx.path("init_depth.png"), "Initialization in a 30-layer MLP, every seed")


LAB = Lab(
    name="init_variance_depth",
    title="Initialization and depth: Xavier for tanh, He for ReLU, N(0, 1) and equal weights fail",
    claims=CLAIMS,
    setup="A 30-layer, width-128 MLP on standardized digits: activation std per layer at init "
    "for ReLU/tanh × N(0, 1)/Xavier/He; 3 epochs of SGD + momentum for ReLU with He vs Xavier "
    "(each lr tuned on validation); a net with every weight 0.05 trained 1 epoch.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("initialisation", "initialization", "xavier", "glorot", "he init", "symétrie"),
    answers=("Q31", "Q32", "Q62", "C42"),
)
