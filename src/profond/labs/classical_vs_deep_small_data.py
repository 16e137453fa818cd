"""Lab: classical models against an MLP on small and on tabular data.

Course Q55/Q56/Q125 (with little data, classical machine learning is often enough), Q82 (deep
learning is data-hungry), Q27 (tabular data → MLP). Learning curves on digits (training subsets
of growing size) and cross-validated accuracy on two tabular sets shipped with scikit-learn
(breast cancer, wine) compare scikit-learn's logistic regression, RBF SVM, k-NN and histogram
gradient boosting with profond's MLP trained by profond's Trainer.
"""

from __future__ import annotations

from dataclasses import dataclass

from profond.labs import sweeps
from profond.labs.base import Claim, Lab, LabContext, Outcome
from profond.labs.protocol import decide, fmt_seeds

CLASSICAL = ("logistic", "svm_rbf", "knn", "boosting")


@dataclass(frozen=True)
class Config:
    seeds: int = 2
    sizes: tuple[int, ...] = (50, 100, 300, 1150)
    small_n: int = 100  # "little data"
    hidden_sizes: tuple[int, ...] = (64, 64)
    steps: int = 300  # the MLP's budget in updates, whatever n (epochs = steps × batch / n)
    lr: float = 3e-3
    batch_size: int = 32
    folds: int = 3
    boosting_iter: int = 30


CONFIG = Config()
FAITHFUL = Config(
    seeds=5, sizes=(50, 100, 200, 400, 800, 1150), folds=5, steps=1000, boosting_iter=200
)
CLAIMS = (
    Claim("classical_wins_small_data",
          "With little data, classical machine learning does as well as (or better than) a "
          "neural network.", "Q56; Q55; Q125",
          f"digits test accuracy with {CONFIG.small_n} training examples: best of logistic "
          "regression, RBF SVM, k-NN, gradient boosting vs an MLP",
          "per seed: the best classical model ≥ the MLP", expected="holds"),
    Claim("deep_learning_data_hungry",
          "Deep learning is data-hungry: the MLP catches up with classical models as data grows.",
          "Q82; Q55", f"the best classical model's accuracy minus the MLP's at n = "
          f"{CONFIG.small_n} and at n = {CONFIG.sizes[-1]}",
          "per seed: the gap is smaller at the largest n", expected="subtle"),
    Claim("tabular_means_mlp",
          "For tabular data, the MLP is the model to use.", "Q27",
          f"{CONFIG.folds}-fold cross-validated accuracy on breast cancer and wine: MLP vs "
          "gradient boosting and logistic regression",
          "per seed: the MLP beats both classical models on both data sets", expected="does not hold"),
)  # fmt: skip


def _classical(name: str, seed: int, c: Config):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    return {
        "logistic": lambda: LogisticRegression(max_iter=2000),
        "svm_rbf": lambda: SVC(),
        "knn": lambda: KNeighborsClassifier(n_neighbors=3),
        "boosting": lambda: HistGradientBoostingClassifier(max_iter=c.boosting_iter, random_state=seed),
    }[name]()  # fmt: skip


def _mlp(c: Config, x_tr, y_tr, x_te, y_te, seed: int) -> float:
    from profond.labs import small_train as st
    from profond.labs.toy import classification_bundle

    data = classification_bundle("tabular", (x_tr, y_tr), (x_te, y_te))
    epochs = max(1, round(c.steps * c.batch_size / len(x_tr)))
    setting = st.Setting(optimizer="adam", lr=c.lr, epochs=epochs, batch_size=c.batch_size,
                         model_options={"hidden_sizes": c.hidden_sizes, "dropout": 0.0})  # fmt: skip
    return st.train(setting, data, seed, task=sweeps.lean_task).test["test_accuracy"]


def _scores(c: Config, x_tr, y_tr, x_te, y_te, seed: int, names) -> dict[str, float]:
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_tr)
    x_tr, x_te = (scaler.transform(a).astype(np.float32) for a in (x_tr, x_te))
    out = {n: float(_classical(n, seed, c).fit(x_tr, y_tr).score(x_te, y_te)) for n in names}
    out["mlp"] = _mlp(c, x_tr, y_tr.astype(np.int64), x_te, y_te.astype(np.int64), seed)
    return out


def _curve(c: Config, data, seed: int) -> dict[int, dict[str, float]]:
    x_te, y_te = data.x_test.flatten(1).numpy(), data.y_test.numpy()
    out = {}
    for n in c.sizes:
        small = sweeps.subset(data, n, seed)
        x, y = small.x_train.flatten(1).numpy(), small.y_train.numpy()
        out[n] = _scores(c, x, y, x_te, y_te, seed, CLASSICAL)
    return out


