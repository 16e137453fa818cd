"""Export a trained model to ONNX, with a dynamic batch axis, checked against PyTorch.

The graph has one input, ``input`` ``(B, *input_shape)``, and two outputs: ``output`` (what
``model(x)`` returns, e.g. logits) and, for models with ``features(x)``, ``features`` (the
penultimate representation, which the server's drift monitor watches). Computing both in one
graph costs nothing extra, since ``forward(x) = head(features(x))``.
"""

from __future__ import annotations

import io
import logging
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from profond.atomic import atomic_write
from profond.errors import ProfondError
from profond.models.saved import LoadedModel

INPUT_NAME = "input"
OUTPUT_NAME = "output"
FEATURES_NAME = "features"
TOLERANCE = 1e-5  # float32 kernels differ in summation order, nothing more


class WithFeatures(nn.Module):
    """``x → (model(x), model.features(x))`` in one pass.

    Shape:
        - Input: ``(B, *input_shape)``.
        - Output: ``(B, *output_shape)`` and ``(B, D)``.
    """

    def __init__(self, model: nn.Module, shared_head: bool = False) -> None:
        super().__init__()
        self.model = model
        # forward = head(features(x)) is the classifiers' convention: reuse the features then
        # (other families, e.g. a recursive forecaster, do more than that in forward).
        self.shared_head = shared_head and isinstance(getattr(model, "head", None), nn.Module)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        model: Any = self.model  # `features` and `head` are the classifier convention
        features = model.features(x)
        output = model.head(features) if self.shared_head else first_output(model(x))
        return output, features.reshape(features.shape[0], -1)  # (B, D)


def first_output(result: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """A VAE returns (reconstruction, mu, logvar): the first element is the prediction."""
    return result[0] if isinstance(result, tuple | list) else result


def served_model(loaded: LoadedModel) -> nn.Module:
    """The model as inference runs it: a classifier tested with flip TTA answers with it too
    (the card records it), so served probabilities are those the test accuracy measured."""
    from profond.models.flip_average import with_test_time_augmentation

    return with_test_time_augmentation(
        loaded.model, loaded.card.extra.get("tta"), len(loaded.input_shape)
    )


def inference_module(loaded: LoadedModel) -> tuple[nn.Module, list[str]]:
    """The module to run or export, and the names of its outputs."""
    from profond.train.tasks import task_class

    model = served_model(loaded)
    if callable(getattr(model, "features", None)):
        shared = task_class(loaded.card.task).output_kind == "classes"
        return WithFeatures(model, shared).eval(), [OUTPUT_NAME, FEATURES_NAME]
    return model.eval(), [OUTPUT_NAME]


def input_dtype(loaded: LoadedModel) -> torch.dtype:
    """Token ids for text models (their card holds a vocabulary), float32 otherwise."""
    return torch.int64 if is_text_model(loaded) else torch.float32


def is_text_model(loaded: LoadedModel) -> bool:
    return bool(loaded.card.extra.get("vocab"))


def example_input(loaded: LoadedModel, batch_size: int, seed: int = 0) -> torch.Tensor:
    """A seeded random batch in the model's input space. Shape: ``(batch_size, *input_shape)``."""
    generator = torch.Generator().manual_seed(seed)
    shape = (batch_size, *loaded.input_shape)
    if input_dtype(loaded) == torch.int64:
        vocab = len(loaded.card.extra.get("vocab", [])) or 2
        return torch.randint(0, vocab, shape, generator=generator)
    return torch.rand(shape, generator=generator)


def export_onnx(loaded: LoadedModel, path: str | Path, opset: int = 18) -> Path:
    """Write ``loaded``'s model to ``path`` as ONNX and check it with onnxruntime.

    The check runs batches of 1 and 7 through both PyTorch and onnxruntime and requires every
    output to agree to 1e-5; the file is renamed into place only if it passes.

    Args:
        loaded: the model and its card.
        path: the ``.onnx`` file to write.
        opset: the ONNX operator set version.

    Returns:
        ``path``.
    """
    from profond.train.tasks import task_class

    if not task_class(loaded.card.task).supports_onnx:
        raise ProfondError(
            f"a {loaded.card.task} model ({loaded.card.family}) cannot be exported to ONNX"
        )
    path = Path(path)
    module, output_names = inference_module(loaded)
    example = example_input(loaded, 2)
    batch = torch.export.Dim("batch")

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            logging.getLogger("torch.onnx").setLevel(logging.ERROR)
            try:
                torch.onnx.export(
                    module,
                    (example,),
                    str(tmp),
                    input_names=[INPUT_NAME],
                    output_names=output_names,
                    dynamic_shapes=({0: batch},),
                    opset_version=opset,
                    external_data=False,
                    dynamo=True,
                    verbose=False,
                )
            except Exception as exc:  # the exporter raises many types for unsupported ops
                raise ProfondError(
                    f"cannot export model {loaded.card.family!r} to ONNX: {exc}"
                ) from None
        check_onnx(tmp, served_model(loaded), loaded)

    atomic_write(path, write)
    return path


def reference_outputs(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """What the graph must reproduce: ``model(x)`` and, when it has them, its features."""
    model.eval()
    with torch.no_grad():
        output = first_output(model(x))
        features = getattr(model, "features", None)
        if callable(features):
            return output, features(x).reshape(len(x), -1)
        return (output,)


def check_onnx(path: str | Path, model: nn.Module, loaded: LoadedModel) -> float:
    """Largest absolute difference between onnxruntime and ``model``; raises above 1e-5."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch_size in (1, 7):  # 7: not the export's example size, so the axis is truly dynamic
        x = example_input(loaded, batch_size, seed=batch_size)
        expected = reference_outputs(model, x)
        actual = session.run(None, {INPUT_NAME: x.numpy()})
        for want, got in zip(expected, actual, strict=True):
            worst = max(worst, float(np.abs(want.numpy() - got).max()))
    if worst > TOLERANCE:
        raise ProfondError(
            f"the ONNX export disagrees with PyTorch by {worst:.2e} (tolerance {TOLERANCE:g}); "
            "the model uses an operation the exporter does not translate faithfully"
        )
    return worst
