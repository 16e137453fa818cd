"""Load test of the prediction API on loopback: latency and throughput, side by side.

The lab's MLP (784 → Dense(128, relu) → Dropout(0.2) → Dense(10), random seeded weights:
latency does not depend on accuracy) is served by ``profond serve`` in its own process, one
uvicorn worker, for each runtime (torch, onnx) with micro-batching off and on. A closed-loop
client keeps 1, 8 then 64 keep-alive connections busy, each posting one Fashion-MNIST image
(raw 0..255 values, as JSON) per request. One line per configuration::

    runtime=torch batching=on  concurrency=64 requests=20000 p50_ms=... p99_ms=... rps=... errors=0
    server_cpu_us_per_req=...

then the throughput ratio of micro-batching at the highest concurrency. The client runs on the
same machine, so on a small or busy one ``server_cpu_us_per_req`` (the server's CPU time per
request) shows the server's own efficiency best.

Usage::

    python benchmarks/serve_load.py [--requests 20000] [--concurrency 1 8 64]
                                    [--runtimes torch onnx] [--max-wait-ms 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from profond.data.preprocess import Preprocessing
from profond.models import build_model
from profond.models.saved import ModelCard, save_model

FASHION_TEST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")


def lab_model(folder: Path) -> Path:
    """The lab's MLP with seeded random weights, saved as a served model."""
    torch.manual_seed(0)
    config = {"in_features": 784, "num_classes": 10, "hidden_sizes": [128], "dropout": 0.2}
    model = build_model("mlp", config)
    card = ModelCard(
        family="mlp",
        task="classification",
        data="fashion-mnist",
        config=config,
        input_shape=[1, 28, 28],
        classes=[str(i) for i in range(10)],
        preprocessing=Preprocessing(raw_max=255).to_dict(),
        run_id="benchmark",
    )
    return save_model(folder, model, card)


def request_bodies(count: int = 256) -> list[bytes]:
    """JSON bodies of one image each: Fashion-MNIST test images, or noise without the file."""
    if FASHION_TEST.is_file():
        raw = np.frombuffer(gzip.open(FASHION_TEST).read(), dtype=np.uint8, offset=16)
        images = raw.reshape(-1, 784)[:count]
    else:
        images = np.random.default_rng(0).integers(0, 256, (count, 784), dtype=np.uint8)
    return [json.dumps({"instances": [image.tolist()]}).encode() for image in images]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process: what a request costs the server, whatever the
    load of the machine (wall-clock figures depend on what else runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model_dir: Path, runtime: str, batching: bool, max_wait_ms: float) -> tuple:
    port = free_port()
    command = [sys.executable, "-m", "profond.serve.commands", "--model-dir", str(model_dir)]
    command += ["--port", str(port), "--runtime", runtime, "--max-wait-ms", str(max_wait_ms)]
    command += ["--max-batch", "64", "--threads", "1"]
    if not batching:
        command.append("--no-batching")
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in sock.recv(1024):
                    return process, port
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


async def _connection(
    port: int, bodies: list[bytes], count: int, offset: int, latencies: list[float]
) -> int:
    """One keep-alive connection posting ``count`` requests; returns its error count."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    errors = 0
    try:
        for i in range(count):
            body = bodies[(offset + i) % len(bodies)]
            head = (
                "POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            start = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if b" 200 " not in status_line or b'"predictions"' not in answer:
                errors += 1
    finally:
        writer.close()
    return errors


async def load(port: int, bodies: list[bytes], requests: int, concurrency: int) -> dict:
    latencies: list[float] = []
    share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    start = time.perf_counter()
    errors = await asyncio.gather(
        *(_connection(port, bodies, n, i * 7, latencies) for i, n in enumerate(share))
    )
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "requests": requests,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "rps": requests / elapsed,
        "errors": int(sum(errors)) + requests - len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests per configuration")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--runtimes", nargs="+", default=["torch", "onnx"])
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    bodies = request_bodies()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = lab_model(Path(tmp) / "model")
        for runtime in args.runtimes:
            for batching in (False, True):
                process, port = start_server(model_dir, runtime, batching, args.max_wait_ms)
                try:
                    asyncio.run(load(port, bodies, 200, 8))  # warm-up, not measured
                    for concurrency in args.concurrency:
                        cpu_before = cpu_seconds(process.pid)
                        row = asyncio.run(load(port, bodies, args.requests, concurrency))
                        cpu = cpu_seconds(process.pid) - cpu_before
                        row["server_cpu_us"] = cpu / args.requests * 1e6
                        row = {"runtime": runtime, "batching": "on" if batching else "off",
                               "concurrency": concurrency, **row}  # fmt: skip
                        results.append(row)
                        print(
                            f"runtime={runtime:<5} batching={row['batching']:<3} "
                            f"concurrency={concurrency:<3} requests={row['requests']} "
                            f"p50_ms={row['p50_ms']:.2f} p99_ms={row['p99_ms']:.2f} "
                            f"rps={row['rps']:.0f} errors={row['errors']} "
                            f"server_cpu_us_per_req={row['server_cpu_us']:.0f}",
                            flush=True,
                        )
                finally:
                    process.terminate()
                    process.wait(timeout=30)
    top = max(args.concurrency)
    for runtime in args.runtimes:
        rps = {
            r["batching"]: r["rps"]
            for r in results
            if r["runtime"] == runtime and r["concurrency"] == top
        }
        print(f"micro-batching throughput ratio at concurrency {top} ({runtime}): "
              f"{rps['on'] / rps['off']:.2f}x")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
