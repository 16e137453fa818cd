"""Lab: adversarial examples, and why a linear model is just as easily fooled.

Course: adversarial examples (a tiny, targeted perturbation flips a prediction) and its
explanation: models are too linear in high dimension, so ε per input adds up to ε·‖w‖₁ on a
logit. Measured with profond's own FGSM (:mod:`profond.robust.attacks`).
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    epochs: int = 15
    lr: float = 3e-3  # Adam, MLP
    linear_lr: float = 3e-2  # Adam, linear model (it needs a larger step to converge in the budget)
    hidden_sizes: tuple[int, ...] = (128, 128)
    eps_grid: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.2)  # pixel range is [0, 1]
    eps: float = 0.1  # the ε the rules read
    clean_at_least: float = 0.9  # the model is good on clean inputs...
    attacked_at_most: float = 0.5  # ... and below this under FGSM at ε
    margin: float = 0.05  # "more robust": at least 5 points more accuracy under attack
    shift_rel_tol: float = 1e-3  # logit gap moves by ε·‖w_y − w_j‖₁ up to this relative error


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=30)
CLAIMS = (
    Claim("small_perturbation_fools",
          "An imperceptible change of the input makes an accurate network predict wrongly.",
          "adversarial examples; Q135",
          f"digits test accuracy of a 128-128 MLP, clean and under FGSM at ε = {CONFIG.eps:g} "
          "(pixels in [0, 1]; one grey level of digits is 1/16)",
          f"per seed: clean ≥ {CONFIG.clean_at_least:g} and attacked ≤ {CONFIG.attacked_at_most:g}",
          expected="holds"),
    Claim("complex_boundaries_explain_it",
          "Networks are fooled because they learn complex, non-causal decision boundaries.", "Q136",
          f"accuracy under FGSM at ε = {CONFIG.eps:g} of the MLP and of a linear classifier, "
          "whose boundary is as simple as can be",
          f"per seed: the linear model keeps more accuracy than the MLP under attack, by more "
          f"than max({CONFIG.margin:g}, 2 × pooled seed std) (what the explanation predicts)", expected="does not hold"),
    Claim("linearity_explains_it",
          "Linearity in high dimension suffices: a linear model is fooled too, each logit gap "
          "moving by the perturbation's projection on the weight difference, up to ε·‖w_i − w_j‖₁.",
          "Q136 (the literature's explanation)",
          f"linear model's accuracy under FGSM at ε = {CONFIG.eps:g}, and the measured change of "
          "its logit gaps against δ·(w_j − w_y) (no clamping)",
          f"per seed: attacked accuracy ≤ {CONFIG.attacked_at_most:g} and the gap changes match "
          f"within {CONFIG.shift_rel_tol:g} relative error", expected="holds"),
)  # fmt: skip


def _accuracies(model, x, y, eps_grid) -> list[float]:
    import torch

    from profond.robust.attacks import fgsm

    out = []
    for eps in eps_grid:
        adv = fgsm(model, x, y, eps, bounds=(0.0, 1.0))
        with torch.no_grad():
            out.append(float((model(adv).argmax(1) == y).float().mean()))
    return out


def _gap_shift_error(model, x, y, eps: float) -> tuple[float, float]:
    """Worst relative error between the linear model's gap change and ε·‖w_y − w_j‖₁."""
    import torch

    from profond.robust.attacks import fgsm

    weight = model.head.weight.detach()  # (K, F)
    adv = fgsm(model, x, y, eps)  # no clamping: the formula is exact without it
    with torch.no_grad():
        before, after = model(x), model(adv)
    worst = 0.0
    for j in range(weight.shape[0]):
        mask = y != j
        if not mask.any():
            continue
        # a linear model's logit gap moves by exactly the perturbation's projection on w_j − w_y
        delta = (adv - x).flatten(1)[mask]
        predicted = (delta * (weight[j] - weight[y[mask]])).sum(1)
        measured = (after[mask, j] - after[mask, y[mask]]) - (
            before[mask, j] - before[mask, y[mask]]
        )
        worst = max(
            worst, float(((measured - predicted).abs() / predicted.abs().clamp(min=1e-6)).max())
        )
    bound = eps * (weight[:, None, :] - weight[None, :, :]).abs().sum(-1)  # ε·‖w_i − w_j‖₁
    return worst, float(bound.max())


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="minmax")
    x, y = data.x_test, data.y_test
    index = c.eps_grid.index(c.eps)
    curves: dict[str, list[list[float]]] = {"mlp": [], "linear": []}
    errors, bounds = [], []
    for seed in ctx.seeds:
        for arm, hidden, lr in (("mlp", c.hidden_sizes, c.lr), ("linear", (), c.linear_lr)):
            setting = st.Setting(optimizer="adam", lr=lr, epochs=c.epochs,
                                 model_options={"hidden_sizes": hidden, "dropout": 0.0})  # fmt: skip
            model = st.train(setting, data, seed).model
            curves[arm].append(_accuracies(model, x, y, c.eps_grid))
            if arm == "mlp" and seed == ctx.seeds[0]:
                examples = _examples(model, data, c.eps, ctx)
        error, bound = _gap_shift_error(model, x, y, c.eps)
        errors.append(error)
        bounds.append(bound)
    mlp, lin = curves["mlp"], curves["linear"]
    robust = compare([cv[index] for cv in lin], [cv[index] for cv in mlp], margin=c.margin)
    figure = _plot(curves, c, ctx)
    return Outcome([
        decide(CLAIMS[0], [cv[0] >= c.clean_at_least and cv[index] <= c.attacked_at_most for cv in mlp],
               {"eps": c.eps_grid, "accuracy_by_seed": mlp},
               summary=f"MLP test accuracy clean {fmt_seeds([cv[0] for cv in mlp])} → under FGSM "
               f"ε={c.eps:g} {fmt_seeds([cv[index] for cv in mlp])}"),
        decide(CLAIMS[1], robust.greater(),
               {"eps": c.eps, **robust.to_json(), "clean_mlp": [cv[0] for cv in mlp],
                "clean_linear": [cv[0] for cv in lin]},
               summary=f"under FGSM ε={c.eps:g}: linear {fmt_seeds([cv[index] for cv in lin])} "
               f"(clean {fmt_seeds([cv[0] for cv in lin])}) vs MLP {fmt_seeds([cv[index] for cv in mlp])} "
               f"(clean {fmt_seeds([cv[0] for cv in mlp])})"),
        decide(CLAIMS[2], [cv[index] <= c.attacked_at_most and e <= c.shift_rel_tol
                           for cv, e in zip(lin, errors, strict=True)],
               {"eps": c.eps_grid, "accuracy_by_seed": lin, "gap_relative_error": errors,
                "largest_eps_l1_gap": bounds},
               summary=f"linear model under FGSM ε={c.eps:g}: {fmt_seeds([cv[index] for cv in lin])}; "
               f"logit-gap change vs δ·(w_j − w_y): worst relative error {fmt_seeds(errors)} "
               f"(largest ε·‖w_i − w_j‖₁ {fmt_seeds(bounds)})"),
    ], [figure, examples])  # fmt: skip


