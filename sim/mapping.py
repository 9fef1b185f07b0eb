"""How a trace's jobs land on a cluster.

- `processor_pool`: the trace's own machine as one pool of ``MaxProcs`` processors (DESIGN §8,
  VALIDATION.md §A): one node, a job asks its processors and nothing else.
- `node_cluster`: ``nodes`` x ``cores``; ``whole_nodes`` gives each job ``ceil(procs / cores)``
  whole nodes (the RLScheduler protocol of §B), otherwise a job's processors are spread over
  the fewest nodes that can hold them, one processor per task.
Time limits are the trace's estimates, at least one second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scheduler import Cluster, JobRequest, Node, Partition
from sim.workloads import TraceJob, bulk_constructor

PARTITION = "sim"
# JobRequest(...) for one request per trace job in a quarter of the time (`bulk_constructor`).
_new_request = bulk_constructor(JobRequest)


def trace_request(job: TraceJob, partition: str, **shape: Any) -> JobRequest:
    """What every trace job asks, whatever the machine: its id, user and submit time, and its
    estimate (at least one second) as the time limit; ``shape`` adds nodes, CPUs, GPUs, ..."""
    estimate = job.estimate
    return _new_request(
        job_id=job.job_id,
        user=job.user,
        submit_time=job.submit,
        time_limit_s=estimate if estimate > 1 else 1,
        partition=partition,
        **shape,
    )


def _cluster(nodes: tuple[Node, ...]) -> Cluster:
    names = tuple(node.name for node in nodes)
    return Cluster(nodes=nodes, partitions=(Partition(name=PARTITION, nodes=names, default=True),))


def processor_pool(processors: int) -> tuple[Cluster, Callable[[TraceJob], JobRequest]]:
    """One node with ``processors`` CPUs and no memory accounting."""
    if processors < 1:
        raise ValueError(f"a processor pool needs at least one processor, got {processors}")
    cluster = _cluster((Node(name="pool", cpus=processors, mem_mb=0, partitions=(PARTITION,)),))

    def to_request(job: TraceJob) -> JobRequest:
        return trace_request(job, PARTITION, cpus_per_task=job.procs)

    return cluster, to_request


def node_cluster(
    nodes: int, cores: int, *, whole_nodes: bool
) -> tuple[Cluster, Callable[[TraceJob], JobRequest]]:
    """``nodes`` nodes of ``cores`` CPUs each."""
    if nodes < 1 or cores < 1:
        raise ValueError(f"need at least one node and one core, got {nodes} x {cores}")
    cluster = _cluster(
        tuple(
            Node(name=f"n{i:05d}", cpus=cores, mem_mb=0, partitions=(PARTITION,))
            for i in range(nodes)
        )
    )

    def to_request(job: TraceJob) -> JobRequest:
        count = -(-job.procs // cores)
        return trace_request(
            job,
            PARTITION,
            nodes=count,
            tasks=count if whole_nodes else job.procs,
            cpus_per_task=cores if whole_nodes else 1,
        )

    return cluster, to_request
