"""The pyfunc model as the run pipeline logs it: logged to a run, registered, loaded back by
MLflow's URI forms, answering raw inputs like the server."""

from __future__ import annotations

from pathlib import Path

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from profond.inference.errors import InputError
from profond.inference.predictor import Predictor
from profond.inference.pyfunc import log_pyfunc_model
from profond.models.saved import load_model


def test_a_logged_and_registered_pyfunc_answers_raw_inputs(
    model_dir: Path, digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("pyfunc", artifact_location=str(tmp_path / "artifacts"))
    with mlflow.start_run(experiment_id=experiment) as run:
        info = log_pyfunc_model(model_dir, registered_model_name="digits")
    assert info.run_id == run.info.run_id
    raw = digits["x_test"][:20]  # raw 0..16 pixels, (20, 8, 8)
    predictor = Predictor(load_model(model_dir))
    want = predictor.predict(predictor.prepare_rows(raw.tolist(), 20))
    for uri in (f"runs:/{run.info.run_id}/model", "models:/digits/1"):
        model = mlflow.pyfunc.load_model(uri)
        assert model.predict(raw).to_dict(orient="records") == want
        flat = pd.DataFrame(raw.reshape(20, 64))  # a DataFrame of flat rows, as MLflow serves
        assert model.predict(flat).to_dict(orient="records") == want
    with pytest.raises(InputError, match="63"):
        model.predict(np.zeros((1, 63)))  # profond's own one-line refusal
