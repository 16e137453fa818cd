"""Using a trained model: where it comes from, how raw inputs become its inputs, how it runs
(PyTorch or ONNX) and how its outputs are written, for ``profond predict``/``evaluate``, every
HTTP route of the server and the MLflow pyfunc model alike.

Importing this package is light; the entry points import torch when called.
"""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate_run", "predict_run", "Predictor"]


def __getattr__(name: str) -> Any:
    if name == "evaluate_run":
        from profond.inference.evaluate import evaluate_run

        return evaluate_run
    if name == "predict_run":
        from profond.inference.predict import predict_run

        return predict_run
    if name == "Predictor":
        from profond.inference.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'profond.inference' has no attribute {name!r}")
