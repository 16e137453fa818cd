"""The torch and onnx runtimes give the same outputs and embeddings as the model itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from profond.errors import ProfondError
from profond.inference.runtime import OnnxRuntime, TorchRuntime, build_runtime


def test_torch_and_onnx_runtimes_agree_with_the_model(loaded, tmp_path) -> None:
    x = torch.rand(9, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, features = loaded.model(x).numpy(), loaded.model.features(x).numpy()
    torch_runtime = TorchRuntime(loaded)
    onnx_runtime = OnnxRuntime(loaded)
    try:
        for runtime in (torch_runtime, onnx_runtime):
            out = runtime.run(x.numpy())
            np.testing.assert_allclose(out.output, expected, atol=1e-5)
            np.testing.assert_allclose(out.features, features, atol=1e-5)
            np.testing.assert_allclose(runtime.predict(x).numpy(), expected, atol=1e-5)
    finally:
        onnx_runtime.close()


def test_unknown_runtime_and_missing_onnx_file(loaded, tmp_path) -> None:
    with pytest.raises(ProfondError, match="unknown runtime 'tf'"):
        build_runtime(loaded, "tf")
    with pytest.raises(ProfondError, match="no ONNX file"):
        OnnxRuntime(loaded, tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(ProfondError, match="cannot load the ONNX file"):
        OnnxRuntime(loaded, bad)


def test_a_server_on_the_onnx_runtime_answers_like_torch(server, model_dir, loaded, digits) -> None:
    import httpx
    from serving_helpers import make_config, running_server

    body = {"instances": digits["x_test"][:8].reshape(8, -1).tolist()}
    torch_answer = httpx.post(f"{server}/v1/predict", json=body).json()
    with running_server(make_config(model_dir, runtime="onnx"), loaded) as url:
        onnx_answer = httpx.post(f"{url}/v1/predict", json=body).json()
        assert httpx.get(f"{url}/v1/model").json()["runtime"] == "onnx"
    assert onnx_answer["model"]["runtime"] == "onnx"
    np.testing.assert_allclose(
        [p["probabilities"] for p in onnx_answer["predictions"]],
        [p["probabilities"] for p in torch_answer["predictions"]],
        atol=1e-5,
    )
