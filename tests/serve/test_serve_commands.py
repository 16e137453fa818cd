"""`profond serve` as a user runs it: arguments become a ServeConfig; several workers share
their metrics."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from serving_helpers import free_port

from profond.cli import main
from profond.serve.commands import add_serve_parser, config_from_args


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_arguments_become_the_config() -> None:
    args = _parse(
        ["run123", "--port", "9001", "--runtime", "onnx", "--max-batch", "16", "--no-batching"]
        + ["--max-wait-ms", "0.5", "--token", "long-enough", "--workers", "2"]
    )
    config = config_from_args(args)
    assert config.source.run_id == "run123" and config.port == 9001
    assert config.runtime == "onnx" and config.max_batch == 16 and not config.micro_batching
    assert config.max_wait_ms == 0.5 and config.token == "long-enough" and config.workers == 2


def test_user_errors_exit_2_with_one_line(tmp_path, capsys) -> None:
    assert main(["serve", "--model-dir", str(tmp_path), "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no saved model") and err.count("\n") == 1
    assert main(["serve", "--port", "1"]) == 2
    assert "exactly one model source" in capsys.readouterr().err


@pytest.mark.slow
def test_two_workers_serve_and_merge_their_metrics(model_dir, tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "profond", "serve", "--model-dir", str(model_dir)]
    process = subprocess.Popen([*command, "--port", str(port), "--workers", "2"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
        body = {"instances": [[0.0] * 64]}
        for _ in range(40):  # new connections: the kernel spreads them over both workers
            assert httpx.post(f"{url}/v1/predict", json=body).status_code == 200
        text = httpx.get(f"{url}/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        total = sum(
            s.value
            for s in families["profond_http_requests"].samples
            if s.labels.get("route") == "/v1/predict" and s.name.endswith("_total")
        )
        assert total == 40  # merged over the workers, whichever answered the scrape
        writers = {path.stem.rsplit("_", 1)[-1] for path in tmp_path.glob("counter_*.db")}
        assert len(writers) == 2  # one file per worker process, merged by /metrics
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_logs_a_banner_and_one_line_per_request(model_dir) -> None:
    port = free_port()
    command = [sys.executable, "-m", "profond", "serve", "--model-dir", str(model_dir)]
    process = subprocess.Popen(
        [*command, "--port", str(port)], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.2)
        assert httpx.post(f"{url}/v1/predict", json={"instances": [[0.0] * 64]}).status_code == 200
        docs = httpx.get(f"{url}/docs")
        assert docs.status_code == 200 and "cdn" not in docs.text  # assets served locally
        asset = httpx.get(f"{url}/docs-assets/swagger-ui-bundle.js")
        assert asset.status_code == 200 and len(asset.content) > 100_000
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert f"profond serve: http://127.0.0.1:{port}" in err
    assert "model mlp (classification)" in err and "runtime torch" in err
    assert "micro-batching up to 64 rows" in err
    assert '"POST /v1/predict HTTP/1.1" 200' in out  # uvicorn's access line (its stdout)