def _examples(model, data, eps: float, ctx: LabContext):
    """Clean and adversarial test images side by side (profond.robust's figure)."""
    from profond.robust.report import examples_figure

    return examples_figure(model, data.x_test, data.y_test, "fgsm", eps, list(data.classes),
                           ctx.path("adversarial_examples.png"), {"bounds": (0.0, 1.0)})  # fmt: skip


def _plot(curves, c: Config, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, (ax,) = new_figure()
    for arm, ys in curves.items():
        seed_lines(ax, list(c.eps_grid), ys, arm)
    ax.set_xlabel("FGSM ε (pixel range [0, 1])")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    return finish(
        fig, ctx.path("adversarial_fgsm.png"), "FGSM on digits: MLP vs linear, every seed"
    )


LAB = Lab(
    name="adversarial_fgsm",
    title="Adversarial examples: small ε fools a network, and a linear model just as well",
    claims=CLAIMS,
    setup="A 128-128 ReLU MLP and a linear classifier (no hidden layer) trained with Adam on "
    "digits scaled to [0, 1] (profond's Trainer); profond.robust's FGSM at several ε on the "
    "test split, clamped to [0, 1]; for the linear model, the change of each logit gap "
    "compared with the projection of the perturbation on the weight difference (no clamping).",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("adversarial", "adversarial example", "FGSM", "robustness", "robustesse"),
    answers=("Q135", "Q136"),
)
