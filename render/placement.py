"""Where render workers go: how many (`--workers N` or `auto`) and what each one reserves from Ray.

Pure functions of the cluster's nodes (their total CPU, GPU and memory resources), so the rules are tested
without Ray. Ray places the actors (`SPREAD` over the nodes); tk never pins an actor to a node by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tk.errors import TkError

GB = 2**30


@dataclass(frozen=True)
class Placement:
    """What the pool starts: `workers` actors, each reserving `threads` CPUs, `gpus` GPUs, `memory` bytes."""

    workers: int
    threads: int
    gpus: int
    memory: int  # bytes of Ray's `memory` resource; 0 = none reserved

    def actor_options(self) -> dict[str, Any]:
        """Ray actor options: the reservations, spread over the nodes."""
        opts: dict[str, Any] = {"num_cpus": self.threads, "num_gpus": self.gpus, "scheduling_strategy": "SPREAD"}
        if self.memory:
            opts["memory"] = self.memory
        return opts

    def fits(self, node: dict[str, float]) -> int:
        """How many of these workers one node (total resources) can hold."""
        room = [int(node.get("CPU", 0) // self.threads)]
        if self.gpus:
            room.append(int(node.get("GPU", 0) // self.gpus))
        if self.memory:
            room.append(int(node.get("memory", 0) // self.memory))
        return max(0, min(room))

    def describe(self) -> str:
        """'2 CPUs, 1 GPU, 16 GB memory' (what one worker needs)."""
        parts = [f"{self.threads} CPU{'s' if self.threads > 1 else ''}"]
        if self.gpus:
            parts.append(f"{self.gpus} GPU")
        if self.memory:
            parts.append(f"{self.memory / GB:g} GB memory")
        return ", ".join(parts)


def plan(workers: int | str, threads: int, gpu: bool, max_memory_gb: float, nodes: list[dict[str, Any]]) -> Placement:
    """The placement of `--workers` (a number or "auto") on `nodes`; TkError when no node holds even one worker.

    Each worker reserves its memory cap (at most the largest node's memory and, for an explicit N, 1/N of the
    cluster's): `auto` counts how many caps fit. Threads per worker: `--threads`,
    else 1 with `auto` (many single-thread workers render the most per core,
    see docs/render.md), else the cluster's cores split between the N workers (at most the largest node's).
    """
    cpus = [int(n.get("CPU", 0)) for n in nodes]
    if threads:
        per = threads
    elif workers == "auto":
        per = 1
    else:
        per = max(1, min(sum(cpus) // int(workers), max(cpus, default=1)))
    # the memory cap, but never more than the largest node has (a worker may always have a node to itself), and
    # for an explicit N never more than 1/N of the cluster's memory: the N asked for are never refused for memory
    mems = [int(n.get("memory", 0)) for n in nodes]
    memory = min(int(max_memory_gb * GB), max(mems, default=0))
    if workers != "auto":
        memory = min(memory, sum(mems) // int(workers))
    unit = Placement(workers=0, threads=per, gpus=1 if gpu else 0, memory=memory if max_memory_gb else 0)
    room = sum(unit.fits(n) for n in nodes)
    if room == 0:
        largest = max(nodes, key=lambda n: (n.get("CPU", 0), n.get("GPU", 0), n.get("memory", 0)), default={})
        have = Placement(0, int(largest.get("CPU", 0)) or 1, int(largest.get("GPU", 0)), int(largest.get("memory", 0)))
        fix = ("--device cpu, or add GPU nodes" if gpu and not any(n.get("GPU", 0) for n in nodes)
               else "lower --threads or --max-memory-gb, or add nodes")
        raise TkError(f"no node of the Ray cluster has room for one render worker ({unit.describe()}; the largest "
                      f"node has {have.describe() if largest else 'nothing'}): {fix}")
    return Placement(workers=room if workers == "auto" else int(workers), threads=per, gpus=unit.gpus,
                     memory=unit.memory)


def local_resources(workers: int | str, threads: int, max_memory_gb: float, cpu_count: int, memory: int
                    ) -> dict[str, int]:
    """ray.init resources for a one-machine job: enough that N explicit workers all start (as the user asked)."""
    if workers == "auto":
        return {"num_cpus": cpu_count}
    per = threads or max(1, cpu_count // int(workers))
    return {"num_cpus": max(cpu_count, int(workers) * per),
            "_memory": max(memory, int(workers) * int(max_memory_gb * GB))}
