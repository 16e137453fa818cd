"""How good are generated images? A Fréchet distance, class coverage and confidence.

The Fréchet Inception Distance (Heusel et al., 2017, arXiv:1706.08500) fits a Gaussian to the
features a trained classifier extracts from real images and another to those of generated
images, then measures the distance between the two Gaussians. Inception-v3 knows nothing of
28 × 28 grayscale clothes, so profond uses its own classifier trained on the same dataset and
takes its penultimate layer (``features(x)``) as the feature space. The numbers are therefore
comparable between runs on one dataset, not with published FIDs; :meth:`QualityScorer.scale`
gives the two ends of the scale (real vs real, noise vs real).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from profond.errors import ProfondError
from profond.models.mlp import MLP, MLPConfig
from profond.models.saved import ModelCard, load_model, save_model
from profond.paths import profond_home

if TYPE_CHECKING:
    from profond.data.bundle import DataBundle


@dataclass(frozen=True)
class QualityConfig:
    hidden_sizes: tuple[int, ...] = (256, 128)  # the last one is the FID feature dimension
    epochs: int = 5  # about 88% test accuracy on Fashion-MNIST, in seconds on a CPU
    batch_size: int = 128  # small batches: more updates in few epochs
    lr: float = 1e-3  # Adam's usual step
    seed: int = 0  # initialization, dropout and shuffling
    max_samples: int = 10_000  # images compared per score; the FID's bias shrinks as 1/N

    def __post_init__(self) -> None:
        if self.epochs <= 0 or self.batch_size <= 0 or self.lr <= 0 or self.max_samples < 4:
            raise ValueError(
                "expected positive epochs, batch_size, lr and max_samples >= 4. Received: "
                f"epochs={self.epochs}, batch_size={self.batch_size}, lr={self.lr}, "
                f"max_samples={self.max_samples}"
            )


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors.

    ``||mu_a - mu_b||² + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, in float64.

    Shape:
        ``features_a``: ``(N, D)``, ``features_b``: ``(M, D)`` with ``N, M >= 2``.
    """
    if features_a.dim() != 2 or features_b.dim() != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ProfondError(
            f"the Fréchet distance needs two (N, D) feature sets of the same D; got "
            f"{tuple(features_a.shape)} and {tuple(features_b.shape)}"
        )
    if min(len(features_a), len(features_b)) < 2:
        raise ProfondError("the Fréchet distance needs at least 2 samples on each side")
    a = features_a.detach().cpu().double().numpy()
    b = features_b.detach().cpu().double().numpy()
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((S_a S_b)^(1/2)) = Σ sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)), a symmetric positive
    # semi-definite matrix: eigvalsh stays real and stable where sqrtm of the product warns
    # about the singular covariances that dead ReLU features give.
    root_a = _psd_sqrt(cov_a)
    eigenvalues = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_covmean = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    distance = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_covmean
    return float(max(distance, 0.0))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a positive semi-definite matrix (round-off negatives → 0)."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def quality_classifier(data: DataBundle, config: QualityConfig | None = None) -> nn.Module:
    """The classifier whose features score generated images: loaded from cache or trained once.

    The cache lives in ``profond_home()/quality/<key>/`` (a saved model), the key hashing the
    training images, labels and ``config``: another dataset or subset trains another one.

    Returns:
        An :class:`~profond.models.mlp.MLP` in eval mode, on the CPU.
    """
    config = config or QualityConfig()
    if data.num_classes < 2:
        raise ProfondError(
            f"scoring generated images needs a labelled image dataset; {data.name!r} has no classes"
        )
    folder = profond_home() / "quality" / f"{data.name}-{_data_key(data, config)}"
    if (folder / "model.json").is_file():
        return load_model(folder).model
    model = _train_classifier(data, config)
    accuracy = _accuracy(model, data.x_test, data.y_test)
    card = ModelCard(
        family="mlp",
        task="classification",
        data=data.name,
        config=asdict(model.config),
        input_shape=list(data.input_shape),
        classes=list(data.classes),
        preprocessing=data.preprocessing.to_dict(),
        metrics={"test_accuracy": accuracy},
    )
    save_model(folder, model, card)
    return model.eval()


