"""Data-parallel training over several processes started by ``torchrun``.

``torchrun --nproc_per_node=N -m profond train ...`` sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; each process trains on its shard of every epoch's batches and
DistributedDataParallel averages the gradients (gloo on CPU, nccl on GPU). Rank 0 alone logs,
prints and writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group that torchrun set up; a no-op context for a single process."""
    if not launched_by_torchrun():
        return DistContext()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size())


def local_device(device: torch.device) -> torch.device:
    """With several GPUs on a node, each process takes the one of its local rank."""
    if device.type == "cuda" and launched_by_torchrun():
        index = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return device


def barrier(context: DistContext) -> None:
    if context.enabled:
        dist.barrier()


def shutdown(context: DistContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()
