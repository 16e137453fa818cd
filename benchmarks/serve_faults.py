"""Hostile load on ``profond serve``: good requests interleaved with malformed ones and slow
clients, against the same load without them.

A digits MLP (64 → 32 → 10, trained for 200 steps on scikit-learn's digits) is served by a real
``profond serve`` (uvicorn, one worker, loopback only) in its own process. Two phases, each of
``--good`` good requests (one digit each, its predicted class checked) on ``--concurrency``
keep-alive connections:

* ``alone``: the good requests only;
* ``hostile``: the same, with one malformed request of 44 kinds (see ``serve_faults_requests``:
  a 20000×20000 PNG, JSON nested 100 000 deep, 8 MB bodies, 10 000 instances, booleans, NaN,
  wrong shapes and content types, truncated multipart, bad HTTP…) every ``--bad-every`` good
  ones, each followed by a good request on the same connection, while ``--slow`` slow clients
  (half trickling headers, half bodies) reconnect as soon as they are cut off.

Printed side by side: good requests lost, 5xx answers, connections broken after a bad request,
how slow clients ended, the server's RSS growth, and the good requests' p99 in both phases with
its ratio (goal ≤ 3). Bounded in count and time (``--max-seconds``); stops by itself.

Usage::

    python benchmarks/serve_faults.py [--good 10000] [--slow 200] [--bad-every 4]
                                      [--concurrency 8] [--timeout 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from serve_faults_requests import (  # noqa: E402
    Bad,
    Connection,
    ConnectionBroken,
    SlowStats,
    bad_requests,
    post,
    slow_client,
)

from profond.data.preprocess import Preprocessing  # noqa: E402
from profond.models import build_model  # noqa: E402
from profond.models.saved import ModelCard, save_model  # noqa: E402

MAX_BODY = 8 * 1024 * 1024  # the server's default limit
MAX_INSTANCES = 256


def digits_model(folder: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Train and save the MLP; returns its folder, test rows (N, 64) in raw units 0..16 and the
    class the model predicts for each (N,)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = data.images.astype(np.float32)
    torch.manual_seed(0)
    config = {"in_features": 64, "num_classes": 10, "hidden_sizes": [32]}
    model = build_model("mlp", config)
    preprocessing = Preprocessing(raw_max=16)
    x = preprocessing.apply(torch.from_numpy(images)).reshape(-1, 1, 8, 8)
    y = torch.from_numpy(data.target).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        index = torch.randint(0, len(x), (64,), generator=generator)
        loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        expected = model(x[:500]).argmax(1).numpy()
    card = ModelCard(
        family="mlp",
        task="classification",
        data="digits",
        config=config,
        input_shape=[1, 8, 8],
        classes=[str(i) for i in range(10)],
        preprocessing=preprocessing.to_dict(),
        run_id="benchmark",
    )
    save_model(folder, model, card)
    return folder, images[:500].reshape(500, 64), expected


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model_dir: Path, home: Path, timeout: float) -> tuple[subprocess.Popen, int]:
    """``profond serve`` on a free loopback port, once ``/ready`` answers 200."""
    port = free_port()
    command = [sys.executable, "-m", "profond", "serve", "--model-dir", str(model_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--no-access-log", "--max-instances", str(MAX_INSTANCES)]
    command += ["--max-body-bytes", str(MAX_BODY)]
    command += ["--timeout-headers", str(timeout), "--timeout-body", str(timeout)]
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"PROFOND_HOME": str(home), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in sock.recv(1024):
                    return process, port
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@dataclass
class Tally:
    """What one phase saw."""

    good_total: int
    good_done: int = 0
    good_lost: int = 0
    latencies: list[float] = field(default_factory=list)
    server_errors: int = 0  # 5xx answers, to any request
    bad_sent: int = 0
    bad_statuses: dict[str, collections.Counter] = field(default_factory=dict)
    broken_by_bad: int = 0  # a connection reset or closed when the server should have kept it
    next_failed: int = 0  # the good request after a bad one, on the same connection, failed
    slow: SlowStats = field(default_factory=SlowStats)


def good_requests(rows: np.ndarray) -> list[bytes]:
    return [post("/v1/predict", json.dumps({"instances": [r.tolist()]}).encode()) for r in rows]


def is_right(status: int, body: bytes, expected: int) -> bool:
    if status != 200:
        return False
    return str(json.loads(body)["predictions"][0]["class"]) == str(expected)


async def good_worker(port: int, requests: list[bytes], expected: np.ndarray, tally: Tally) -> None:
    connection = Connection(port)
    while tally.good_done < tally.good_total:
        i = tally.good_done
        tally.good_done += 1
        start = time.perf_counter()
        try:
            status, body, _ = await connection.exchange(requests[i % len(requests)])
        except ConnectionBroken:
            tally.good_lost += 1
            continue
        tally.latencies.append(time.perf_counter() - start)
        tally.server_errors += status >= 500
        tally.good_lost += not is_right(status, body, int(expected[i % len(expected)]))
    connection.close()


async def bad_worker(port: int, kinds: list[Bad], follow: tuple[bytes, int], every: int,
                     shared: list[int], tally: Tally) -> None:  # fmt: skip
    """Send bad requests in turn, the k-th once ``k * every`` good ones are done, each followed
    by a good request on the same connection when the server kept it open."""
    connection = Connection(port)
    while (k := shared[0]) * every < tally.good_total:
        shared[0] += 1
        while tally.good_done < k * every:
            await asyncio.sleep(0.001)
        kind = kinds[k % len(kinds)]
        tally.bad_sent += 1
        counts = tally.bad_statuses.setdefault(kind.name, collections.Counter())
        try:
            status, _, closed = await connection.exchange(kind.raw)
        except ConnectionBroken:
            # A request the server cannot parse may be answered by a close (and a reset when
            # the client is still sending): expected there, a failure anywhere else.
            counts["closed" if kind.closes else "broken"] += 1
            tally.broken_by_bad += not kind.closes
            continue
        counts[status] += 1
        tally.server_errors += status >= 500
        if closed:
            continue
        try:
            status, body, _ = await connection.exchange(follow[0])
            tally.next_failed += not is_right(status, body, follow[1])
            tally.server_errors += status >= 500
        except ConnectionBroken:
            tally.next_failed += 1
    connection.close()


async def phase(port: int, good: list[bytes], expected: np.ndarray, args: argparse.Namespace,
                kinds: list[Bad] | None) -> Tally:  # fmt: skip
    """One phase: good requests, plus bad ones and slow clients when ``kinds`` is given."""
    tally = Tally(good_total=args.good)
    stop = asyncio.Event()
    workers = [good_worker(port, good, expected, tally) for _ in range(args.concurrency)]
    slow = []
    if kinds:
        shared = [0]
        follow = (good[0], int(expected[0]))
        workers += [
            bad_worker(port, kinds, follow, args.bad_every, shared, tally) for _ in range(2)
        ]
        slow = [
            asyncio.ensure_future(
                slow_client(port, good[i % len(good)], i % 2 == 1, args.pace, stop, tally.slow)
            )
            for i in range(args.slow)
        ]
    try:
        await asyncio.gather(*workers)
    finally:
        stop.set()
        if slow:
            await asyncio.wait(slow, timeout=10)
    return tally


def summary(tally: Tally) -> dict:
    ms = np.array(tally.latencies) * 1000
    return {
        "good": tally.good_total,
        "good_lost": tally.good_lost,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "server_errors_5xx": tally.server_errors,
        "bad_sent": tally.bad_sent,
        "bad_kinds": len(tally.bad_statuses),
        "bad_not_4xx": {
            name: dict(c)
            for name, c in tally.bad_statuses.items()
            if any(s != "closed" and not (isinstance(s, int) and 400 <= s < 500) for s in c)
        },  # fmt: skip
        "broken_by_bad": tally.broken_by_bad,
        "next_request_failed": tally.next_failed,
        "slow_408": tally.slow.answered_408,
        "slow_closed": tally.slow.closed,
        "slow_completed": tally.slow.completed,
        "slow_longest_s": tally.slow.longest_s,
    }


def run(args: argparse.Namespace) -> dict:
    """Both phases against one server; the figures as a dict."""
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, rows, expected = digits_model(Path(tmp) / "model")
        good = good_requests(rows)
        kinds = bad_requests(MAX_BODY, MAX_INSTANCES)
        process, port = start_server(model_dir, Path(tmp), args.timeout)
        try:
            warm = argparse.Namespace(**{**vars(args), "good": 4 * len(kinds), "slow": 0})
            asyncio.run(phase(port, good, expected, warm, kinds))  # warm-up: every path once
            alone = summary(asyncio.run(phase(port, good, expected, args, None)))
            rss_before = rss_mb(process.pid)
            hostile_tally = asyncio.run(phase(port, good, expected, args, kinds))
            rss_after = rss_mb(process.pid)
            hostile = summary(hostile_tally)
            hostile["statuses"] = {n: dict(c) for n, c in hostile_tally.bad_statuses.items()}
            alive = process.poll() is None
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {
        "alone": alone,
        "hostile": hostile,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "rss_growth_mb": rss_after - rss_before,
        "p99_ratio": hostile["p99_ms"] / alone["p99_ms"],
        "server_alive": alive,
        "kinds": len(kinds),
    }


def report(result: dict, args: argparse.Namespace) -> None:
    alone, hostile = result["alone"], result["hostile"]
    print(f"{'phase':<8} {'good':>6} {'lost':>5} {'5xx':>4} {'p50_ms':>8} {'p99_ms':>8}")
    for name, row in (("alone", alone), ("hostile", hostile)):
        print(f"{name:<8} {row['good']:>6} {row['good_lost']:>5} {row['server_errors_5xx']:>4} "
              f"{row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}")  # fmt: skip
    print(f"bad requests: {hostile['bad_sent']} of {hostile['bad_kinds']} kinds, one per "
          f"{args.bad_every} good; not 4xx: {hostile['bad_not_4xx'] or 'none'}; connections "
          f"broken by them: {hostile['broken_by_bad']}; next request failed: "
          f"{hostile['next_request_failed']}")  # fmt: skip
    print(f"slow clients: {args.slow} at once, cut off {hostile['slow_408']} times with 408 and "
          f"{hostile['slow_closed']} closed, {hostile['slow_completed']} completed; longest "
          f"held {hostile['slow_longest_s']:.1f} s (deadline {args.timeout:g} s)")  # fmt: skip
    print(
        f"server RSS: {result['rss_before_mb']:.1f} MB -> {result['rss_after_mb']:.1f} MB "
        f"(growth {result['rss_growth_mb']:+.1f} MB, goal < 50); alive: {result['server_alive']}"
    )
    print(f"good p99 hostile / alone: {result['p99_ratio']:.2f}x (goal <= 3)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--good", type=int, default=10_000, help="good requests per phase")
    parser.add_argument("--slow", type=int, default=200, help="slow clients at once")
    parser.add_argument("--bad-every", type=int, default=4, help="one bad request per N good")
    parser.add_argument("--concurrency", type=int, default=8, help="good connections")
    parser.add_argument("--timeout", type=float, default=2.0, help="server header/body deadline")
    parser.add_argument("--pace", type=float, default=0.5, help="seconds between slow bytes")
    parser.add_argument("--max-seconds", type=float, default=900, help="stop after this long")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def _out_of_time(signum: int, frame: object) -> None:
    raise TimeoutError("the benchmark ran past --max-seconds")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(int(args.max_seconds))  # a hung phase ends the run, its server stopped
    result = run(args)
    report(result, args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
