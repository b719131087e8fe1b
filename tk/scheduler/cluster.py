"""How tk starts or joins Ray: once per job, the same way for every stage.

A job started here gets a local Ray of its own sized by the stage (its CPUs and memory), even beside a cluster
already running on the machine; `--address` joins a running cluster instead. The environment variables a worker must see (the worker test hooks, PYTHONPATH) are forwarded to Ray's
workers, which do not inherit the driver's environment on other nodes.
"""

from __future__ import annotations

import os
from typing import Any

from tk.blender.serve import TEST_HOOK_ENV

FORWARDED_ENV = (TEST_HOOK_ENV, "PYTHONPATH")


def start(address: str | None, resources: dict[str, int]) -> bool:
    """Join the cluster at `address`, or start a local Ray with `resources` (ray.init's num_cpus, _memory), unless
    Ray is already running in this process; True when this call started it (the caller then shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    # no --address: "local" starts this job's own Ray even when a cluster is running on the machine (`ray start`);
    # ray.init's default would join that cluster, refuse tk's num_cpus there, and take another job's machines
    kwargs: dict[str, Any] = {"address": address} if address else {"address": "local", "include_dashboard": False,
                                                                    **resources}
    ray.init(**kwargs, runtime_env={"env_vars": env} if env else None, log_to_driver=False,
             logging_level="ERROR", configure_logging=True)
    return True


def stop(started: bool) -> None:
    """Shut down the Ray instance `start` started (one it joined or found running is left alone)."""
    if started:
        import ray

        ray.shutdown()


def alive_nodes() -> list[dict[str, Any]]:
    """The cluster's live nodes as {"id", "CPU", "GPU", "memory"} (totals, not what is free now)."""
    import ray

    return [{"id": n["NodeID"], **{k: float(n["Resources"].get(k, 0)) for k in ("CPU", "GPU", "memory")}}
            for n in ray.nodes() if n["Alive"]]


def physical_memory() -> int:
    """This machine's memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
