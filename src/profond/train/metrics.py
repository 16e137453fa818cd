"""Classification and regression metrics, computed with scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, with_details: bool = False
) -> dict:
    """Accuracy, macro precision/recall/F1, one-vs-rest ROC-AUC.

    Args:
        y_true: ``(N,)`` class ids.
        probs: ``(N, K)`` class probabilities.
        with_details: also return per-class precision/recall/F1 and the confusion matrix
            (lists, not logged as scalar metrics).
    """
    num_classes = probs.shape[1]
    y_pred = probs.argmax(axis=1)
    labels = np.arange(num_classes)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0
    )
    out: dict = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision_macro": float(precision),
        "recall_macro": float(recall),
        "f1_macro": float(f1),
    }
    present = np.unique(y_true)
    if len(present) == num_classes and num_classes > 1:
        scores = probs if num_classes > 2 else probs[:, 1]
        out["roc_auc_ovr"] = float(
            skm.roc_auc_score(y_true, scores, multi_class="ovr", labels=labels)
        )
    if with_details:
        p, r, f, support = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=None, zero_division=0
        )
        out["per_class"] = {
            "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": support.tolist()
        }  # fmt: skip
        out["confusion_matrix"] = skm.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return out


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, RMSE and MAE over all elements."""
    mse = float(skm.mean_squared_error(y_true.reshape(-1), y_pred.reshape(-1)))
    return {
        "mse": mse,
        "rmse": mse**0.5,
        "mae": float(skm.mean_absolute_error(y_true.reshape(-1), y_pred.reshape(-1))),
    }
