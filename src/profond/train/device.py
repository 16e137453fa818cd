"""Device choice (cuda, then mps, then cpu, unless forced) and CPU threads for a model's size."""

from __future__ import annotations

import math
import os
from typing import Any

import torch
from torch import nn

from profond.errors import ProfondError


def pick_device(name: str = "auto") -> torch.device:
    """The device called ``name``, or the best available one for ``"auto"``."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ProfondError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ProfondError(
            "device cuda was asked for but no CUDA GPU is available; use --device cpu"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ProfondError("device mps was asked for but MPS is not available; use --device cpu")
    return device


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware.

    A CUDA GPU that supports bfloat16 (Ampere and later), or a CPU with the AVX512-BF16 or
    AMX-BF16 instructions (read from ``/proc/cpuinfo``, so only on Linux). Elsewhere bfloat16
    is emulated and slower than float32.
    """
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"fp32"`` or ``"bf16"``: ``"auto"`` is bf16 where :func:`native_bf16`, else fp32."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


# Floating-point operations of one training step (forward + backward ≈ 3 forwards) that make
# one more CPU thread worth it. Below that, threads spend longer waiting for each other than
# computing, and on a busy machine a single preempted thread stalls every operation: a digits
# MLP (about 40 MFLOP a step) ran an epoch 40x slower on all cores than on one under load.
FLOPS_PER_THREAD = 1e8


def available_cores() -> int:
    """CPU cores this process may use: its affinity, capped by ``OMP_NUM_THREADS`` if set."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:
        cores = min(cores, int(omp))
    return max(cores, 1)


def _layer_flops(module: nn.Module, output: Any) -> float:
    """Multiply-adds (x2) of one call of the layers that hold nearly all the work."""
    out = output[0] if isinstance(output, tuple) else output
    if not isinstance(out, torch.Tensor):
        return 0.0
    if isinstance(module, nn.Linear):
        return 2.0 * out.numel() * module.in_features
    if isinstance(module, nn.modules.conv._ConvNd):
        kernel = math.prod(module.kernel_size)
        return 2.0 * out.numel() * kernel * module.in_channels / module.groups
    if isinstance(module, (nn.RNNBase, nn.MultiheadAttention)) and out.dim() >= 2:
        tokens = out.numel() / out.shape[-1]  # every weight is used once per (sample, step)
        return 2.0 * tokens * sum(p.numel() for p in module.parameters(recurse=False))
    return 0.0


def step_flops(model: nn.Module, sample: torch.Tensor, batch_size: int) -> float:
    """Estimated floating-point operations of one training step of ``batch_size`` samples.

    Counts the linear, convolution, recurrent and attention layers of one forward of
    ``sample`` (shape ``(1, *input_shape)``) through forward hooks, at least two operations per
    parameter, times three for the backward pass. The model runs in eval mode without
    gradients, and the random generator is left as it was.
    """
    per_call = [0.0]

    def hook(module: nn.Module, inputs: Any, output: Any) -> None:
        per_call[0] += _layer_flops(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    training, rng = model.training, torch.get_rng_state()
    try:
        with torch.no_grad():
            model.eval()(sample)
    except Exception:  # a model whose forward needs more than a batch: parameters say enough
        per_call[0] = 0.0
    finally:
        for handle in handles:
            handle.remove()
        model.train(training)
        torch.set_rng_state(rng)
    per_sample = max(
        per_call[0] / max(len(sample), 1), 2.0 * sum(p.numel() for p in model.parameters())
    )
    return 3.0 * per_sample * batch_size


def auto_threads(model: nn.Module, sample: torch.Tensor, batch_size: int) -> int:
    """CPU threads for training ``model``: one per :data:`FLOPS_PER_THREAD` of a step's work,
    between 1 and :func:`available_cores`."""
    wanted = int(step_flops(model, sample, batch_size) // FLOPS_PER_THREAD)
    return min(max(wanted, 1), available_cores())
