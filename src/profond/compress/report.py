"""What compression bought: size on disk, parameters, latency (torch and ONNX), accuracy.

:func:`measure` fills one :class:`Measurement` per model; :func:`comparison_rows` sets them side
by side against the parent; :func:`print_table` prints them as one table.

Latencies are medians over repeated calls after a warm-up, at batch 1 and 64, on the current
thread count: they depend on the machine and on its load, and only ratios measured in the same
process mean much.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

BATCHES = (1, 64)


@dataclass
class Measurement:
    """One model's figures. Latencies in milliseconds per batch; None: not measurable."""

    name: str
    size_bytes: int
    parameters: int
    nonzero_parameters: int
    accuracy: float
    torch_ms: dict[int, float]
    onnx_ms: dict[int, float | None]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_dict_bytes(model: nn.Module) -> int:
    """Size of ``torch.save(model.state_dict())`` on disk: what ``weights.pt`` weighs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.pt"
        torch.save(model.state_dict(), path)
        return path.stat().st_size


def _weight_tensors(model: nn.Module) -> list[torch.Tensor]:
    """Float parameters, plus the weights and biases packed inside quantized modules."""
    tensors = [p.detach() for p in model.parameters()]
    for module in model.modules():
        for name in ("weight", "bias"):
            getter = getattr(module, name, None)
            if callable(getter) and not isinstance(getter, nn.Module):
                value = getter()
                if isinstance(value, torch.Tensor):
                    tensors.append(value.dequantize() if value.is_quantized else value)
    return tensors


def parameter_counts(model: nn.Module) -> tuple[int, int]:
    """``(parameters, nonzero parameters)``, counting int8 weights of quantized layers too."""
    tensors = _weight_tensors(model)
    return sum(t.numel() for t in tensors), sum(int(torch.count_nonzero(t)) for t in tensors)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Top-1 accuracy on the CPU. Shapes: ``x`` ``(N, *input_shape)``, ``y`` ``(N,)``."""
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += int((model(x[i : i + batch_size]).argmax(dim=1) == y[i : i + batch_size]).sum())
    return correct / max(len(x), 1)


def median_ms(call: Callable[[], Any], repeats: int, warmup: int = 3) -> float:
    """Median wall time of ``call()`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def torch_latency(model: nn.Module, sample: torch.Tensor, repeats: int = 30) -> dict[int, float]:
    """Milliseconds per batch of 1 and of 64. ``sample``: ``(N, *input_shape)`` with N ≥ 1."""
    model.eval()
    out = {}
    with torch.inference_mode():
        for b in BATCHES:
            x = _batch(sample, b)
            out[b] = median_ms(partial(model, x), repeats if b == 1 else max(repeats // 3, 5))
    return out


def onnx_latency(path: Path | None, sample: torch.Tensor, repeats: int = 30) -> dict:
    """Milliseconds per batch of 1 and 64 with onnxruntime on the CPU; None without a graph."""
    if path is None:
        return {b: None for b in BATCHES}
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out: dict[int, float | None] = {}
    for b in BATCHES:
        x = _batch(sample, b).numpy()
        call = partial(session.run, None, {name: x})
        out[b] = median_ms(call, repeats if b == 1 else max(repeats // 3, 5))
    return out


def _batch(sample: torch.Tensor, size: int) -> torch.Tensor:
    """``size`` rows taken cyclically from ``sample``. Shape: ``(size, *sample.shape[1:])``."""
    index = torch.arange(size) % len(sample)
    return sample[index].contiguous()


def measure(
    name: str,
    model: nn.Module,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    onnx_path: Path | None = None,
    note: str = "",
    repeats: int = 30,
) -> Measurement:
    """Every figure of one model on the test split ``x_test`` ``(N, *)``, ``y_test`` ``(N,)``."""
    parameters, nonzero = parameter_counts(model)
    return Measurement(
        name=name,
        size_bytes=state_dict_bytes(model),
        parameters=parameters,
        nonzero_parameters=nonzero,
        accuracy=accuracy(model, x_test, y_test),
        torch_ms=torch_latency(model, x_test[:64], repeats),
        onnx_ms=onnx_latency(onnx_path, x_test[:64], repeats),
        note=note,
    )


def comparison_rows(parent: Measurement, others: list[Measurement]) -> list[dict[str, Any]]:
    """One JSON-ready row per model; ratios and the accuracy change are against ``parent``.

    ``size_ratio`` is parent size / this size (3.0: three times smaller); ``speedup_*`` is
    parent latency / this latency (above 1: faster); ``accuracy_change_points`` is in
    percentage points.
    """
    rows = []
    for m in [parent, *others]:
        row: dict[str, Any] = {
            "name": m.name,
            "size_kb": round(m.size_bytes / 1024, 1),
            "size_ratio": round(parent.size_bytes / m.size_bytes, 2),
            "parameters": m.parameters,
            "nonzero_parameters": m.nonzero_parameters,
            "accuracy": round(m.accuracy, 4),
            "accuracy_change_points": round(100 * (m.accuracy - parent.accuracy), 2),
            "note": m.note,
        }
        for engine, times, base in (
            ("torch", m.torch_ms, parent.torch_ms),
            ("onnx", m.onnx_ms, parent.onnx_ms),
        ):
            for b in BATCHES:
                value, ref = times.get(b), base.get(b)
                row[f"{engine}_b{b}_ms"] = None if value is None else round(value, 3)
                row[f"{engine}_b{b}_speedup"] = (
                    round(ref / value, 2) if value and ref is not None else None
                )
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]], title: str, stream: Any = None) -> None:
    """The rows of :func:`comparison_rows` as one table, models side by side."""
    from rich.console import Console
    from rich.table import Table

    def cell(value: Any, unit: str = "") -> str:
        if value is None:
            return "n/a"
        return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"

    table = Table(title=title)
    table.add_column("")
    for row in rows:
        table.add_column(row["name"], justify="right")
    lines: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("size on disk", lambda r: cell(r["size_kb"], " KB")),
        ("size ratio (parent/this)", lambda r: cell(r["size_ratio"], "x")),
        ("parameters", lambda r: cell(r["parameters"])),
        ("non-zero parameters", lambda r: cell(r["nonzero_parameters"])),
        ("accuracy", lambda r: cell(r["accuracy"])),
        ("accuracy change (points)", lambda r: cell(r["accuracy_change_points"])),
    ]
    for engine in ("torch", "onnx"):
        for b in BATCHES:
            latency = partial(_latency_cell, key=f"{engine}_b{b}")
            lines.append((f"{engine} latency, batch {b}", latency))
    for label, render in lines:
        table.add_row(label, *(render(r) for r in rows))
    notes = [f"{r['name']}: {r['note']}" for r in rows if r["note"]]
    Console(file=stream).print(table)
    for note in notes:
        Console(file=stream).print(f"  {note}")


def _latency_cell(row: dict[str, Any], key: str) -> str:
    ms, speedup = row[f"{key}_ms"], row[f"{key}_speedup"]
    if ms is None:
        return "n/a"
    return f"{ms:.3f} ms" + (f" ({speedup:.2f}x)" if speedup is not None else "")
