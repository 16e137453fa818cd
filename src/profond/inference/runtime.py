"""What runs the model for the server: PyTorch itself or onnxruntime on an exported graph.

Both runtimes take a preprocessed batch as a NumPy array and return the model's output and,
for models with ``features(x)``, the penultimate representation (the drift monitor watches it).
They are called from one inference thread at a time.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from profond.compress.onnx_export import (
    FEATURES_NAME,
    INPUT_NAME,
    WithFeatures,
    export_onnx,
    first_output,
    inference_module,
    input_dtype,
)
from profond.errors import ProfondError
from profond.models.saved import LoadedModel


@dataclass
class RuntimeOutput:
    """One batch's results.

    Attributes:
        output: the model's output, e.g. logits. Shape: ``(B, *output_shape)``.
        features: the penultimate representation, or None. Shape: ``(B, D)``.
    """

    output: np.ndarray
    features: np.ndarray | None


class Runtime:
    """Base class: :meth:`run` on NumPy, :meth:`predict` on tensors."""

    name = "runtime"

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.dtype = input_dtype(loaded)

    def run(self, x: np.ndarray) -> RuntimeOutput:
        """Shape: ``x (B, *input_shape)`` → :class:`RuntimeOutput`."""
        raise NotImplementedError

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The model's output for a preprocessed batch. Shape: ``(B, *input_shape)`` → ``(B, ...)``."""
        return torch.from_numpy(self.run(x.detach().cpu().numpy()).output)

    def prepare_thread(self) -> None:
        """Called once in the inference thread before its first call."""

    def close(self) -> None:
        """Free what the runtime holds (temporary files)."""


class TorchRuntime(Runtime):
    """The PyTorch module in inference mode.

    Args:
        loaded: the model and its card.
        threads: intra-op threads of the inference thread.
    """

    name = "torch"

    def __init__(self, loaded: LoadedModel, threads: int = 1) -> None:
        super().__init__(loaded)
        self.module, self.output_names = inference_module(loaded)
        self.threads = threads

    def prepare_thread(self) -> None:
        # PyTorch's intra-op setting does not reach threads started later: without this the
        # inference thread runs the default pool, whose threads spin against each other and
        # against the event loop (measured: a batch of 8 goes from 60 us to 270 us).
        torch.set_num_threads(self.threads)

    def run(self, x: np.ndarray) -> RuntimeOutput:
        with torch.inference_mode():
            result = self.module(torch.from_numpy(x).to(self.dtype))
        if isinstance(self.module, WithFeatures):
            return RuntimeOutput(result[0].numpy(), result[1].numpy())
        return RuntimeOutput(first_output(result).numpy(), None)


class OnnxRuntime(Runtime):
    """onnxruntime's CPU session on the model exported by :func:`export_onnx`.

    Args:
        loaded: the model and its card.
        onnx_path: an exported ``.onnx`` file; None exports one into a temporary folder.
        threads: onnxruntime's intra-op threads.
    """

    name = "onnx"

    def __init__(self, loaded: LoadedModel, onnx_path: str | Path | None = None, threads: int = 1):
        super().__init__(loaded)
        import onnxruntime as ort

        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if onnx_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="profond-onnx-")
            onnx_path = export_onnx(loaded, Path(self._tmp.name) / "model.onnx")
        elif not Path(onnx_path).is_file():
            raise ProfondError(f"no ONNX file at {onnx_path}; export one with `profond export`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own error types for bad files
            raise ProfondError(f"cannot load the ONNX file {onnx_path}: {exc}") from None
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._numpy_dtype = np.int64 if self.dtype == torch.int64 else np.float32

    def run(self, x: np.ndarray) -> RuntimeOutput:
        outputs = self.session.run(None, {INPUT_NAME: np.ascontiguousarray(x, self._numpy_dtype)})
        features = outputs[self.output_names.index(FEATURES_NAME)] if len(outputs) > 1 else None
        return RuntimeOutput(outputs[0], features)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def build_runtime(
    loaded: LoadedModel, runtime: str, onnx_path: str | Path | None = None, threads: int = 1
) -> Runtime:
    """The runtime called ``runtime`` (``"torch"`` or ``"onnx"``) for ``loaded``."""
    if runtime == "torch":
        return TorchRuntime(loaded, threads)
    if runtime == "onnx":
        return OnnxRuntime(loaded, onnx_path, threads)
    raise ProfondError(f"unknown runtime {runtime!r}; expected torch or onnx")
