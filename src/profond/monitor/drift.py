"""Data and model drift: are the inputs the server sees still like the training data?

Method
------
Each input (after preprocessing, exactly as the model sees it) is summarized by a few scalar
features:

- ``intensity_mean``, ``intensity_std``: brightness and spread of the values;
- ``contrast``: the 95th minus the 5th percentile of the values (robust to a few outliers);
- ``sharpness`` (images only): the variance of the 4-neighbour Laplacian, which noise raises
  and blur lowers;
- ``embedding_norm``, ``embedding_pc1``, ``embedding_pc2`` (models with ``features(x)``): the
  L2 norm of the penultimate representation and its projection on the first two principal
  components of the training embeddings. These follow what the *model* makes of the input, so
  they move when a shift matters to it (model drift), even if pixel statistics barely change.

At training time :func:`build_reference` computes these features on up to 2,000 training
inputs (seeded sample) and stores, per feature, that sample and the edges of 10 equal-mass bins
(reference deciles). The server keeps a sliding window of the most recent inputs (500 by
default) and, once it holds at least 100, compares each feature's window with its reference:

- the two-sample Kolmogorov–Smirnov test (:func:`scipy.stats.ks_2samp`): statistic and p-value;
- the Population Stability Index over the 10 reference bins,
  ``PSI = Σ (p_live − p_ref) · ln(p_live / p_ref)``, bin shares clipped at 1e-4. Usual reading:
  below 0.1 stable, 0.1–0.2 moderate shift, above 0.2 significant shift.

A feature *drifts* when both agree: PSI > 0.2 **and** KS p-value < 0.01 / (number of features)
(Bonferroni). Requiring both keeps a large window from flagging a shift too small to matter
(KS alone becomes over-sensitive) and a small window from flagging noise (PSI alone is noisy).
The server raises the *alarm* when at least 2 features drift (or all of them, when fewer
exist). The aggregate ``score`` is the largest PSI.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from profond.atomic import atomic_write_text
from profond.errors import ProfondError

REFERENCE_FILE = "drift_reference.json"
REFERENCE_VERSION = 1


@dataclass(frozen=True)
class DriftMethod:
    """The thresholds of the drift test (see the module docstring)."""

    psi_bins: int = 10  # deciles of the reference: ~50 live samples per bin in a 500 window
    psi_threshold: float = 0.2  # the customary "significant shift" level of PSI
    ks_alpha: float = 0.01  # family-wise level, divided by the number of features
    min_drifted_features: int = 2  # one feature alone is too easily moved by chance

    def __post_init__(self) -> None:
        if self.psi_bins < 2:
            raise ProfondError(f"psi_bins must be at least 2, got psi_bins={self.psi_bins}")
        if not 0 < self.ks_alpha < 1:
            raise ProfondError(f"ks_alpha must be in (0, 1), got ks_alpha={self.ks_alpha}")
        if self.psi_threshold <= 0 or self.min_drifted_features < 1:
            raise ProfondError(
                "psi_threshold and min_drifted_features must be positive, got "
                f"psi_threshold={self.psi_threshold}, min_drifted_features={self.min_drifted_features}"
            )


def _is_image(sample_shape: tuple[int, ...]) -> bool:
    return len(sample_shape) >= 2 and sample_shape[-1] >= 3 and sample_shape[-2] >= 3


def input_features(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-input summary statistics.

    Shape:
        ``x``: ``(B, *input_shape)``; each returned array: ``(B,)``.
    """
    x = np.asarray(x, dtype=np.float32)
    flat = x.reshape(len(x), -1)  # (B, F)
    low, high = np.percentile(flat, [5, 95], axis=1)
    features = {
        "intensity_mean": flat.mean(axis=1),
        "intensity_std": flat.std(axis=1),
        "contrast": high - low,
    }
    if _is_image(x.shape[1:]):
        centre = x[..., 1:-1, 1:-1]
        laplacian = (
            x[..., :-2, 1:-1] + x[..., 2:, 1:-1] + x[..., 1:-1, :-2] + x[..., 1:-1, 2:] - 4 * centre
        )
        features["sharpness"] = laplacian.reshape(len(x), -1).var(axis=1)
    return features


