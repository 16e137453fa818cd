"""Every way to name a run resolves to its full id; anything else is one clear error."""

from __future__ import annotations

import pytest

from profond.errors import ProfondError
from profond.track.resolve import resolve_run
from profond.track.store import client
from profond.track.tracker import MLflowTracker


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store for the module (opening a new SQLite store costs seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('resolve') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def runs(uri: str) -> dict[str, str]:
    made = {}
    for name in ("alpha", "beta", "twin", "twin"):
        tracker = MLflowTracker(uri, run_name=name)
        tracker.finish()
        made[name if name not in made else "twin2"] = tracker.run_id
    return made


def _register(uri: str, run_id: str, name: str) -> str:
    """A registered model version pointing at ``run_id`` (no model file needed)."""
    mlflow_client = client(uri)
    if not mlflow_client.search_registered_models(f"name = '{name}'"):
        mlflow_client.create_registered_model(name)
    version = mlflow_client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    return version.version


def test_full_id_prefix_and_name(runs, uri):
    alpha = runs["alpha"]
    assert resolve_run(alpha, uri) == alpha
    assert resolve_run(alpha.upper(), uri) == alpha
    assert resolve_run(alpha[:8], uri) == alpha
    assert resolve_run("alpha", uri) == alpha
    assert resolve_run(f"runs:/{alpha}/profond_model", uri) == alpha


def test_registry_uris_in_mlflow_forms(runs, uri):
    first = _register(uri, runs["alpha"], "digits-mlp")
    second = _register(uri, runs["beta"], "digits-mlp")
    client(uri).set_registered_model_alias("digits-mlp", "champion", first)
    assert resolve_run(f"models:/digits-mlp/{first}", uri) == runs["alpha"]
    assert resolve_run(f"models:/digits-mlp/{second}", uri) == runs["beta"]
    assert resolve_run("models:/digits-mlp@champion", uri) == runs["alpha"]
    assert resolve_run("models:/digits-mlp/latest", uri) == runs["beta"]


def test_a_stage_resolves_through_mlflow(runs, uri):
    version = _register(uri, runs["beta"], "staged")
    with pytest.warns(Warning):  # stages are deprecated in MLflow 3, still answered
        client(uri).transition_model_version_stage("staged", version, "Production")
    assert resolve_run("models:/staged/Production", uri) == runs["beta"]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("0123456789abcdef0123456789abcdef", "no run with id or name"),
        ("nobody", "no run with id or name 'nobody'"),
        ("twin", "run name 'twin' is ambiguous: 2 runs"),
        ("", "empty run reference"),
        ("models:/ghost/1", "no registered model version models:/ghost/1"),
        ("models:/ghost@champion", "no registered model version"),
        ("models:/digits-mlp@nobody", "no registered model version"),
        ("runs:/", "runs:/"),
    ],
)
def test_bad_references_are_one_line(runs, uri, ref, message):
    if ref.startswith("models:/digits-mlp"):
        _register(uri, runs["alpha"], "digits-mlp")
    with pytest.raises(ProfondError) as caught:
        resolve_run(ref, uri)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_ambiguous_prefix_lists_the_ids(runs, uri, monkeypatch):
    """Two ids sharing a prefix: both are named. MLflow's ids are random, so the store is
    made to return two runs of the same 6-character prefix."""
    import profond.track.resolve as resolve

    alpha, beta = runs["alpha"], runs["beta"]
    real = resolve._search

    def same_prefix(mlflow_client, filter_string):
        found = real(mlflow_client, filter_string)
        for run in found:
            if run.info.run_id == beta:
                run.info._run_id = alpha[:6] + beta[6:]
        return found

    monkeypatch.setattr(resolve, "_search", same_prefix)
    with pytest.raises(ProfondError, match="is ambiguous") as caught:
        resolve_run(alpha[:6], uri)
    assert alpha in str(caught.value) and alpha[:6] + beta[6:] in str(caught.value)
