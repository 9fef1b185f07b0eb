"""GPU fragmentation: free GPUs that no pending job shape can use where they are.

For each node, the free GPUs count as usable up to the most that copies of one pending job shape
could take there (limited by the node's free CPUs and MiB too, and by the GPU model asked for);
the rest are stranded. With no pending GPU job the reference shape is one GPU with one CPU, which
measures GPUs stranded because their node ran out of CPUs or memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scheduler.availability import Availability
from scheduler.model import Cluster, JobRequest, RunningJob
from scheduler.placement import Placer


@dataclass(frozen=True, slots=True, kw_only=True)
class Fragmentation:
    free_gpus: int
    stranded_gpus: int

    @property
    def ratio(self) -> float:
        """Stranded share of the free GPUs, 0.0 when no GPU is free."""
        return self.stranded_gpus / self.free_gpus if self.free_gpus else 0.0


_ShapeKey = tuple[int, int, int, str | None, str]


def _shapes(pending: Sequence[JobRequest]) -> list[_ShapeKey]:
    found = {
        (job.gpus_per_node, job.cpus_per_node, job.mem_mb, job.gpu_model, job.partition)
        for job in pending
        if job.gpus_per_node > 0
    }
    return sorted(found, key=lambda s: (s[0], s[1], s[2], s[3] or "", s[4])) or [
        (1, 1, 0, None, "")
    ]


def fragmentation(
    cluster: Cluster, running: Sequence[RunningJob], pending: Sequence[JobRequest], now: int
) -> Fragmentation:
    """Free and stranded GPUs right now (down and drained nodes count as neither)."""
    placer = Placer(cluster)  # the per-node, per-model GPU masks, computed once
    availability = Availability(cluster.nodes, running, now, placer.index, placer.full_masks)
    shapes = _shapes(pending)
    free_total = stranded = 0
    for i, node in enumerate(cluster.nodes):
        if not node.state.schedulable:
            continue
        cpus, mem, gpus = availability.free_now(i)
        free = gpus.bit_count()
        if free == 0:
            continue
        usable = 0
        for need_gpus, need_cpus, need_mem, model, partition in shapes:
            if partition and partition not in node.partitions:
                continue
            pool = (gpus & placer.model_masks[i].get(model, 0)).bit_count()
            copies = pool // need_gpus
            if need_cpus:
                copies = min(copies, max(cpus, 0) // need_cpus)
            if need_mem:
                copies = min(copies, max(mem, 0) // need_mem)
            usable = max(usable, copies * need_gpus)
        free_total += free
        stranded += free - usable
    return Fragmentation(free_gpus=free_total, stranded_gpus=stranded)
