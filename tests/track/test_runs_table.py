"""``profond runs``: full ids at any width, the run name, stale RUNNING runs, --out."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from profond.cli import main
from profond.commands.runs import layout
from profond.track.runs import list_runs
from profond.track.tracker import MLflowTracker


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store for the module (opening a new SQLite store costs seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('table') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def two_runs(uri: str) -> list[str]:
    first = MLflowTracker(uri, run_name="first-try", tags={"profond.model": "mlp"})
    first.log_metrics({"test_accuracy": 0.91})
    first.finish()
    gone = MLflowTracker(
        uri,
        run_name="killed",
        tags={"profond.pid": str(_dead_pid()), "profond.host": socket.gethostname()},
    )
    return [first.run_id, gone.run_id]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("columns", ["80", "40", "200"])
def test_full_ids_and_names_at_any_width(two_runs, uri, columns, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["runs", "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    for run_id in two_runs:
        assert run_id in out
    lines = out.splitlines()
    assert lines[1].split()[:2] == ["run", "id"]
    if columns != "40":
        assert "killed" in out and "first-try" in out
    if columns == "80":
        assert all(len(line) <= 80 for line in lines)


def test_a_running_run_whose_process_is_gone_is_stale(two_runs, uri, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    rows = {r["run_id"]: r for r in list_runs(uri)}
    assert rows[two_runs[1]]["status"] == "RUNNING" and rows[two_runs[1]]["stale"] is True
    assert rows[two_runs[0]]["stale"] is False
    assert rows[two_runs[0]]["main_metric"] == "test_accuracy"
    main(["runs", "--tracking-uri", uri])
    line = next(x for x in capsys.readouterr().out.splitlines() if two_runs[1] in x)
    assert "RUNNING (stale)" in line


def test_a_live_process_is_not_stale(uri):
    alive = MLflowTracker(uri, tags={"profond.pid": "1", "profond.host": socket.gethostname()})
    assert next(r for r in list_runs(uri) if r["run_id"] == alive.run_id)["stale"] is False


def test_out_writes_the_runs_and_says_where(two_runs, uri, tmp_path, capsys):
    target = tmp_path / "runs.json"
    assert main(["runs", "--out", str(target), "--tracking-uri", uri]) == 0
    assert f"wrote {target}" in capsys.readouterr().err
    assert set(two_runs) <= {r["run_id"] for r in json.loads(target.read_text())}


def test_layout_drops_columns_not_ids():
    row = {c: "x" * 10 for c in ("name", "status", "model", "data", "main metric", "time (s)",
                                 "started", "engine", "experiment")}  # fmt: skip
    row["run id"] = "f" * 32
    lines = layout([row], 20)
    assert lines[1] == "f" * 32  # wider than 20: kept whole, alone
    assert len(layout([row], None)[1].split()) == 10
