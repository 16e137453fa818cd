import json
import os
import subprocess
import sys

from rich.console import Console

from profond.labs.commands import run_lab


def profond(*args, home):
    return subprocess.run(
        [sys.executable, "-m", "profond", "lab", *args],
        capture_output=True,
        text=True,
        env={
            "PROFOND_HOME": str(home),
            "PATH": "/usr/bin:/bin",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
        timeout=120,
    )


def test_list_json_in_a_fresh_process(tmp_path):
    listed = profond("list", "--json", home=tmp_path)
    assert listed.returncode == 0
    labs = {lab["name"]: lab for lab in json.loads(listed.stdout)}
    assert {"activation_gradients", "adam_vs_sgd"} <= set(labs)
    assert labs["activation_gradients"]["claims"][0]["id"] == "sigmoid_vanishes"


def lab_cli(*args):
    from profond.cli import main

    return main(["lab", *args])


def test_bad_input_gets_one_clear_error_and_loses_nothing(tmp_path, capsys):
    assert lab_cli("run", "nope") == 2
    assert "error: unknown lab 'nope'" in capsys.readouterr().err
    assert lab_cli("run") == 2
    assert "error: give a lab name or --all" in capsys.readouterr().err
    assert lab_cli("report") == 2
    assert "error: no lab results" in capsys.readouterr().err
    assert lab_cli("run", "adam_vs_sgd", "--seeds", "0") == 2
    assert "at least 1" in capsys.readouterr().err
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.json").write_text("{}")
    assert lab_cli("run", "adam_vs_sgd", "--out", str(tmp_path / "out")) == 2
    assert "already holds results.json" in capsys.readouterr().err
    assert (tmp_path / "out" / "results.json").read_text() == "{}"


def test_a_lab_run_is_an_mlflow_run_with_verdict_tags(tmp_path):
    from profond.track.store import client

    result = run_lab("backprop_worked_example", tmp_path / "run", 0, Console(quiet=True), seeds=2)
    assert result.run_id is not None
    run = client().get_run(result.run_id)
    for verdict in result.verdicts:
        assert run.data.tags[f"verdict.{verdict.claim.id}"] == verdict.status
    assert run.data.params["mode"] == "fast" and run.data.params["seed_list"] == "0,1"
    assert run.data.metrics["backprop_is_chain_rule.max_relative_error.1"] == verdict_number(result)
    artifacts = [a.path for a in client().list_artifacts(result.run_id, "figures")]
    assert artifacts == ["figures/backprop_checks.png"]
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    assert doc["mlflow_run_id"] == result.run_id and doc["seeds"] == [0, 1]


def verdict_number(result):
    return result.verdicts[1].measured["max_relative_error"][1]
