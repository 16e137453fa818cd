"""``profond compress``: new runs linked to the parent, usable by predict; bad input, one error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from profond.cli import main
from profond.track.store import client
from tracked_runs import store_with_runs


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    return store_with_runs(tmp_path_factory.mktemp("store"), teacher={},
                           student={"channels": "4,8", "hidden_size": 8, "epochs": 1})  # fmt: skip


def run_count(uri: str) -> int:
    mlflow_client = client(uri)
    ids = [e.experiment_id for e in mlflow_client.search_experiments()]
    return len(mlflow_client.search_runs(ids))


def test_int8_and_pruning_make_linked_runs_that_predict(store, capsys, tmp_path) -> None:
    uri, ids = store
    parent = ids["teacher"]
    argv = ["compress", parent, "--int8", "dynamic,static,dynamic", "--prune", "0.5",
            "--repeats", "2", "--tracking-uri", uri, "--json"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["parent_run"] == parent
    names = [row["name"] for row in result["rows"]]
    assert names == ["parent", "int8-dynamic", "int8-static", "prune-unstructured-50%"]
    rows = {row["name"]: row for row in result["rows"]}
    assert rows["int8-static"]["size_ratio"] > 1.2
    assert rows["prune-unstructured-50%"]["nonzero_parameters"] < rows["parent"]["parameters"]
    assert abs(rows["int8-static"]["accuracy_change_points"]) < 5
    for key in ("torch_b1_ms", "torch_b64_ms", "onnx_b1_ms", "onnx_b64_ms"):
        assert rows["parent"][key] > 0
    sample = tmp_path / "x.npy"
    np.save(sample, np.random.default_rng(0).uniform(0, 16, (8, 8)).astype(np.float32))
    for name, run_id in result["runs"].items():
        run = client(uri).get_run(run_id)
        assert run.data.tags["profond.parent_run"] == parent
        assert run.data.tags["profond.compression"] == name
        assert main(["predict", run_id, str(sample), "--tracking-uri", uri, "--json"]) == 0
        predictions = json.loads(capsys.readouterr().out)
        assert len(predictions[0]["probabilities"]) == 10


def test_distillation_trains_a_fresh_student_and_shows_the_teacher(store, capsys) -> None:
    uri, ids = store
    argv = ["compress", ids["student"], "--distill-from", ids["teacher"], "--epochs", "1",
            "--repeats", "2", "--tracking-uri", uri]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "teacher" in out and "distilled" in out and "distilled: run " in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "nothing to do"),
        (["--int8", "int4"], "unknown int8 mode"),
        (["--prune", "1.5"], "fraction"),
        (["--prune", "half"], "--prune expects a float"),
        (["--distill-from", "x", "--alpha", "2"], "--alpha"),
        (["--int8", "static", "--repeats", "0"], "repeats"),
    ],
)
def test_bad_options_are_one_error_line_and_create_no_run(store, capsys, extra, message) -> None:
    uri, ids = store
    before = run_count(uri)
    assert main(["compress", ids["teacher"], *extra, "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert run_count(uri) == before


def test_unknown_run_is_one_error_line(store, capsys) -> None:
    uri, _ = store
    assert main(["compress", "0123456789abcdef0123456789abcdef", "--int8", "dynamic",
                 "--tracking-uri", uri]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


def test_an_int8_run_serves(store, capsys) -> None:
    from fastapi.testclient import TestClient

    from profond.serve.app import create_app
    from profond.serve.config import ModelSource, ServeConfig

    uri, ids = store
    argv = ["compress", ids["teacher"], "--int8", "static", "--repeats", "1",
            "--tracking-uri", uri, "--json"]  # fmt: skip
    assert main(argv) == 0
    run_id = json.loads(capsys.readouterr().out)["runs"]["int8-static"]
    config = ServeConfig(source=ModelSource(run_id=run_id, tracking_uri=uri), micro_batching=False)
    raw = np.random.default_rng(1).uniform(0, 16, (3, 64)).tolist()
    with TestClient(create_app(config)) as http:
        response = http.post("/v1/predict", json={"instances": raw})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 3 and len(predictions[0]["probabilities"]) == 10
