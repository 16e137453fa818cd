"""``profond predict``: a tracked run's predictions for files or texts."""

from __future__ import annotations

from typing import Any

from profond.inference.errors import InputError


def predict_run(run_ref: str, sources: list[str], uri: str | None = None) -> list[dict[str, Any]]:
    """Predictions of the run ``run_ref`` names, for each input (a file path, or a text).

    Args:
        run_ref: any reference :func:`profond.track.resolve.resolve_run` accepts.
        sources: image, ``.npy`` or ``.csv`` files, or texts for text models.
        uri: the MLflow tracking URI.

    Returns:
        One dict per prediction, ``{"input": source, **formatted prediction}``; the same
        formatted prediction the server answers for the same input.
    """
    from profond.inference.predictor import Predictor
    from profond.inference.source import ModelSource

    predictor = Predictor(ModelSource(run_id=run_ref, tracking_uri=uri).load())
    try:
        return predict_sources(predictor, sources)
    finally:
        predictor.close()


def predict_sources(predictor: Any, sources: list[str]) -> list[dict[str, Any]]:
    """Read, run and format each source with ``predictor`` (a :class:`Predictor`)."""
    out = []
    expected = tuple(predictor.input_shape)
    for source in sources:
        x = predictor.prepare_source(source)
        if tuple(x.shape[1:]) != expected:
            raise InputError(
                f"{source}: input of shape {list(x.shape[1:])}, the model expects {list(expected)}"
            )
        for prediction in predictor.predict(x):
            out.append({"input": source, **prediction})
    return out
