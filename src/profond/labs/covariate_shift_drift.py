"""Lab: input shift degrades accuracy; does profond's drift monitor see it coming?

Course: the data's distribution changes over time and the model slowly gets worse (data drift);
monitoring the inputs is the remedy. Measured with profond's own drift monitor (PSI and KS on
input and embedding features), against controlled shifts of the digits test images.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds, spearman

# Pixels in [0, 1]. Each shift: name → severities (0 is the unshifted data).
SHIFTS: dict[str, tuple[float, ...]] = {
    "noise": (0.05, 0.15, 0.3),  # Gaussian noise, std
    "brightness": (0.05, 0.15, 0.3),  # added to every pixel
    "contrast": (0.2, 0.4, 0.6),  # x ← (1 − s)·x + s·mean
    "translation": (1.0, 2.0, 3.0),  # pixels, to the right
}


def drift_module():
    """profond's drift monitor: the one place this lab imports it from."""
    from profond.monitor import drift

    return drift


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    hidden_sizes: tuple[int, ...] = (128, 128)
    epochs: int = 15
    lr: float = 1e-3  # Adam
    window: int = 150  # inputs per monitored window
    windows: int = 10  # windows drawn per shift level
    max_spearman: float = -0.9  # accuracy falls monotonically with severity
    drop: float = 0.05  # a "harmful" level costs at least 5 points of accuracy
    detection_at_least: float = 0.8  # a harmful level is "detected" in this share of windows
    adequate_shift_types: int = 3  # of the 4 shift types, this many must be detected in time
    max_false_alarms: float = 0.1  # alarm rate on unshifted windows


CONFIG = Config()
FAITHFUL = Config(seeds=6, windows=40, epochs=30)
CLAIMS = (
    Claim("shift_degrades_accuracy",
          "When the input distribution shifts, the model's accuracy degrades, the more so the "
          "larger the shift.", "data drift; Q78; Q79",
          "test accuracy of a digits MLP against the severity of four input shifts (noise, "
          "brightness, contrast, translation)",
          f"per seed: Spearman(severity, accuracy) < {CONFIG.max_spearman:g} for every shift type",
          expected="holds"),
    Claim("monitor_flags_harmful_shifts",
          "Monitoring the input distribution detects the shifts that degrade the model.",
          "data drift; Q78; Q142",
          f"share of {CONFIG.window}-input windows on which profond's drift monitor raises its "
          f"alarm, at each level that costs ≥ {CONFIG.drop:g} accuracy",
          f"per seed: for ≥ {CONFIG.adequate_shift_types} of 4 shift types every harmful level is "
          f"flagged in ≥ {CONFIG.detection_at_least:g} of the windows", expected="subtle"),
    Claim("monitor_quiet_without_shift",
          "The drift monitor stays quiet on unshifted data.", "data drift",
          f"alarm rate on {CONFIG.window}-input windows of unshifted test and validation images",
          f"per seed: ≤ {CONFIG.max_false_alarms:g}", expected="holds"),
)  # fmt: skip


def shifted(x, kind: str, severity: float, seed: int):
    """``x`` ``(N, 1, 8, 8)`` in [0, 1] under one controlled shift (clamped to [0, 1])."""
    import torch

    if severity == 0:
        return x
    if kind == "noise":
        g = torch.Generator().manual_seed(seed)
        return (x + severity * torch.randn(x.shape, generator=g)).clamp(0, 1)
    if kind == "brightness":
        return (x + severity).clamp(0, 1)
    if kind == "contrast":
        return (1 - severity) * x + severity * x.mean(dim=(1, 2, 3), keepdim=True)
    if kind == "translation":
        return torch.roll(x, shifts=int(severity), dims=-1)
    raise ValueError(f"unknown shift {kind!r}")


def _alarm_rate(monitor, model, x, c: Config, seed: int) -> float:
    import torch

    g = torch.Generator().manual_seed(seed)
    alarms = 0
    for _ in range(c.windows):
        idx = torch.randperm(len(x), generator=g)[: c.window]
        with torch.no_grad():
            emb = model.features(x[idx])
        monitor.reset()
        monitor.update(x[idx].numpy(), emb.numpy())
        alarms += bool(monitor.report()["alarm"])
    return alarms / c.windows


