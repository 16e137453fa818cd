"""``benchmarks/serve_faults.py`` in small: good requests interleaved with every malformed kind
and slow clients lose nothing, get no 5xx and break no connection; slow clients are cut off."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from serving_helpers import make_config, running_server

ROOT = Path(__file__).parents[2]


def load_benchmark():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "serve_faults", ROOT / "benchmarks" / "serve_faults.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["serve_faults"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _check(figures: dict, kinds: int, slow: int, timeout: float) -> None:
    assert figures["good_lost"] == 0, figures
    assert figures["server_errors_5xx"] == 0, figures
    assert figures["bad_not_4xx"] == {}, figures["bad_not_4xx"]
    assert figures["bad_kinds"] == kinds >= 40
    assert figures["broken_by_bad"] == 0 and figures["next_request_failed"] == 0, figures
    assert figures["slow_completed"] == 0
    assert figures["slow_408"] + figures["slow_closed"] >= slow // 2  # header tricklers at least
    assert figures["slow_longest_s"] < timeout + 3


def test_hostile_requests_and_slow_clients_lose_nothing(model_dir, loaded, digits) -> None:
    bench = load_benchmark()
    timeout = 0.5
    # Bodies have longer: a refused 8 MB body must be dropped in time even on a busy machine.
    config = make_config(model_dir, timeout_headers=timeout, timeout_body=4 * timeout)
    rows = digits["x_test"].reshape(len(digits["x_test"]), -1)
    with torch.no_grad():
        x = loaded.preprocessing.apply(torch.from_numpy(rows)).reshape(-1, 1, 8, 8)
        expected = loaded.model(x).argmax(1).numpy()
    kinds = bench.bad_requests(config.max_body_bytes, config.max_instances)
    args = bench.parse_args(["--good", "150", "--slow", "10", "--bad-every", "1"])
    args.concurrency, args.pace = 4, 0.1
    with running_server(config, loaded) as url:
        port = int(url.rsplit(":", 1)[1])
        tally = asyncio.run(bench.phase(port, bench.good_requests(rows), expected, args, kinds))
    figures = bench.summary(tally)
    print(figures)
    _check(figures, len(kinds), 10, 4 * timeout)
    assert np.isfinite(figures["p99_ms"])


@pytest.mark.slow
def test_serve_faults_benchmark_meets_its_bars() -> None:
    bench = load_benchmark()
    args = bench.parse_args(["--good", "3000", "--slow", "200", "--timeout", "1"])
    result = bench.run(args)
    bench.report(result, args)
    _check(result["hostile"], result["kinds"], 200, 1.0)
    assert result["alone"]["good_lost"] == 0 and result["server_alive"]
    assert result["rss_growth_mb"] < 50
    assert result["p99_ratio"] <= 3
