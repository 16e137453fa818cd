"""Int8 quantization of a trained model, with torch (:mod:`profond.models.quantized` holds the
int8 structure) and with ONNX Runtime's quantizer on an exported graph."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from profond.models.quantized import (  # noqa: F401  (the torch side, re-exported here)
    MODES,
    STATIC_CHAINS,
    StaticInt8,
    check_mode,
    quantize_model,
    rebuild_quantized,
)


def calibration_batches(x: torch.Tensor, samples: int = 512, batch_size: int = 128) -> list:
    """The first ``samples`` rows of ``x`` in batches. Shape: ``(N, *)`` → list of ``(B, *)``."""
    x = x[:samples]
    return [x[i : i + batch_size] for i in range(0, len(x), batch_size)]


def quantize_onnx(
    source: str | Path,
    target: str | Path,
    mode: str,
    calibration: Iterable[torch.Tensor] | None = None,
) -> Path:
    """ONNX Runtime's int8 quantization of an exported graph (the ONNX side of the comparison).

    Args:
        source: a float32 ``.onnx`` file (see :func:`profond.compress.onnx_export.export_onnx`).
        target: the ``.onnx`` file to write.
        mode: ``"dynamic"`` (int8 weights, activations quantized at run time) or ``"static"``
            (QDQ graph with activation ranges from ``calibration``).
        calibration: static mode: batches ``(B, *input_shape)``.

    Returns:
        ``target``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic, quantize_static

    check_mode(mode)
    target = Path(target)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer advises pre-processing through the root logger
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "dynamic":
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
        else:
            quantize_static(
                str(source),
                str(target),
                _calibration(source, list(calibration or ())),
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
            )
    root.setLevel(level)
    return target


def _calibration(model_path: str | Path, batches: list[torch.Tensor]) -> Any:
    """A reader that feeds calibration batches to ONNX Runtime's static quantizer."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader

    name = onnx.load(str(model_path)).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(batches)

        def get_next(self) -> dict | None:
            batch = next(self.items, None)
            return None if batch is None else {name: batch.numpy()}

    return Reader()
