"""Where a training run executes: one process on CPU or one GPU, or several GPUs under ``torchrun``.

DDP is switched on only when torchrun's ``WORLD_SIZE`` > 1 (each rank then trains on a shard of the
global batch; rank 0 logs and saves). The device comes from an argument, never from import-time probing.
Everything here is torch.distributed's own: the process group (gloo on CPU, NCCL on GPUs), DDP's
gradient averaging, ``all_reduce`` for the logged losses and the stop flag, ``barrier`` at the end.
"""
from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger(__name__)


def distributed_env() -> tuple[int, int, int]:
    """``(rank, local_rank, world_size)`` from torchrun's environment (``(0, 0, 1)`` otherwise)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def resolve_device(device: str) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` → a torch device (the local rank's GPU under torchrun)."""
    _, local_rank, world = distributed_env()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but no CUDA GPU is available; use --device cpu")
        if device == "cuda" and world > 1:
            device = f"cuda:{local_rank}"
    return torch.device(device)


def setup_distributed(device: torch.device) -> bool:
    """Initialise the process group when launched by torchrun with WORLD_SIZE > 1; returns whether DDP is on."""
    import torch.distributed as dist

    _, local_rank, world = distributed_env()
    if world <= 1:
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
        log.info("DDP: rank %d/%d on %s (%s)", dist.get_rank(), world, device, backend)
    return True


def is_main_process() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def any_rank(flag: bool, device: torch.device) -> bool:
    """``flag`` OR-ed over all ranks (so that every rank stops at the same step); ``flag`` itself without DDP."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialised process group, ``(0, 1)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Each value averaged over all ranks (one ``all_reduce``; every rank must call it with the same
    keys in the same order); ``values`` itself without DDP. Used for logged losses, so that a
    torchrun run logs the global batch's losses like one process does."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or not values:
        return values
    keys = list(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= dist.get_world_size()
    return {k: float(v) for k, v in zip(keys, t.tolist())}


def teardown_distributed() -> None:
    """Wait for every rank (rank 0 may still be writing the checkpoint), then destroy the process
    group; nothing without one. Called by the command line when training is done."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
