"""How a GPU trace's node list and tasks land on a Berth cluster (the Alibaba v2023 trace).

`alibaba_cluster(nodes)` builds one `scheduler.Node` per `TraceNode`, in file order (placement
breaks ties by that order), all in one partition, `PARTITION`. GPU-less nodes are kept: they
take CPU-only work. A node with ``n`` GPUs gets `GpuDevice` ``index`` 0..n-1, ``uuid``
``f"{node}-gpu{i}"`` and the node's model; ``memory_mb`` stays 0 (the trace does not give it).

Link groups: the trace gives no topology. GPU ``i`` is put in link group ``i //
link_group_size`` (default 4), so an 8-GPU node is two groups of four -- the common dual-socket
8-GPU server with four GPUs behind each CPU (a DGX-1's NVLink mesh is also two quads) -- and a
node with 1, 2 or 4 GPUs is one group. Placement then packs small jobs into the fuller half and
keeps a whole quad free for 4-GPU jobs. ``link_group_size=None`` puts every GPU of a node in one
group (packing by node only).

"GPU packing" is Berth's only placement: best fit, fewest free GPUs left first, then fewest whole
link groups broken (`scheduler/placement.py`). There is no switch to turn it off.

`to_request(job)` asks one node, one task of ``max(1, procs)`` CPUs (a 0-CPU task cannot be said
in the core, so it asks one), ``mem_mb`` MiB, ``gpus`` GPUs, time limit = the estimate, at least
1 s. The trace's QoS class is the job's user (the reader's rule); the Berth QOS stays ``normal``,
the one QOS of the default `scheduler.Limits`. GPU model: the one allowed model when there is
exactly one; none (any model) when the trace allows any. The core cannot say "any of these
models": a job allowing several is narrowed to the allowed model of which the cluster has the
most GPUs (ties: the name first in sort order), so it never runs on a model it does not allow,
at the price of waiting for that model only. `narrowed` counts such jobs.

`split_fitting(jobs, cluster, to_request)` separates the jobs that can never run on the cluster
(more CPUs, MiB or GPUs of their model than any one node has) from the rest, by
`scheduler.validate` under the default `scheduler.Limits` (no caps), and reports them, so a
replay neither crashes nor waits forever on them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from scheduler import Cluster, GpuDevice, JobRequest, Limits, Node, Partition, validate
from sim.mapping import trace_request
from sim.workloads import TraceJob, TraceNode

PARTITION = "gpu"
LINK_GROUP_SIZE = 4


def gpu_node(node: TraceNode, *, link_group_size: int | None = LINK_GROUP_SIZE) -> Node:
    """One Berth node for one trace node, its GPUs grouped as the module docstring says."""
    if link_group_size is not None and link_group_size < 1:
        raise ValueError(f"link_group_size must be at least 1 or None, got {link_group_size}")
    model = node.gpu_model or ""
    gpus = tuple(
        GpuDevice(
            index=i,
            uuid=f"{node.name}-gpu{i}",
            model=model,
            link_group=0 if link_group_size is None else i // link_group_size,
        )
        for i in range(node.gpus)
    )
    return Node(
        name=node.name, cpus=node.cpus, mem_mb=node.mem_mb, gpus=gpus, partitions=(PARTITION,)
    )


def alibaba_cluster(
    nodes: Sequence[TraceNode], *, link_group_size: int | None = LINK_GROUP_SIZE
) -> tuple[Cluster, Callable[[TraceJob], JobRequest]]:
    """The cluster of a node list and the mapping of its trace's jobs to requests.

    :raises ValueError: when ``nodes`` is empty or two nodes share a name.
    """
    if not nodes:
        raise ValueError("a GPU cluster needs at least one node")
    names = tuple(node.name for node in nodes)
    if len(set(names)) != len(names):
        twice = sorted(name for name, n in Counter(names).items() if n > 1)
        raise ValueError(f"node names must be unique; repeated: {', '.join(twice)}")
    built = tuple(gpu_node(node, link_group_size=link_group_size) for node in nodes)
    cluster = Cluster(
        nodes=built, partitions=(Partition(name=PARTITION, nodes=names, default=True),)
    )
    per_model = model_gpus(cluster)

    def to_request(job: TraceJob) -> JobRequest:
        return trace_request(
            job,
            PARTITION,
            name=job.name,
            cpus_per_task=max(1, job.procs),
            mem_mb=max(0, job.mem_mb),
            gpus_per_node=job.gpus,
            gpu_model=chosen_model(job, per_model),
        )

    return cluster, to_request


def model_gpus(cluster: Cluster) -> dict[str, int]:
    """GPUs per model in the cluster."""
    counts: Counter[str] = Counter(gpu.model for node in cluster.nodes for gpu in node.gpus)
    return dict(counts)


def chosen_model(job: TraceJob, per_model: dict[str, int]) -> str | None:
    """The model a job's request names: None for a CPU-only job or one allowing any model."""
    if job.gpus == 0 or not job.gpu_models:
        return None
    return min(job.gpu_models, key=lambda model: (-per_model.get(model, 0), model))


def narrowed(jobs: Iterable[TraceJob]) -> int:
    """How many GPU jobs allow several models and were narrowed to one."""
    return sum(1 for job in jobs if job.gpus > 0 and len(set(job.gpu_models)) > 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fitting:
    """Jobs split by whether they can ever run: ``refused`` holds (job id, problems)."""

    kept: tuple[TraceJob, ...]
    refused: tuple[tuple[int, tuple[str, ...]], ...]

    @property
    def refused_count(self) -> int:
        return len(self.refused)


def split_fitting(
    jobs: Iterable[TraceJob], cluster: Cluster, to_request: Callable[[TraceJob], JobRequest]
) -> Fitting:
    """Keep the jobs `scheduler.validate` accepts on ``cluster`` under default limits.

    Without caps, what validate finds depends only on the job's shape, so it runs once per shape:
    a job's id, submit time and name are set aside, and so is a valid time limit unless a
    partition has a time limit (`alibaba_cluster`'s has none).
    """
    limits = Limits()
    timed = any(partition.max_time_s is not None for partition in cluster.partitions)
    seen: dict[JobRequest, tuple[str, ...]] = {}
    kept: list[TraceJob] = []
    refused: list[tuple[int, tuple[str, ...]]] = []
    for job in jobs:
        request = to_request(job)
        limit = request.time_limit_s if timed or request.time_limit_s < 1 else 1
        key = replace(request, job_id=0, submit_time=0, name="", time_limit_s=limit)
        problems = seen.get(key)
        if problems is None:
            problems = seen[key] = validate(key, cluster, limits)
        if problems:
            refused.append((job.job_id, problems))
        else:
            kept.append(job)
    return Fitting(kept=tuple(kept), refused=tuple(refused))
