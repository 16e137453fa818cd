"""Lab: imbalanced classes — what accuracy hides, what re-weighting changes, and calibration.

Course: on imbalanced data accuracy is misleading (look at per-class recall, precision-recall),
class weights help the rare classes, and a classifier's softmax outputs are scores, not
calibrated probabilities. Measured with profond's :mod:`profond.data.imbalance`, the trainer's
``class_weights="balanced"`` and :mod:`profond.train.calibration` (ECE, average precision).
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import compare, decide, fmt_seeds
from profond.labs.small_train import Setting

RARE = [5, 6, 7, 8, 9]  # the "step" profile shrinks the second half of the classes


@dataclass(frozen=True)
class WeightedSetting(Setting):
    """A small-train setting with the trainer's class weighting."""

    class_weights: str | None = None


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (128, 128)
    epochs: int = 20
    lr: float = 1e-3  # Adam
    imbalance_ratio: float = 20.0  # "step": classes 5–9 keep 1/20 of their training images
    gap: float = 0.1  # accuracy at the training prior exceeds the rare classes' recall by this
    recall_margin: float = 0.02  # re-weighting raises rare recall beyond max(this, 2 std)
    ap_tolerance: float = 0.02  # ... while the mean average precision moves less than this
    calib_epochs: int = 40  # a balanced model trained to a low training loss
    min_ece: float = 0.02  # raw softmax: ECE at least this
    ece_ratio: float = 0.5  # temperature scaling at least halves it
    temperatures: tuple[float, ...] = tuple(round(0.25 * 1.1**i, 4) for i in range(40))


CONFIG = Config()
FAITHFUL = Config(seeds=6, epochs=40, calib_epochs=80)
CLAIMS = (
    Claim("accuracy_misleading",
          "On imbalanced data accuracy is misleading: it can be high while the rare classes "
          "are mostly missed.", "imbalance; Q49; Q67",
          f"accuracy at the training prior (Σ prior × recall; step imbalance 1:{CONFIG.imbalance_ratio:g}) "
          "and mean recall of the rare classes, on the digits test split",
          f"per seed: accuracy − rare recall ≥ {CONFIG.gap:g}", expected="holds"),
    Claim("reweighting_moves_threshold",
          "Class re-weighting mainly moves the decision threshold: rare-class recall rises while "
          "the ranking (average precision) barely changes.", "Q68; Q148",
          "mean rare-class recall and mean one-vs-rest average precision, plain vs "
          "class_weights='balanced'",
          f"per seed: recall gain > max({CONFIG.recall_margin:g}, 2 × pooled seed std) and "
          f"|AP change| ≤ {CONFIG.ap_tolerance:g}", expected="subtle"),
    Claim("softmax_not_calibrated",
          "Softmax outputs are not calibrated probabilities until rescaled (temperature scaling).",
          "Q111", "expected calibration error (15 bins) on the test split of a balanced-data MLP, "
          "raw and after one temperature fitted on the validation split (NLL)",
          f"per seed: raw ECE ≥ {CONFIG.min_ece:g} and scaled ECE ≤ {CONFIG.ece_ratio:g} × raw",
          expected="subtle"),
)  # fmt: skip


def _probs(model, x, temperature: float = 1.0):
    import torch

    with torch.no_grad():
        return torch.softmax(model(x) / temperature, dim=1).numpy()


def _recalls(probs, y, k: int) -> list[float]:
    pred = probs.argmax(1)
    return [float((pred[y == c] == c).mean()) for c in range(k)]


