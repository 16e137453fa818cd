"""Linear probes: how linearly decodable a property is from one layer's activations.

A probe freezes the network, records what a layer outputs for each input (a forward hook, so
any named sub-module works), and fits a multinomial logistic regression (scikit-learn) on those
features to predict the labels (Alain & Bengio, 2016, arXiv:1610.01644). Its held-out accuracy
says how much of the label is readable by a linear map at that depth; it measures the
representation, not what the network's own head does with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from profond.errors import ProfondError


@dataclass(frozen=True)
class ProbeResult:
    """Accuracies of one linear probe and the width of the features it read."""

    layer: str
    features: int
    train_accuracy: float
    test_accuracy: float


def layer_names(model: nn.Module) -> list[str]:
    """Names of every sub-module, as :func:`layer_features` accepts them (``""`` excluded)."""
    return [name for name, _ in model.named_modules() if name]


@torch.no_grad()
def layer_features(
    model: nn.Module, layer: str, x: torch.Tensor, batch_size: int = 512
) -> torch.Tensor:
    """What sub-module ``layer`` outputs for each input, flattened; the model in eval mode.

    Args:
        model: any network; it is put in eval mode and left there.
        layer: a name from :func:`layer_names` (e.g. ``"blocks.1"``).
        x: ``(N, *input_shape)`` inputs.

    Shape:
        Returns ``(N, F)`` float32 on the CPU, ``F`` the layer's output size per sample.
    """
    modules = dict(model.named_modules())
    if not layer or layer not in modules:
        raise ProfondError(
            f"no layer named {layer!r} in {type(model).__name__}; "
            f"choose one of: {', '.join(layer_names(model))}"
        )
    captured: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: object, output: object) -> None:
        out = output[0] if isinstance(output, tuple) else output  # blocks may return (x, extra)
        assert isinstance(out, torch.Tensor)
        # a copy: later in-place operations (ReLU(inplace=True)) must not change what was kept
        captured.append(out.detach().flatten(1).float().cpu().clone())

    handle = modules[layer].register_forward_hook(keep)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    model.eval()
    try:
        for start in range(0, len(x), batch_size):
            model(x[start : start + batch_size].to(device))
    finally:
        handle.remove()
    if not captured:
        raise ProfondError("no inputs given to probe (x is empty)")
    return torch.cat(captured)


def fit_probe(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    layer: str = "",
    max_iter: int = 300,
    seed: int = 0,
) -> ProbeResult:
    """Fit a logistic regression on standardized features; report train and test accuracy.

    Args:
        train_features, test_features: ``(N, F)`` features of the same layer.
        train_labels, test_labels: ``(N,)`` integer class ids.
        layer: the layer's name, carried into the result.
        max_iter: iterations of the L-BFGS solver.
        seed: the solver's random state.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if train_features.shape[1] != test_features.shape[1]:
        raise ProfondError(
            f"train and test features differ in width: {train_features.shape[1]} vs "
            f"{test_features.shape[1]}"
        )
    x_train, x_test = train_features.numpy(), test_features.numpy()
    y_train, y_test = train_labels.numpy(), test_labels.numpy()
    if len(np.unique(y_train)) < 2:
        raise ProfondError("a probe needs at least two classes among the training labels")
    probe = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed)
    )
    probe.fit(x_train, y_train)
    return ProbeResult(
        layer=layer,
        features=int(x_train.shape[1]),
        train_accuracy=float(probe.score(x_train, y_train)),
        test_accuracy=float(probe.score(x_test, y_test)),
    )


def probe_layers(
    model: nn.Module,
    layers: list[str],
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    seed: int = 0,
) -> list[ProbeResult]:
    """One probe per layer, in the order given.

    Args:
        model: the frozen network.
        layers: names from :func:`layer_names`.
        train, test: ``(x, y)`` pairs: inputs ``(N, *input_shape)``, labels ``(N,)``.
    """
    results = []
    for layer in layers:
        f_train = layer_features(model, layer, train[0])
        f_test = layer_features(model, layer, test[0])
        results.append(fit_probe(f_train, train[1], f_test, test[1], layer=layer, seed=seed))
    return results
