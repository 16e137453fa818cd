"""profond against a real MLflow tracking server on loopback, as a team would share one.

The server keeps runs in SQLite and artifacts in a local folder; the test trains, lists,
evaluates by registry alias and serves ``models:/NAME@champion``, all through HTTP.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MLFLOW = shutil.which("mlflow")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MLFLOW is None, reason="needs the mlflow command (pip install mlflow)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: the server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def _started(command: list[str], url: str, env: dict, log: Path) -> Iterator[None]:
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        _wait_http(url, 120, proc)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def tracking_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    command = [MLFLOW, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
               "--artifacts-destination", (tmp_path / "artifacts").as_uri()]  # fmt: skip
    with _started(command, f"{uri}/health", dict(os.environ), tmp_path / "server.log"):
        yield uri


def _profond(*args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "profond", *args], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_train_list_evaluate_serve_through_a_tracking_server(tracking_server, tmp_path):
    import httpx
    from mlflow.tracking import MlflowClient

    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_server, "OMP_NUM_THREADS": "1",
           "PROFOND_HOME": str(tmp_path / "home")}  # fmt: skip
    trained = _profond("train", "--epochs", "2", "--limit", "256", "--register-as", "digits-mlp",
                       "--run-name", "team-run", "--json", env=env)  # fmt: skip
    run_id = json.loads(trained.stdout)["run_id"]  # stdout is profond's JSON alone

    registry = MlflowClient(tracking_uri=tracking_server)
    version = registry.search_model_versions("name = 'digits-mlp'")[0]
    assert version.run_id == run_id
    registry.set_registered_model_alias("digits-mlp", "champion", version.version)

    runs = json.loads(_profond("runs", "--json", env=env).stdout)
    assert [r["name"] for r in runs if r["run_id"] == run_id] == ["team-run"]

    evaluated = json.loads(
        _profond("evaluate", "models:/digits-mlp@champion", "--json", env=env).stdout
    )
    assert evaluated["run_id"] == run_id
    assert evaluated["metrics"]["test_accuracy"] > 0.1

    port = _free_port()
    serve = [sys.executable, "-m", "profond", "serve", "--model-uri", "models:/digits-mlp@champion",
             "--port", str(port)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with _started(serve, f"{url}/ready", env, tmp_path / "serve.log"):
        from sklearn.datasets import load_digits

        digits = load_digits()
        answer = httpx.post(f"{url}/v1/predict", json={"instances": digits.data[:4].tolist()})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 4