class QualityScorer:
    """Scores generated images against real ones in a classifier's feature space.

    Args:
        classifier: a model with ``features(x)`` and ``head(features)`` (logits), e.g. from
            :func:`quality_classifier`.
        reference: real images, at most ``max_samples`` of them are kept.
        max_samples: cap on the reference set.

    Shape:
        ``reference``: ``(N, C, H, W)``.
    """

    def __init__(
        self, classifier: nn.Module, reference: torch.Tensor, max_samples: int = 10_000
    ) -> None:
        if len(reference) < 4:
            raise ProfondError(
                f"a quality score needs at least 4 real images; got {len(reference)}"
            )
        self.classifier: Any = classifier.eval()  # any model with features() and head()
        self.reference = reference[:max_samples]
        self.reference_features, reference_probs = self.extract(self.reference)
        self.num_classes = reference_probs.shape[1]
        # Coverage compares with how the classifier sorts real images, not with uniform classes.
        self.reference_share = _class_share(reference_probs)

    @torch.no_grad()
    def extract(
        self, images: torch.Tensor, batch_size: int = 1000
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Penultimate features and class probabilities, on the CPU.

        Shape: ``(N, C, H, W)`` → ``(N, D)`` and ``(N, num_classes)``.
        """
        device = next(self.classifier.parameters()).device
        features, probs = [], []
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            h = self.classifier.features(x)
            features.append(h.cpu())
            probs.append(F.softmax(self.classifier.head(h), dim=1).cpu())
        return torch.cat(features), torch.cat(probs)

    def score(self, images: torch.Tensor) -> dict[str, float]:
        """``fid`` (lower is better), ``class_coverage`` and ``confidence`` (higher is better).

        ``class_coverage`` is the fraction of classes that receive at least half the share of
        the generated images that they receive of the real ones: a generator that collapsed
        onto a few modes covers few classes. ``confidence`` is the classifier's mean top
        probability on the generated images: recognisable objects get confident answers.
        """
        features, probs = self.extract(images)
        share = _class_share(probs)
        covered = (share >= 0.5 * self.reference_share).float().mean().item()
        return {
            "fid": frechet_distance(features, self.reference_features),
            "class_coverage": covered,
            "confidence": probs.max(dim=1).values.mean().item(),
        }

    def scale(self, seed: int = 0) -> dict[str, float]:
        """The ends of the FID scale on this reference set.

        ``real_vs_real``: one half of the reference against the other (what a perfect generator
        scores with that many samples); ``noise_vs_real``: uniform noise against the reference.
        """
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(self.reference), generator=generator)
        half = len(order) // 2
        first, second = self.reference_features[order[:half]], self.reference_features[order[half:]]
        noise = torch.rand(self.reference.shape, generator=generator)
        noise_features, _ = self.extract(noise)
        return {
            "real_vs_real": frechet_distance(first, second),
            "noise_vs_real": frechet_distance(noise_features, self.reference_features),
        }


def _class_share(probs: torch.Tensor) -> torch.Tensor:
    """Fraction of samples predicted as each class. Shape: ``(N, K)`` → ``(K,)``."""
    counts = torch.bincount(probs.argmax(dim=1), minlength=probs.shape[1]).float()
    return counts / counts.sum()


def _data_key(data: DataBundle, config: QualityConfig) -> str:
    digest = hashlib.sha256()
    for tensor in (data.x_train, data.y_train):
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(repr(config).encode())
    return digest.hexdigest()[:16]


def _train_classifier(data: DataBundle, config: QualityConfig) -> MLP:
    """A few epochs of Adam on the training split; the caller's random state is left alone."""
    # enable_grad: the first score is often asked for inside an evaluation's no_grad.
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(config.seed)
        model = MLP(
            MLPConfig(
                in_features=math.prod(data.input_shape),
                num_classes=data.num_classes,
                hidden_sizes=config.hidden_sizes,
            )
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        x, y = data.x_train, data.y_train
        model.train()
        for _ in range(config.epochs):
            order = torch.randperm(len(x))
            for start in range(0, len(x), config.batch_size):
                index = order[start : start + config.batch_size]
                loss = F.cross_entropy(model(x[index]), y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return model.eval()


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    if len(x) == 0:
        return float("nan")
    return (model(x).argmax(dim=1) == y).float().mean().item()