def _tabular(c: Config, seed: int) -> dict[str, dict[str, float]]:
    import numpy as np
    from sklearn.datasets import load_breast_cancer, load_wine
    from sklearn.model_selection import StratifiedKFold

    out = {}
    for name, loader in (("breast_cancer", load_breast_cancer), ("wine", load_wine)):
        x, y = loader(return_X_y=True)
        folds = StratifiedKFold(c.folds, shuffle=True, random_state=seed).split(x, y)
        per_fold = [_scores(c, x[tr], y[tr], x[te], y[te], seed, ("logistic", "boosting")) for tr, te in folds]  # fmt: skip
        out[name] = {k: float(np.mean([f[k] for f in per_fold])) for k in per_fold[0]}
    return out


def experiment(ctx: LabContext) -> Outcome:
    from profond.labs import small_train as st

    c: Config = ctx.config
    data = st.digits(normalization="none")  # each model family gets its own scaling (train fit)
    curves = [_curve(c, data, s) for s in ctx.seeds]
    tables = [_tabular(c, s) for s in ctx.seeds]

    def gap(curve, n):
        return max(curve[n][k] for k in CLASSICAL) - curve[n]["mlp"]

    small, large = c.small_n, c.sizes[-1]
    gaps = [(gap(cv, small), gap(cv, large)) for cv in curves]
    mlp_wins = [
        all(t[d]["mlp"] > max(t[d]["logistic"], t[d]["boosting"]) for d in t) for t in tables
    ]
    figure = _plot(c, curves, tables, ctx)
    return Outcome([
        decide(CLAIMS[0], [g[0] >= 0 for g in gaps], {"curves": curves},
               summary=f"n = {small}: best classical minus MLP {fmt_seeds([g[0] for g in gaps])} "
               f"(MLP {fmt_seeds([cv[small]['mlp'] for cv in curves])}, SVM {fmt_seeds([cv[small]['svm_rbf'] for cv in curves])})"),
        decide(CLAIMS[1], [g[1] < g[0] for g in gaps], {"gap_small": [g[0] for g in gaps], "gap_large": [g[1] for g in gaps]},
               summary=f"best classical minus MLP at n = {small}: {fmt_seeds([g[0] for g in gaps])}; at n = {large}: "
               f"{fmt_seeds([g[1] for g in gaps])}"),
        decide(CLAIMS[2], mlp_wins, {"tabular": tables},
               summary="CV accuracy MLP / boosting / logistic: " + "; ".join(
                   f"{d} {t[d]['mlp']:.3f} / {t[d]['boosting']:.3f} / {t[d]['logistic']:.3f}" for t in tables[:1] for d in t)
               + " (first seed)"),
    ], [figure])  # fmt: skip


def _plot(c: Config, curves, tables, ctx: LabContext):
    from profond.labs.figures import finish, new_figure, seed_dots, seed_lines

    fig, (ax_c, ax_t) = new_figure(ncols=2, width=5.5)
    for name in (*CLASSICAL, "mlp"):
        seed_lines(ax_c, list(c.sizes), [[cv[n][name] for n in c.sizes] for cv in curves], name)
    ax_c.set_xscale("log")
    ax_c.set(xlabel="training examples (digits)", ylabel="test accuracy")
    ax_c.grid(True, alpha=0.3)
    ax_c.legend(fontsize=7)
    groups = {f"{d[:6]} {m}": [t[d][m] for t in tables] for d in tables[0] for m in ("mlp", "boosting", "logistic")}  # fmt: skip
    seed_dots(ax_t, groups, f"{c.folds}-fold CV accuracy")
    ax_t.set_ylim(0.85, 1.0)
    return finish(fig, ctx.path("classical_vs_deep.png"), "Classical models vs an MLP, every seed")


LAB = Lab(
    name="classical_vs_deep_small_data",
    title="Classical models vs an MLP on small digits subsets and on tabular data",
    claims=CLAIMS,
    setup="Digits training subsets of 50…1 150 examples drawn per seed (features standardized on "
    "each subset), scikit-learn's logistic regression, RBF SVM, 3-NN and histogram gradient "
    "boosting against a 64-64 MLP (profond's family, Adam lr 3e-3, about 300 updates whatever the size, profond's "
    "Trainer); breast cancer and wine with 3-fold stratified cross-validation (shuffled per seed).",
    config=CONFIG,
    faithful=FAITHFUL,
    experiment=experiment,
    keywords=(
        "machine learning classique",
        "classical",
        "svm",
        "boosting",
        "tabulaire",
        "tabular",
        "petits datasets",
        "small data",
    ),  # fmt: skip
    answers=("Q27", "Q55", "Q56", "Q82", "Q125", "Q126"),
)
