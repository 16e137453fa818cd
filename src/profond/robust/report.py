"""``profond attack``'s work: accuracy of a run's classifier against ε, with figures.

:func:`attack_run` attacks the run's test split with each method and each ε, writes the
accuracy-versus-ε curve and a grid of example images (clean, adversarial, perturbation) into a
folder, and logs the figures and the figures' numbers to the run under ``robustness/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from profond.errors import ProfondError
from profond.robust.attacks import accuracy_under_attack, attack, check_eps, check_method

CURVE = "accuracy_vs_eps.png"
EXAMPLES = "adversarial_examples.png"


def attack_run(
    ref: str,
    methods: list[str],
    eps_values: list[float],
    outdir: Path,
    steps: int = 10,
    alpha: float | None = None,
    limit: int | None = 1000,
    seed: int = 0,
    uri: str | None = None,
    log_to_run: bool = True,
) -> dict[str, Any]:
    """Attack run ``ref``'s model on its test split.

    Args:
        ref: a run reference.
        methods: ``"fgsm"`` and/or ``"pgd"``.
        eps_values: the radii (in the model's input units).
        outdir: folder of the two PNG figures; must not hold them already.
        steps, alpha: PGD's settings.
        limit: attack only the first ``limit`` test samples (None: all).
        seed: PGD's random starts.
        uri: the tracking URI.
        log_to_run: also log the figures and ``robustness/attack.json`` to the run.

    Returns:
        ``{"run_id", "samples", "accuracy": {method: {eps: acc}}, "figures": [paths]}``.
    """
    check_attack_options(methods, eps_values, steps, alpha, limit)
    existing = [outdir / name for name in (CURVE, EXAMPLES) if (outdir / name).exists()]
    if existing:
        raise ProfondError(f"{existing[0]} exists; choose another --out (nothing is overwritten)")
    from profond.compress.source import load_source
    from profond.robust.attacks import input_bounds

    source = load_source(ref, uri)
    model, bundle = source.loaded.model, source.bundle
    x, y = bundle.x_test[:limit], bundle.y_test[:limit]
    if not x.is_floating_point():
        raise ProfondError(
            f"run {source.run_id} takes token ids: gradient attacks need continuous inputs "
            "(images, arrays)"
        )
    bounds = input_bounds(bundle.x_train)
    options: dict[str, Any] = {"bounds": bounds, "steps": steps, "alpha": alpha}
    accuracy = {
        m: accuracy_under_attack(model, x, y, m, eps_values, seed=seed, **options) for m in methods
    }
    outdir.mkdir(parents=True, exist_ok=True)
    figures = [accuracy_curve(accuracy, outdir / CURVE)]
    if x.dim() == 4:  # images: show some
        eps = max(eps_values)
        examples = examples_figure(
            model, x, y, methods[-1], eps, bundle.classes, outdir / EXAMPLES, options
        )
        figures.append(examples)
    result = {"run_id": source.run_id, "samples": len(x), "bounds": list(bounds),
              "accuracy": accuracy, "figures": [str(p) for p in figures]}  # fmt: skip
    if log_to_run:
        _log(source.run_id, result, figures, uri)
    return result


def check_attack_options(
    methods: list[str], eps_values: list[float], steps: int, alpha: float | None, limit: int | None
) -> None:
    """One-line :class:`ProfondError` on any bad option, before anything is loaded."""
    if not methods:
        raise ProfondError("give at least one --method (fgsm, pgd)")
    for method in methods:
        check_method(method)
    if not eps_values:
        raise ProfondError("give at least one --eps value")
    for eps in eps_values:
        check_eps(eps)
    if steps < 1:
        raise ProfondError(f"--steps must be at least 1, got {steps}")
    if alpha is not None and not alpha > 0:
        raise ProfondError(f"--alpha must be positive, got {alpha}")
    if limit is not None and limit < 1:
        raise ProfondError(f"--limit must be a positive number of samples, got {limit}")


def accuracy_curve(accuracy: dict[str, dict[float, float]], path: Path) -> Path:
    """Accuracy (y) against ε (x), one line per attack."""
    import matplotlib.pyplot as plt

    from profond.train.plots import save_figure

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, curve in accuracy.items():
        eps = sorted(curve)
        ax.plot(eps, [curve[e] for e in eps], marker="o", label=method.upper())
    ax.set_xlabel("ε (L∞, input units)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("accuracy under attack")
    return save_figure(fig, path)


def examples_figure(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    method: str,
    eps: float,
    classes: list[str],
    path: Path,
    options: dict[str, Any],
    count: int = 6,
) -> Path:
    """Rows: clean image, adversarial image, perturbation; with the predicted classes.

    Shapes: ``x`` ``(N, C, H, W)``, ``y`` ``(N,)``; the first ``count`` samples are shown.
    """
    import matplotlib.pyplot as plt

    from profond.train.plots import save_figure

    x, y = x[:count], y[:count]
    if method == "pgd":
        options = {**options, "generator": torch.Generator().manual_seed(0)}
    adv = attack(method, model, x, y, eps, **options)
    with torch.no_grad():
        clean_pred, adv_pred = model(x).argmax(1), model(adv).argmax(1)
    fig, axes = plt.subplots(3, len(x), figsize=(1.8 * len(x), 5.6), squeeze=False)
    for j in range(len(x)):
        rows = ((x[j], f"{_label(classes, y[j])}: {_label(classes, clean_pred[j])}"),
                (adv[j], f"→ {_label(classes, adv_pred[j])}"),
                (adv[j] - x[j], f"ε={eps:g}"))  # fmt: skip
        for i, (image, title) in enumerate(rows):
            axes[i][j].imshow(_displayable(image), cmap="gray" if image.shape[0] == 1 else None)
            axes[i][j].set_title(title, fontsize=8)
            axes[i][j].axis("off")
    fig.suptitle(
        f"{method.upper()}: clean (true: predicted), adversarial (→ predicted), perturbation"
    )
    return save_figure(fig, path)


def _label(classes: list[str], index: torch.Tensor) -> str:
    i = int(index)
    return classes[i] if i < len(classes) else str(i)


def _displayable(image: torch.Tensor) -> Any:
    """``(C, H, W)`` → ``(H, W)`` or ``(H, W, C)`` scaled to [0, 1] for ``imshow``."""
    if image.dim() != 3:
        raise ProfondError("example images need (C, H, W) inputs")
    image = image.detach().float()
    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else image * 0
    return image[0].numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy()


def _log(run_id: str, result: dict[str, Any], figures: list[Path], uri: str | None) -> None:
    import tempfile

    from profond.track.store import client

    mlflow_client = client(uri)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "attack.json"
        report.write_text(json.dumps(result, indent=2))
        mlflow_client.log_artifact(run_id, str(report), "robustness")
    for figure in figures:
        mlflow_client.log_artifact(run_id, str(figure), "robustness")
