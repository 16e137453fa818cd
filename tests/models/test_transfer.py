"""Transfer: matching weights copied, a new head left fresh, the right layers frozen."""

from __future__ import annotations

import pytest
import torch

from profond.errors import ProfondError
from profond.models import build_model
from profond.models.transfer import init_from, layer_names, trainable_parameters


def cnn(classes: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model("cnn", {"image_size": (12, 12), "channels": (4, 8), "hidden_size": 16,
                               "num_classes": classes})  # fmt: skip


def test_matching_weights_are_copied_and_a_new_head_is_skipped() -> None:
    source, target = cnn(10, 0), cnn(3, 1)
    head_before = target.head.weight.clone()
    report = init_from(target, source.state_dict())
    assert torch.equal(target.blocks[0][0].weight, source.blocks[0][0].weight)
    assert torch.equal(target.dense[1].weight, source.dense[1].weight)
    assert torch.equal(target.head.weight, head_before)
    assert set(report.skipped) == {"head.weight", "head.bias"}
    assert report.frozen_layers == []
    assert trainable_parameters(target) == sum(p.numel() for p in target.parameters())


def test_freeze_by_count_and_by_name_and_frozen_layers_do_not_move() -> None:
    names = layer_names(cnn(10, 0))
    assert names == ["blocks.0.0", "blocks.0.1", "blocks.1.0", "blocks.1.1", "dense.1", "head"]
    target = cnn(3, 1)
    report = init_from(target, cnn(10, 0).state_dict(), freeze="up-to-blocks.1")
    assert report.frozen_layers == names[:4]
    frozen = {  # num_batches_tracked counts batches seen, whatever the momentum: not a weight
        k: v.clone()
        for k, v in target.state_dict().items()
        if k.startswith("blocks") and not k.endswith("num_batches_tracked")
    }
    optimizer = torch.optim.SGD([p for p in target.parameters() if p.requires_grad], lr=0.5)
    target.train()
    for _ in range(3):
        loss = target(torch.rand(8, 1, 12, 12)).logsumexp(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for key, value in frozen.items():  # weights and batch-norm statistics alike
        assert torch.equal(target.state_dict()[key], value), key
    assert init_from(cnn(3, 2), cnn(10, 0).state_dict(), freeze=5).frozen_layers == names[:5]


@pytest.mark.parametrize("freeze", [99, "up-to-nowhere", "half", -1])
def test_bad_freeze_is_one_clear_error_and_changes_nothing(freeze) -> None:
    target = cnn(3, 1)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(ProfondError):
        init_from(target, cnn(10, 0).state_dict(), freeze=freeze)
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())


def test_unrelated_source_is_refused() -> None:
    mlp = build_model("mlp", {"in_features": 144})
    with pytest.raises(ProfondError, match="no weight"):
        init_from(cnn(3, 1), mlp.state_dict())
