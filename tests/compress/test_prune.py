"""Magnitude pruning: the smallest weights go, the masks are folded in, the head keeps its classes."""

from __future__ import annotations

import pytest
import torch

from profond.compress.prune import (
    apply_pruning_masks,
    make_permanent,
    prunable_layers,
    prune_model,
    sparsity,
)
from profond.errors import ProfondError
from profond.models import build_model


def cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("cnn", {"image_size": (12, 12), "channels": (8, 16), "hidden_size": 24})


def test_unstructured_removes_exactly_the_smallest_weights_globally() -> None:
    model = cnn()
    pruned = prune_model(model, 0.9)
    before = torch.cat([m.weight.detach().flatten() for _, m in prunable_layers(model)])
    after = torch.cat([m.weight.detach().flatten() for _, m in prunable_layers(pruned)])
    assert sparsity(pruned) == pytest.approx(0.9, abs=1e-3)
    assert before[after == 0].abs().max() <= before[after != 0].abs().min()
    assert sparsity(model) < 0.01  # the original is untouched
    names = {n for n, _ in pruned.named_parameters()}
    assert not any(n.endswith("_orig") for n in names)  # made permanent: plain weights
    assert set(pruned.state_dict()) == set(model.state_dict())


def test_structured_zeroes_whole_channels_but_never_the_head() -> None:
    pruned = prune_model(cnn(), 0.5, structured=True)
    layers = [m for _, m in prunable_layers(pruned)]
    for layer in layers[:-1]:
        w = layer.weight.detach().reshape(layer.weight.shape[0], -1)
        zero_rows = int((w.abs().sum(dim=1) == 0).sum())
        assert zero_rows == round(0.5 * w.shape[0])
    assert int((layers[-1].weight == 0).sum()) == 0


def test_masks_hold_pruned_weights_at_zero_while_training() -> None:
    model = apply_pruning_masks(cnn(), 0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = torch.rand(16, 1, 12, 12), torch.randint(0, 10, (16,))
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert sparsity(make_permanent(model)) == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("amount", [-0.1, 1.0, 1.5])
def test_bad_fraction_is_one_clear_error(amount: float) -> None:
    with pytest.raises(ProfondError, match=r"fraction in \[0, 1\)"):
        prune_model(cnn(), amount)
