"""ONNX export agrees with PyTorch (reference test) and keeps a dynamic batch axis."""

from __future__ import annotations

import copy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from profond.compress.onnx_export import check_onnx, export_onnx
from profond.errors import ProfondError


def test_export_agrees_with_torch_for_any_batch_size(loaded, tmp_path) -> None:
    path = export_onnx(loaded, tmp_path / "model.onnx")
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["output", "features"]
    assert not isinstance(session.get_inputs()[0].shape[0], int)  # symbolic: dynamic batch
    for batch_size in (1, 3, 64):
        x = torch.rand(batch_size, 1, 8, 8, generator=torch.Generator().manual_seed(batch_size))
        with torch.no_grad():
            expected = loaded.model(x).numpy()
        logits, features = session.run(None, {"input": x.numpy()})
        np.testing.assert_allclose(logits, expected, atol=1e-5)
        assert features.shape == (batch_size, 32)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


def test_a_disagreeing_graph_is_refused(loaded, tmp_path) -> None:
    path = export_onnx(loaded, tmp_path / "model.onnx")
    other = copy.deepcopy(loaded.model)
    with torch.no_grad():
        other.head.bias.add_(1e-3)  # the graph no longer computes this model
    with pytest.raises(ProfondError, match="disagrees with PyTorch"):
        check_onnx(path, other, loaded)
