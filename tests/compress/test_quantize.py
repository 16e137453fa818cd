"""Int8 quantization: accuracy kept, size divided, saved and loaded like any model."""

from __future__ import annotations

import pytest
import torch

from profond.compress.quantize import quantize_model, quantize_onnx
from profond.compress.report import state_dict_bytes
from profond.errors import ProfondError
from profond.models import build_model
from profond.models.saved import LoadedModel, ModelCard, load_model, save_model


def cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("cnn", {}).eval()  # 28x28 inputs: the dense layers dominate the size


def card(extra: dict | None = None) -> ModelCard:
    return ModelCard(family="cnn", task="classification", data="fashion-mnist", config={},
                     input_shape=[1, 28, 28], extra=extra or {})  # fmt: skip


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_int8_is_close_smaller_and_round_trips(mode: str, tmp_path) -> None:
    model = cnn()
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    q = quantize_model(model, mode, "cnn", [x])
    with torch.no_grad():
        reference, out = model(x), q(x)
    scale = reference.abs().max()
    assert (out - reference).abs().max() < 0.05 * scale  # int8 rounding, nothing more
    assert state_dict_bytes(model) / state_dict_bytes(q) > 3.0
    assert any(p.is_floating_point() for p in model.parameters())  # the original is untouched
    save_model(tmp_path / "m", q, card({"compression": {"int8": mode}}))
    loaded = load_model(tmp_path / "m")
    with torch.no_grad():
        assert torch.equal(loaded.model(x), out)


def test_static_int8_quantizes_convolutions() -> None:
    q = quantize_model(cnn(), "static", "cnn", [torch.rand(8, 1, 28, 28)])
    kinds = {type(m).__module__ for m in q.modules()}
    assert any("quantized" in k and "conv" in k for k in kinds)


def test_static_int8_refuses_a_family_without_a_plain_chain() -> None:
    with pytest.raises(ProfondError, match="use --int8 dynamic"):
        quantize_model(cnn(), "static", "resnet", [])
    with pytest.raises(ProfondError, match="unknown int8 mode"):
        quantize_model(cnn(), "int4", "cnn", [])


def test_onnx_runtime_quantizer_writes_a_smaller_agreeing_graph(tmp_path) -> None:
    import onnxruntime as ort

    from profond.compress.onnx_export import export_onnx

    model = cnn()
    source = export_onnx(LoadedModel(model, card()), tmp_path / "f.onnx")
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    target = quantize_onnx(source, tmp_path / "q.onnx", "static", [x])
    assert target.stat().st_size * 3 < source.stat().st_size
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    logits = torch.from_numpy(session.run(["output"], {"input": x.numpy()})[0])
    with torch.no_grad():
        reference = model(x)
    assert (logits - reference).abs().max() < 0.1 * reference.abs().max()
