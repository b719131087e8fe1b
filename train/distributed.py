"""torchrun integration: DDP from the environment, gloo on CPU and nccl on GPU; one process otherwise.

On several nodes every rank reads the data and `--out` (checkpoints) at the same path: a shared filesystem or an
fsspec URL for the data. A restarted group resumes from `--out`'s last checkpoint when `tk train` has `--resume`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist

from tk.errors import TkError
from tk.progress import console


@dataclass(frozen=True)
class Dist:
    """Where this process stands: rank, world size, device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool = False  # init() created the process group: only then does shutdown() belong to this caller

    @property
    def is_main(self) -> bool:
        """True on the process that writes logs and checkpoints."""
        return self.rank == 0


def init() -> Dist:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK), or run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        if local >= torch.cuda.device_count():
            raise TkError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPU(s) visible: start at most "
                          f"{torch.cuda.device_count()} process(es) per node (torchrun --nproc_per_node), or hide the "
                          "GPUs (CUDA_VISIBLE_DEVICES=) to train on CPU with gloo")
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    if world > 1 and rank == 0 and shared_store_restart_risk(os.environ):
        console.print(SHARED_STORE_WARNING, markup=False, highlight=False, soft_wrap=True)
    created = world > 1 and not dist.is_initialized()
    if created:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", device_id=device if device.type == "cuda" else None)
    return Dist(rank=rank, world_size=world, local_rank=local, device=device, owns_group=created)


SHARED_STORE_WARNING = (
    "warning: torchrun on several nodes with --max-restarts shares its rendezvous store with the workers; after one "
    "node's restart the nodes count restarts differently and the new group can fail to connect "
    "(pytorch/pytorch#135712). Start torchrun with TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 (docs/train.md)")


def shared_store_restart_risk(env: Mapping[str, str]) -> bool:
    """True under a multi-node torchrun that may restart workers while sharing its rendezvous store with them."""
    return (int(env.get("GROUP_WORLD_SIZE", "1")) > 1 and int(env.get("TORCHELASTIC_MAX_RESTARTS", "0")) > 0
            and env.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true")


def barrier() -> None:
    """Wait for every rank (no-op alone)."""
    if dist.is_initialized():
        dist.barrier()


def all_mean(value: float, device: torch.device) -> float:
    """The mean of a float over ranks (the value itself alone)."""
    if not dist.is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def shutdown(d: Dist) -> None:
    """Leave the process group if `d`'s init() created it; a group the caller created is the caller's to destroy."""
    if d.owns_group and dist.is_initialized():
        dist.destroy_process_group()
