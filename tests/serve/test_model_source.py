"""A served model read from a tracked run, the way `profond serve RUN_ID` does."""

from __future__ import annotations

import pytest

from profond.errors import ProfondError
from profond.serve.config import ModelSource


def test_a_run_id_loads_the_runs_saved_model(model_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PROFOND_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from profond.track.runs import MODEL_ARTIFACT
    from profond.track.store import client, ensure_experiment

    experiment = ensure_experiment()
    run = client().create_run(experiment)
    client().log_artifacts(run.info.run_id, str(model_dir), MODEL_ARTIFACT)
    client().set_terminated(run.info.run_id)

    loaded = ModelSource(run_id=run.info.run_id).load()
    assert loaded.card.family == "mlp" and loaded.run_id == run.info.run_id
    assert loaded.drift_reference is not None
    with pytest.raises(ProfondError, match="no run with id"):
        ModelSource(run_id="0" * 32).load()
    with pytest.raises(ProfondError, match="models:/NAME/VERSION"):
        ModelSource(model_uri="s3://bucket/model").load()