def embedding_features(embedding: np.ndarray, pca: dict[str, Any]) -> dict[str, np.ndarray]:
    """Norm and first principal components of the penultimate representation.

    Shape:
        ``embedding``: ``(B, D)``; each returned array: ``(B,)``.
    """
    embedding = np.asarray(embedding, dtype=np.float32).reshape(len(embedding), -1)
    features = {"embedding_norm": np.linalg.norm(embedding, axis=1)}
    mean = np.asarray(pca["mean"], dtype=np.float32)
    components = np.asarray(pca["components"], dtype=np.float32)  # (K, D)
    projected = (embedding - mean) @ components.T  # (B, K)
    for k in range(components.shape[0]):
        features[f"embedding_pc{k + 1}"] = projected[:, k]
    return features


@torch.no_grad()
def _embeddings(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> np.ndarray | None:
    features = getattr(model, "features", None)
    if not callable(features):
        return None
    was_training = model.training
    model.eval()
    try:
        parts = [features(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(parts).reshape(len(x), -1).float().cpu().numpy()


def _psi_edges(values: np.ndarray, bins: int) -> np.ndarray:
    inner = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(inner)  # ties (e.g. many black images) merge bins


def _bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def build_reference(
    model: nn.Module,
    x_train: torch.Tensor,
    max_samples: int = 2000,
    seed: int = 0,
    method: DriftMethod | None = None,
) -> dict[str, Any]:
    """Training-time statistics the drift monitor compares live inputs with.

    Args:
        model: the trained model (its ``features(x)`` is used when it has one).
        x_train: preprocessed training inputs.
        max_samples: size of the seeded random sample kept per feature.
        seed: seed of that sample.
        method: thresholds; :class:`DriftMethod` defaults when None.

    Shape:
        ``x_train``: ``(N, *input_shape)``.

    Returns:
        A JSON-ready dict (save it with :func:`save_reference`).
    """
    if len(x_train) < 10:
        raise ProfondError(f"a drift reference needs at least 10 inputs, got {len(x_train)}")
    if max_samples < 10:
        raise ProfondError(f"max_samples must be at least 10, got max_samples={max_samples}")
    method = method or DriftMethod()
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(x_train), generator=generator)[:max_samples]
    x = x_train[index].float()
    features = input_features(x.numpy())
    pca = None
    embedding = _embeddings(model, x)
    if embedding is not None:
        mean = embedding.mean(axis=0)
        # Right singular vectors of the centred embeddings are the principal axes.
        _, _, vt = np.linalg.svd(embedding - mean, full_matrices=False)
        pca = {"mean": mean.tolist(), "components": vt[: min(2, len(vt))].tolist()}
        features.update(embedding_features(embedding, pca))
    stored = {}
    for name, values in features.items():
        values = values.astype(np.float64)
        edges = _psi_edges(values, method.psi_bins)
        stored[name] = {
            "sample": [float(v) for v in values],
            "edges": edges.tolist(),
            "shares": _bin_shares(values, edges).tolist(),
        }
    return {
        "version": REFERENCE_VERSION,
        "input_shape": list(x.shape[1:]),
        "samples": len(x),
        "seed": seed,
        "method": method.__dict__,
        "pca": pca,
        "features": stored,
    }


def save_reference(folder: str | Path, reference: dict[str, Any]) -> Path:
    """Write ``reference`` as ``folder/drift_reference.json`` (atomically)."""
    import json

    return atomic_write_text(Path(folder) / REFERENCE_FILE, json.dumps(reference))


def psi(expected_shares: np.ndarray, actual_shares: np.ndarray, eps: float = 1e-4) -> float:
    """Population Stability Index between two binned distributions (shares summing to 1)."""
    p = np.clip(np.asarray(actual_shares, dtype=np.float64), eps, None)
    q = np.clip(np.asarray(expected_shares, dtype=np.float64), eps, None)
    return float(np.sum((p - q) * np.log(p / q)))


class DriftMonitor:
    """A sliding window of recent inputs' features, scored against a reference.

    Thread-safe: the inference thread calls :meth:`update`, request handlers :meth:`report`.

    Args:
        reference: a dict from :func:`build_reference`, or None (reports ``no_reference``).
        window: how many recent inputs are kept.
        min_samples: inputs needed before a score is computed.
    """

    def __init__(self, reference: dict[str, Any] | None, window: int = 500, min_samples: int = 100):
        if window <= 0 or not 0 < min_samples <= window:
            raise ProfondError(
                f"expected 0 < min_samples <= window, got window={window}, min_samples={min_samples}"
            )
        if reference is not None and reference.get("version") != REFERENCE_VERSION:
            raise ProfondError(
                f"unsupported drift reference version {reference.get('version')!r}; "
                f"expected {REFERENCE_VERSION} (rebuild it with build_reference)"
            )
        self.reference = reference
        self.window = window
        self.min_samples = min_samples
        self.method = DriftMethod(**reference["method"]) if reference else DriftMethod()
        self._names = list(reference["features"]) if reference else []
        # Raw inputs and embeddings are kept, and features computed when a report is asked
        # for: the request path pays one deque append, not per-input statistics.
        self._inputs: deque[np.ndarray] = deque(maxlen=window)
        self._embeddings: deque[np.ndarray | None] = deque(maxlen=window)
        self._lock = threading.Lock()
        self._seen = 0
        self._cached: tuple[int, dict[str, Any]] | None = None

    @property
    def enabled(self) -> bool:
        return self.reference is not None

    def reset(self) -> None:
        """Empty the window."""
        with self._lock:
            self._inputs.clear()
            self._embeddings.clear()
            self._seen = 0
            self._cached = None

    def update(self, x: np.ndarray, embedding: np.ndarray | None) -> None:
        """Add a batch of preprocessed inputs. Shape: ``x (B, *input_shape)``, ``embedding (B, D)``."""
        if self.reference is None or len(x) == 0:
            return
        with self._lock:
            self._inputs.extend(np.array(x, dtype=np.float32, copy=True))
            self._embeddings.extend(
                [None] * len(x) if embedding is None else np.array(embedding, copy=True)
            )
            self._seen += len(x)

    def _window_features(self) -> tuple[int, np.ndarray]:
        """The window's features. Shape: ``(W, n_features)``."""
        with self._lock:
            seen = self._seen
            inputs = list(self._inputs)
            embeddings = list(self._embeddings)
        if not inputs:
            return seen, np.empty((0, len(self._names)))
        features = input_features(np.stack(inputs))
        assert self.reference is not None
        present = [e for e in embeddings if e is not None]
        if self.reference.get("pca") is not None and len(present) == len(embeddings):
            features.update(embedding_features(np.stack(present), self.reference["pca"]))
        if any(name not in features for name in self._names):
            return seen, np.empty((0, len(self._names)))  # no embedding: nothing comparable
        return seen, np.stack([features[name] for name in self._names], axis=1)

    def report(self) -> dict[str, Any]:
        """Per-feature KS and PSI, the drifted features and the alarm (JSON-ready)."""
        method = {
            **self.method.__dict__,
            "window": self.window,
            "min_samples": self.min_samples,
            "ks_alpha_per_feature": self.method.ks_alpha / max(len(self._names), 1),
        }
        with self._lock:
            if self._cached is not None and self._cached[0] == self._seen:
                return self._cached[1]
        if self.reference is None:
            window = np.empty((0, 0))
            seen = 0
        else:
            seen, window = self._window_features()
        empty = {"window": len(window), "features": {}, "drifted_features": [], "score": 0.0}
        if self.reference is None:
            return {**empty, "status": "no_reference", "alarm": False, "method": method}
        if len(window) < self.min_samples:
            return {**empty, "status": "warming_up", "alarm": False, "method": method}
        features: dict[str, dict[str, Any]] = {}
        alpha = method["ks_alpha_per_feature"]
        for column, name in enumerate(self._names):
            ref = self.reference["features"][name]
            live = window[:, column]
            ks = stats.ks_2samp(np.asarray(ref["sample"]), live)
            score = psi(np.asarray(ref["shares"]), _bin_shares(live, np.asarray(ref["edges"])))
            features[name] = {
                "ks_statistic": float(ks.statistic),
                "ks_pvalue": float(ks.pvalue),
                "psi": score,
                "drifted": bool(score > self.method.psi_threshold and ks.pvalue < alpha),
            }
        drifted = [name for name, f in features.items() if f["drifted"]]
        alarm = len(drifted) >= min(self.method.min_drifted_features, len(features))
        result = {
            "status": "drift" if alarm else "ok",
            "window": len(window),
            "features": features,
            "drifted_features": drifted,
            "score": max(f["psi"] for f in features.values()),
            "alarm": alarm,
            "method": method,
        }
        with self._lock:
            self._cached = (seen, result)
        return result
