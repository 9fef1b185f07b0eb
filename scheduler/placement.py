"""Placement: which nodes a job may use, which of them fit best, and its exact GPU indices.

Best fit across nodes: among the nodes where the job fits for its whole time limit, take those
that leave the least behind, compared in this order: free GPUs left (so CPU-only work keeps off
GPU-rich nodes), whole free link groups broken, CPUs left, MiB left, then the node's position in
the configuration (which makes "pack by node order" the tie-break, as Slurm's cons_tres does).

Within a node, GPUs are taken so as to keep whole link groups (NVLink islands, PCIe switches)
free: a request that fits in one group goes to the group with the fewest free GPUs that can hold
it; a larger request takes the emptiest groups whole, then finishes in the best-fitting group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from scheduler.availability import Availability
from scheduler.model import Allocation, Cluster, JobRequest, NodeAllocation

Shape = tuple[str, int, int, int, int, str | None, tuple[str, ...]]
_KEEP_ALLOCATIONS = 4096  # distinct allocations kept for reuse (a placer may live long)


def shape_of(job: JobRequest) -> Shape:
    """What placement depends on, apart from duration: jobs of one shape place alike."""
    return (
        job.partition,
        job.nodes,
        job.cpus_per_node,
        job.mem_mb,
        job.gpus_per_node,
        job.gpu_model,
        job.features,
    )


class Demand:
    """One job's needs, computed once per pass: what placement and backfill read in hot loops.

    ``group`` holds what must be equal for two demands to compare (partition, GPU model,
    features, node count); ``size`` = (CPUs per node, MiB per node, GPUs per node, seconds) is
    compared component-wise: a demand at least as big in every component fits no better.
    """

    __slots__ = (
        "cpus",
        "duration",
        "eligible",
        "gpus",
        "group",
        "job",
        "key",
        "mem",
        "model",
        "nodes",
        "size",
    )

    def __init__(self, job: JobRequest, eligible: tuple[int, ...]) -> None:
        self.cpus = job.cpus_per_node
        self.mem = job.mem_mb
        self.gpus = job.gpus_per_node
        self.model = job.gpu_model
        self.nodes = job.nodes
        self.duration = job.time_limit_s
        self.eligible = eligible
        self.group = (job.partition, job.gpu_model, job.features, job.nodes)
        self.size = (self.cpus, self.mem, self.gpus, self.duration)
        self.key = (self.group, self.size)


def select_gpus(group_masks: Sequence[int], usable: int, count: int) -> int:
    """Pick ``count`` GPUs out of ``usable`` (a bitmask), keeping whole link groups free.

    ``group_masks`` holds one bitmask per link group of the node. Returns the chosen mask.
    """
    if count <= 0:
        return 0
    groups = sorted(
        ((mask & usable).bit_count(), position, mask & usable)
        for position, mask in enumerate(group_masks)
        if mask & usable
    )
    chosen = 0
    remaining = count
    while remaining > 0:
        fitting = [group for group in groups if group[0] >= remaining]
        if fitting:
            _, _, free = fitting[0]  # the fullest group that can still hold the rest
            return chosen | _lowest_bits(free, remaining)
        largest = max(groups, key=lambda group: (group[0], -group[1]))
        groups.remove(largest)
        chosen |= largest[2]
        remaining -= largest[0]
    return chosen


def _lowest_bits(mask: int, count: int) -> int:
    chosen = 0
    for _ in range(count):
        low = mask & -mask
        chosen |= low
        mask ^= low
    return chosen


def _broken_groups(group_masks: Sequence[int], free: int, taken: int) -> int:
    """How many link groups were wholly free before taking ``taken`` and are not after."""
    broken = 0
    for mask in group_masks:
        if mask & free == mask and mask & taken:
            broken += 1
    return broken


class Fit(NamedTuple):
    """A node where a job fits over a window, with what it would take there (a named tuple:
    placement makes one per candidate node, and a tuple is the cheapest immutable record)."""

    score: tuple[int, int, int, int, int]
    node: int
    gpu_mask: int


class Placer:
    """Per-pass static facts about the cluster, plus the placement decisions that use them."""

    __slots__ = (
        "_allocations",
        "_demands",
        "_eligible",
        "all_nodes",
        "cluster",
        "everything",
        "full_masks",
        "group_masks",
        "index",
        "model_masks",
        "names",
        "partitions",
    )

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.names = tuple(node.name for node in cluster.nodes)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.all_nodes = tuple(range(len(self.names)))
        self.everything = frozenset(self.all_nodes)
        self.partitions = {p.name: p for p in cluster.partitions}  # the last of a name
        self._allocations: dict[tuple[int, ...], Allocation] = {}  # (CPUs, MiB, node, mask, ...)
        self.group_masks: list[tuple[int, ...]] = []
        self.model_masks: list[dict[str | None, int]] = []
        for node in cluster.nodes:
            groups: dict[int, int] = {}
            models: dict[str | None, int] = {None: 0}
            for gpu in node.gpus:
                bit = 1 << gpu.index
                groups[gpu.link_group] = groups.get(gpu.link_group, 0) | bit
                models[gpu.model] = models.get(gpu.model, 0) | bit
                models[None] |= bit
            self.group_masks.append(tuple(groups[key] for key in sorted(groups)))
            self.model_masks.append(models)
        self.full_masks = tuple(models[None] for models in self.model_masks)
        self._eligible: dict[Shape, tuple[int, ...]] = {}
        self._demands: dict[tuple[object, ...], Demand] = {}

    def gpu_pool(self, node: int, model: str | None) -> int:
        return self.model_masks[node].get(model, 0)

    def eligible(self, job: JobRequest) -> tuple[int, ...]:
        """Indices of the up nodes of the job's partition big enough for one node's share."""
        shape = shape_of(job)
        nodes = self._eligible.get(shape)
        if nodes is None:
            nodes = self._eligible[shape] = self._find_eligible(job)
        return nodes

    def _find_eligible(self, job: JobRequest) -> tuple[int, ...]:
        partition = self.cluster.partition(job.partition)
        if partition is None or not partition.up:
            return ()
        members = set(partition.nodes)
        need = job.per_node
        found = []
        for i, node in enumerate(self.cluster.nodes):
            if node.name not in members or not node.state.schedulable:
                continue
            if node.cpus < need.cpus or node.mem_mb < need.mem_mb:
                continue
            if self.gpu_pool(i, job.gpu_model).bit_count() < need.gpus:
                continue
            if any(feature not in node.features for feature in job.features):
                continue
            found.append(i)
        return tuple(found)

    def demand(self, job: JobRequest) -> Demand:
        """The job's `Demand`, shared by every job of the same shape and time limit."""
        key = (
            job.partition,
            job.gpu_model,
            job.features,
            job.nodes,
            job.tasks,
            job.cpus_per_task,
            job.mem_mb,
            job.gpus_per_node,
            job.time_limit_s,
        )
        found = self._demands.get(key)
        if found is None:
            found = self._demands[key] = Demand(job, self.eligible(job))
        return found

    def fit(self, need: Demand, node: int, free: tuple[int, int, int]) -> Fit | None:
        """How well one node's ``free`` (CPUs, MiB, GPU mask) suits one node's share."""
        cpus, mem, gpus = free
        need_cpus, need_mem, need_gpus = need.cpus, need.mem, need.gpus
        if cpus < need_cpus or mem < need_mem:
            return None
        usable = gpus & self.model_masks[node].get(need.model, 0)
        if usable.bit_count() < need_gpus:
            return None
        groups = self.group_masks[node]
        taken = select_gpus(groups, usable, need_gpus)
        score = (
            gpus.bit_count() - need_gpus,
            _broken_groups(groups, gpus, taken),
            cpus - need_cpus,
            mem - need_mem,
            node,
        )
        return Fit(score=score, node=node, gpu_mask=taken)

    def place(
        self,
        need: Demand,
        availability: Availability,
        start: int,
        candidates: Sequence[int],
        *,
        started: bool,
    ) -> tuple[Fit, ...] | None:
        """The best ``need.nodes`` nodes among ``candidates`` for ``[start, start + limit)``,
        for a job started now (``started``) or reserved at ``start``."""
        end = start + need.duration
        if need.nodes == 1 and len(candidates) == 1:  # one node to judge: its fit is the answer
            node = candidates[0]
            found = self.fit(need, node, availability.window(node, start, end, started=started))
            return None if found is None else (found,)
        need_cpus, need_mem, need_gpus, model = need.cpus, need.mem, need.gpus, need.model
        # First the cheap test and the first score key (GPUs left); the full score, which
        # chooses GPU indices, only for the nodes that can still be among the best.
        usable: list[tuple[int, int, tuple[int, int, int]]] = []
        for node in candidates:
            free = availability.window(node, start, end, started=started)
            cpus, mem, gpus = free
            if cpus < need_cpus or mem < need_mem:
                continue
            if (gpus & self.model_masks[node].get(model, 0)).bit_count() < need_gpus:
                continue
            usable.append((gpus.bit_count() - need_gpus, node, free))
        if len(usable) < need.nodes:
            return None
        usable.sort()
        cutoff = usable[need.nodes - 1][0]
        fits = []
        for left, node, free in usable:
            if left > cutoff:
                break
            found = self.fit(need, node, free)
            assert found is not None
            fits.append(found)
        fits.sort(key=lambda found: found.score)
        return tuple(fits[: need.nodes])

    def allocation(self, job: JobRequest, fits: Sequence[Fit]) -> Allocation:
        """The job's allocation on ``fits``; equal allocations are one shared (frozen) object,
        as placements repeat across the jobs of a replay."""
        if len(fits) == 1:
            key: tuple[int, ...] = (job.cpus_per_node, job.mem_mb, fits[0][1], fits[0][2])
        else:
            key = (job.cpus_per_node, job.mem_mb, *(part for f in fits for part in f[1:]))
        found = self._allocations.get(key)
        if found is None:
            if len(self._allocations) >= _KEEP_ALLOCATIONS:
                self._allocations.clear()
            found = self._allocations[key] = self._allocation(job, fits)
        return found

    def _allocation(self, job: JobRequest, fits: Sequence[Fit]) -> Allocation:
        parts = []
        for found in sorted(fits, key=lambda f: f.node):
            indices = tuple(
                i for i in range(found.gpu_mask.bit_length()) if found.gpu_mask >> i & 1
            )
            parts.append(
                NodeAllocation(
                    node=self.names[found.node],
                    cpus=job.cpus_per_node,
                    mem_mb=job.mem_mb,
                    gpu_indices=indices,
                )
            )
        return Allocation(nodes=tuple(parts))
