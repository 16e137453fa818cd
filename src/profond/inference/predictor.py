"""One model ready to answer: raw input in, formatted predictions out.

:class:`Predictor` is what ``profond predict``, every route of the server and the MLflow pyfunc
model share: the preprocessing of training (read from the model card), the runtime (PyTorch or
ONNX) and the task's own formatter, so that a forecast is in the series' units and a class
comes with its label and probabilities wherever it is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from profond.errors import ProfondError
from profond.inference.decode import input_kind, rows_to_array
from profond.inference.errors import InputError
from profond.inference.inputs import prepare_input
from profond.inference.runtime import Runtime, RuntimeOutput, build_runtime
from profond.models.saved import LoadedModel
from profond.train.task import Task
from profond.train.tasks import task_class


def format_predictions(
    task: type[Task], output: np.ndarray, loaded: LoadedModel
) -> list[dict[str, Any]]:
    """The task's formatter on a batch of raw model outputs: one JSON-ready dict per input.

    Shape: ``output`` ``(B, *output_shape)``.
    """
    if task.output_kind == "none":
        raise InputError(
            f"a {loaded.card.task} model makes samples rather than predictions: use "
            f"`profond generate {loaded.card.run_id or 'RUN_ID'} --n 64`",
            422,
            "not_predictive",
        )
    return task.format_prediction(torch.from_numpy(np.asarray(output)), loaded.card)


class Predictor:
    """A loaded model with its runtime, preprocessing and formatter.

    Args:
        loaded: the model and its card.
        runtime: ``"torch"`` or ``"onnx"``.
        onnx_path: a ready ``.onnx`` file for the onnx runtime (None: exported now).
        threads: intra-op threads of the runtime.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        runtime: str = "torch",
        onnx_path: str | Path | None = None,
        threads: int = 1,
    ) -> None:
        self.loaded = loaded
        self.card = loaded.card
        self.task = task_class(loaded.card.task)
        if runtime == "onnx" and not self.task.supports_onnx:
            raise ProfondError(
                f"a {self.card.task} model cannot run on ONNX; serve it with --runtime torch"
            )
        self.runtime: Runtime = build_runtime(loaded, runtime, onnx_path, threads)

    @property
    def output_kind(self) -> str:
        return self.task.output_kind

    @property
    def input_kind(self) -> str:
        return input_kind(self.card, self.task.output_kind)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.loaded.input_shape

    def describe(self) -> dict[str, str]:
        """The model reference every answer carries."""
        return {
            "run_id": self.card.run_id,
            "family": self.card.family,
            "runtime": self.runtime.name,
        }

    # ---- raw input → model input (preprocessed as in training) -------------------------------
    def prepare_rows(self, instances: Any, max_instances: int) -> np.ndarray:
        """JSON rows in raw units → a preprocessed batch. Shape: ``(N, *input_shape)``."""
        if self.input_kind == "text":
            raise InputError(
                "this model takes texts; send 'texts': [\"...\"] instead of 'instances'",
                422,
                "invalid_input",
            )
        return self.preprocess(rows_to_array(instances, self.input_shape, max_instances))

    def preprocess(self, x_raw: np.ndarray) -> np.ndarray:
        """The training transform on raw values. Shape: ``(N, *input_shape)`` both ways."""
        return self.loaded.preprocessing.apply(torch.from_numpy(x_raw)).numpy()

    def prepare_texts(self, texts: list[str], max_instances: int) -> np.ndarray:
        """Texts → token ids. Shape: returns ``(N, max_len)`` int64."""
        if self.input_kind != "text":
            raise InputError(
                "this model does not take texts; send 'instances' of shape "
                f"{list(self.input_shape)}",
                422,
                "invalid_input",
            )
        if not 0 < len(texts) <= max_instances:
            raise InputError(
                f"send 1 to {max_instances} texts, received {len(texts)}",
                422,
                "batch_too_large" if texts else "empty_batch",
            )
        from profond.data.text import encode_text

        try:
            rows = [encode_text(text, self.card) for text in texts]  # each (1, T)
        except ProfondError as exc:
            raise InputError(str(exc), 422, "invalid_text") from None
        return torch.cat(rows).numpy()

    def prepare_image(self, data: bytes, invert: str = "auto") -> np.ndarray:
        """PNG/JPEG bytes → one preprocessed input. Shape: ``(1, *input_shape)``."""
        from profond.data.imaging import decode_image

        if self.input_kind not in ("image", "vector"):
            raise InputError(
                f"this model takes {self.input_kind} inputs, not images", 422, "invalid_input"
            )
        try:
            x = decode_image(data, self.input_shape, self.loaded.preprocessing, invert)
        except ProfondError as exc:
            raise InputError(str(exc), 400, "invalid_image") from None
        except Image.DecompressionBombError:  # Pillow's own limit, checked from the header
            raise InputError(
                "the image has too many pixels; send a smaller picture", 413, "image_too_large"
            ) from None
        return x.numpy()

    def prepare_source(self, source: str) -> np.ndarray:
        """What ``profond predict`` is given (a file path, or a text) → a model input batch."""
        return prepare_input(self.task, source, self.card).numpy()

    # ---- running and formatting --------------------------------------------------------------
    def run(self, x: np.ndarray) -> RuntimeOutput:
        """Shape: ``x (B, *input_shape)`` preprocessed → the runtime's output."""
        return self.runtime.run(x)

    def format(self, output: np.ndarray) -> list[dict[str, Any]]:
        """The task's formatted predictions of a batch of raw model outputs."""
        return format_predictions(self.task, output, self.loaded)

    def predict(self, x: np.ndarray) -> list[dict[str, Any]]:
        """Run and format a preprocessed batch. Shape: ``x (B, *input_shape)``."""
        return self.format(self.run(x).output)

    def close(self) -> None:
        self.runtime.close()
