"""The MLflow-format model: a ``mlflow.pyfunc`` model that includes profond's preprocessing.

``mlflow.pyfunc.load_model(uri).predict(raw)`` and ``mlflow models serve`` answer exactly what
``profond serve`` answers for the same raw inputs (pixels 0..255, series values, texts): the
model is profond's saved folder (``model.json`` + ``weights.pt``) run by
:class:`~profond.inference.predictor.Predictor`, and profond's code travels with it.

Accepted inputs: a NumPy array or a list of raw rows (each flat or nested to the input shape),
a pandas DataFrame of flat rows, or, for text models, a list of texts, a Series of texts or a
DataFrame with a ``text`` column. The answer is a DataFrame, one row per input, with the
columns of the task's formatted prediction (``class``, ``label``, ``probabilities`` for a
classifier; ``forecast``, ``horizon``, ``unit`` for a forecaster; ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

# imported by name: mypy sees the attribute mlflow.pyfunc as mlflow's lazy loader
from mlflow.pyfunc import PythonModel

ARTIFACT = "profond_model"  # the saved-model folder inside the MLflow model
MAX_ROWS = 1_000_000  # one predict call; a larger job belongs in several calls
REQUIREMENTS = ["torch", "numpy", "pandas", "pillow", "scipy", "mlflow"]


class ProfondPyfunc(PythonModel):
    """profond's preprocessing, model and formatter behind MLflow's pyfunc interface."""

    def load_context(self, context: Any) -> None:
        from profond.inference.predictor import Predictor
        from profond.models.saved import load_model

        self.predictor = Predictor(load_model(context.artifacts[ARTIFACT]))

    # model_input is typed as a DataFrame, a type MLflow infers no schema from: it then neither
    # validates nor converts the input (profond validates raw input itself, in one place with
    # one error type) and does not warn, at every logging, that the hint is missing.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> Any:
        """Formatted predictions of raw inputs, one row per input (see the module docstring)."""
        predictor = self.predictor
        if predictor.input_kind == "text":
            x = predictor.prepare_texts(_texts(model_input), MAX_ROWS)
        else:
            rows = model_input.to_numpy() if hasattr(model_input, "to_numpy") else model_input
            x = predictor.prepare_rows(_as_list(rows), MAX_ROWS)
        return pd.DataFrame(predictor.predict(x))


def _as_list(rows: Any) -> Any:
    import numpy as np

    if isinstance(rows, np.ndarray):
        return rows.tolist() if rows.dtype.kind not in "iuf" else list(rows)
    return rows


def _texts(model_input: Any) -> list[str]:
    if hasattr(model_input, "columns"):  # a DataFrame: its "text" column, or its only column
        column = "text" if "text" in model_input.columns else model_input.columns[0]
        model_input = model_input[column]
    if hasattr(model_input, "tolist"):
        model_input = model_input.tolist()
    if isinstance(model_input, str):
        model_input = [model_input]
    return list(model_input)


def _model_code() -> str:
    return str(Path(__file__).with_name("pyfunc_model.py"))


def _code_paths() -> list[str]:
    import profond

    return [str(Path(profond.__file__).parent)]


def save_pyfunc_model(model_folder: str | Path, path: str | Path) -> Path:
    """Write the MLflow model of profond's saved ``model_folder`` into the new folder ``path``."""
    mlflow.pyfunc.save_model(
        path=str(path),
        python_model=_model_code(),
        artifacts={ARTIFACT: str(model_folder)},
        code_paths=_code_paths(),
        pip_requirements=REQUIREMENTS,
    )
    return Path(path)


def log_pyfunc_model(
    model_folder: str | Path, name: str = "model", registered_model_name: str | None = None
) -> Any:
    """Log the MLflow model of ``model_folder`` to the active MLflow run (as artifact ``name``).

    Called by the run pipeline after profond's own model is saved; ``registered_model_name``
    also registers it (the registry version then points at this pyfunc copy).

    Returns:
        MLflow's ``ModelInfo`` of the logged model.
    """
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=_model_code(),
        artifacts={ARTIFACT: str(model_folder)},
        code_paths=_code_paths(),
        pip_requirements=REQUIREMENTS,
        registered_model_name=registered_model_name,
    )