def _imbalance_arm(c: Config, data, seed: int, weights: str | None) -> dict:
    import numpy as np

    from profond.data.imbalance import class_counts, make_imbalanced
    from profond.labs import small_train as st
    from profond.train.calibration import precision_recall_data

    skewed = make_imbalanced(data, c.imbalance_ratio, "step", seed=seed)
    setting = WeightedSetting(optimizer="adam", lr=c.lr, epochs=c.epochs, class_weights=weights,
                              model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    model = st.train(setting, skewed, seed).model
    probs, y = _probs(model, data.x_test), data.y_test.numpy()
    recalls = _recalls(probs, y, data.num_classes)
    counts = class_counts(skewed.y_train, data.num_classes).double()
    prior = (counts / counts.sum()).numpy()
    ap = [v["average_precision"] for v in precision_recall_data(probs, y).values()]
    return {"recalls": recalls, "prior_accuracy": float(np.dot(prior, recalls)),
            "rare_recall": float(np.mean([recalls[k] for k in RARE])), "mean_ap": float(np.mean(ap))}  # fmt: skip


def _calibration(c: Config, data, seed: int) -> dict:
    import numpy as np

    from profond.labs import small_train as st
    from profond.train.calibration import expected_calibration_error

    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.calib_epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    model = st.train(setting, data, seed).model
    y_val = data.y_val.numpy()

    def nll(t: float) -> float:
        p = _probs(model, data.x_val, t)[np.arange(len(y_val)), y_val]
        return float(-np.log(np.clip(p, 1e-12, None)).mean())

    best = min(c.temperatures, key=nll)
    y = data.y_test.numpy()
    return {"temperature": best,
            "ece_raw": expected_calibration_error(_probs(model, data.x_test), y),
            "ece_scaled": expected_calibration_error(_probs(model, data.x_test, best), y)}  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="standard")
    plain = [_imbalance_arm(c, data, s, None) for s in ctx.seeds]
    weighted = [_imbalance_arm(c, data, s, "balanced") for s in ctx.seeds]
    calib = [_calibration(c, data, s) for s in ctx.seeds]
    recall = compare([w["rare_recall"] for w in weighted], [p["rare_recall"] for p in plain],
                     margin=c.recall_margin)  # fmt: skip
    ap_change = [w["mean_ap"] - p["mean_ap"] for w, p in zip(weighted, plain, strict=True)]
    figure = _plot(plain, weighted, calib, ctx)
    return Outcome([
        decide(CLAIMS[0], [p["prior_accuracy"] - p["rare_recall"] >= c.gap for p in plain],
               {"plain": plain},
               summary=f"accuracy at the training prior {fmt_seeds([p['prior_accuracy'] for p in plain])}"
               f" vs rare-class recall {fmt_seeds([p['rare_recall'] for p in plain])}"),
        decide(CLAIMS[1], [g and abs(a) <= c.ap_tolerance for g, a in zip(recall.greater(), ap_change, strict=True)],
               {"rare_recall": recall.to_json(), "ap_change": ap_change,
                "mean_ap_plain": [p["mean_ap"] for p in plain], "mean_ap_weighted": [w["mean_ap"] for w in weighted]},
               summary=f"rare recall weighted {fmt_seeds(recall.a)} vs plain {fmt_seeds(recall.b)} "
               f"(counts beyond {recall.threshold:.3f}); mean AP change {fmt_seeds(ap_change)}"),
        decide(CLAIMS[2], [r["ece_raw"] >= c.min_ece and r["ece_scaled"] <= c.ece_ratio * r["ece_raw"] for r in calib],
               {"runs": calib},
               summary=f"test ECE raw {fmt_seeds([r['ece_raw'] for r in calib])} → temperature-scaled "
               f"{fmt_seeds([r['ece_scaled'] for r in calib])} (T = {fmt_seeds([r['temperature'] for r in calib])})"),
    ], [figure])  # fmt: skip


def _plot(plain, weighted, calib, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_r, ax_c) = new_figure(ncols=2)
    seed_lines(ax_r, list(range(10)), [p["recalls"] for p in plain], "plain")
    seed_lines(ax_r, list(range(10)), [w["recalls"] for w in weighted], "class-weighted")
    ax_r.set_xlabel("class (5–9 rare)")
    ax_r.set_ylabel("test recall")
    ax_r.legend(fontsize=7)
    ax_r.grid(alpha=0.3)
    seed_dots(ax_c, {"raw": [r["ece_raw"] for r in calib],
                     "temperature-scaled": [r["ece_scaled"] for r in calib]}, "test ECE")  # fmt: skip
    return finish(fig, ctx.path("imbalance_metrics_calibration.png"), "Imbalance and calibration")


LAB = Lab(
    name="imbalance_metrics_calibration",
    title="Imbalance: accuracy hides the rare classes; weights move the threshold; calibration",
    claims=CLAIMS,
    setup="Digits with classes 5–9 cut to 1/20 of their training images (profond.data.imbalance, "
    "step profile); a 128-128 ReLU MLP trained with Adam, plain or with "
    "class_weights='balanced' (profond's Trainer); recalls and one-vs-rest average precision "
    "on the untouched test split; accuracy at the training prior is Σ prior × recall. "
    "Calibration: a balanced-data MLP trained 40 epochs, ECE (profond.train.calibration) raw "
    "and after a temperature picked on validation by NLL.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("imbalance", "déséquilibre", "calibration", "precision", "recall", "class weights"),
    answers=("Q49", "Q67", "Q68", "Q111", "Q148"),
)