def _one_seed(c: Config, data, seed: int) -> dict:
    import torch

    from profond.labs import small_train as st

    drift = drift_module()
    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=c.epochs,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    model = st.train(setting, data, seed).model
    monitor = drift.DriftMonitor(drift.build_reference(model, data.x_train, seed=seed),
                                 window=c.window, min_samples=c.window)  # fmt: skip
    x, y = torch.cat([data.x_val, data.x_test]), torch.cat([data.y_val, data.y_test])
    out: dict = {"none": {"alarm": _alarm_rate(monitor, model, x, c, seed)}}
    with torch.no_grad():
        out["none"]["accuracy"] = float((model(x).argmax(1) == y).float().mean())
    for kind, levels in SHIFTS.items():
        rows = []
        for i, level in enumerate(levels):
            xs = shifted(x, kind, level, seed * 100 + i)
            with torch.no_grad():
                acc = float((model(xs).argmax(1) == y).float().mean())
            rows.append({"severity": level, "accuracy": acc,
                         "alarm": _alarm_rate(monitor, model, xs, c, seed + i + 1)})  # fmt: skip
        out[kind] = rows
    return out


def _judge(run: dict, c: Config) -> dict:
    base = run["none"]["accuracy"]
    rho, adequate, silent_harm, noisy_harmless = {}, [], [], []
    for kind, levels in SHIFTS.items():
        rows = run[kind]
        rho[kind] = spearman([0.0, *levels], [base, *[r["accuracy"] for r in rows]])
        harmful = [r for r in rows if base - r["accuracy"] >= c.drop]
        if all(r["alarm"] >= c.detection_at_least for r in harmful):
            adequate.append(kind)
        silent_harm += [
            f"{kind} {r['severity']:g}" for r in harmful if r["alarm"] < c.detection_at_least
        ]
        noisy_harmless += [f"{kind} {r['severity']:g}" for r in rows
                           if base - r["accuracy"] < c.drop and r["alarm"] >= c.detection_at_least]  # fmt: skip
    return {"spearman": rho, "adequate": adequate, "missed": silent_harm,
            "alarm_without_drop": noisy_harmless}  # fmt: skip


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="minmax")
    runs = [_one_seed(c, data, s) for s in ctx.seeds]
    judged = [_judge(r, c) for r in runs]
    false_alarms = [r["none"]["alarm"] for r in runs]
    figure = _plot(runs, ctx)
    return Outcome([
        decide(CLAIMS[0], [all(v < c.max_spearman for v in j["spearman"].values()) for j in judged],
               {"spearman": [j["spearman"] for j in judged], "runs": runs},
               summary="Spearman(severity, accuracy) per shift: " + "; ".join(
                   ", ".join(f"{k} {v:+.2f}" for k, v in j["spearman"].items()) for j in judged)),
        decide(CLAIMS[1], [len(j["adequate"]) >= c.adequate_shift_types for j in judged],
               {"judged": judged},
               summary="shift types flagged in time: " + "; ".join(
                   f"{', '.join(j['adequate']) or 'none'} (missed: {', '.join(j['missed']) or 'none'}; "
                   f"alarm without a {c.drop:g} drop: {', '.join(j['alarm_without_drop']) or 'none'})"
                   for j in judged)),
        decide(CLAIMS[2], [f <= c.max_false_alarms for f in false_alarms], {"false_alarm_rate": false_alarms},
               summary=f"alarm rate on unshifted windows: {fmt_seeds(false_alarms)}"),
    ], [figure])  # fmt: skip


def _plot(runs, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_lines

    fig, axes = new_figure(ncols=4, width=3.6)
    for ax, (kind, levels) in zip(axes, SHIFTS.items(), strict=True):
        xs = [0.0, *levels]
        seed_lines(ax, xs, [[r["none"]["accuracy"], *[v["accuracy"] for v in r[kind]]] for r in runs],
                   "accuracy", color="tab:blue")  # fmt: skip
        seed_lines(ax, xs, [[r["none"]["alarm"], *[v["alarm"] for v in r[kind]]] for r in runs],
                   "alarm rate", color="tab:red")  # fmt: skip
        ax.set_title(kind)
        ax.set_xlabel("severity")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    return finish(
        fig, ctx.path("covariate_shift_drift.png"), "Input shifts: accuracy and drift alarms"
    )


LAB = Lab(
    name="covariate_shift_drift",
    title="Input shift: accuracy degrades; the drift monitor flags some shifts and misses others",
    claims=CLAIMS,
    setup="A 128-128 ReLU MLP trained with Adam on digits scaled to [0, 1] (profond's Trainer); "
    "profond's drift reference built from its training images and embeddings; the test and "
    "validation images under four controlled shifts at three severities; per level, the "
    "accuracy and the share of randomly drawn 150-input windows on which the drift monitor "
    "(PSI > 0.2 and KS on ≥ 2 features) raises its alarm.",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=("drift", "dérive", "covariate shift", "monitoring", "distribution shift"),
    answers=("Q78", "Q79", "Q115", "Q142"),
)
