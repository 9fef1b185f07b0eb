"""Small constructors for core values, so tests state only what matters to them."""

from __future__ import annotations

from scheduler import (
    Allocation,
    Cluster,
    GpuDevice,
    JobRequest,
    Node,
    NodeAllocation,
    Partition,
    Policy,
    PriorityWeights,
    RunningJob,
)

MINUTE = 60


def gpu_node(
    name: str,
    *,
    cpus: int = 4,
    gpus: int = 4,
    mem_mb: int = 16_384,
    model: str = "a100",
    group_size: int = 0,
) -> Node:
    """A node with ``gpus`` GPUs; ``group_size`` > 0 splits them into link groups of that size."""
    devices = tuple(
        GpuDevice(
            index=i,
            uuid=f"GPU-{name}-{i}",
            model=model,
            memory_mb=40_960,
            link_group=i // group_size if group_size else 0,
        )
        for i in range(gpus)
    )
    return Node(name=name, cpus=cpus, mem_mb=mem_mb, gpus=devices, partitions=("debug",))


def cluster_of(*nodes: Node, partition: str = "debug", max_time_s: int | None = None) -> Cluster:
    return Cluster(
        nodes=nodes,
        partitions=(
            Partition(
                name=partition,
                nodes=tuple(node.name for node in nodes),
                default=True,
                max_time_s=max_time_s,
            ),
        ),
    )


def slurm_4x4() -> Cluster:
    """The machine of SLURM-BEHAVIOUR.md: four nodes of 4 CPUs and 4 GPUs."""
    return cluster_of(*(gpu_node(f"n{i}") for i in range(1, 5)))


def job(
    job_id: int,
    *,
    user: str = "bench",
    submit: int = 0,
    minutes: int = 5,
    gpus: int = 0,
    nodes: int = 1,
    cpus: int = 1,
    **kwargs: object,
) -> JobRequest:
    values: dict[str, object] = {
        "job_id": job_id,
        "user": user,
        "submit_time": submit,
        "time_limit_s": minutes * MINUTE,
        "partition": "debug",
        "account": "lab_a",
        "nodes": nodes,
        "tasks": nodes,
        "cpus_per_task": cpus,
        "gpus_per_node": gpus,
        "name": f"job{job_id}",
    }
    values.update(kwargs)
    return JobRequest(**values)  # type: ignore[arg-type]


def running(
    request: JobRequest, start: int, *parts: tuple[str, int, tuple[int, ...]]
) -> RunningJob:
    """A running job holding ``(node, cpus, gpu indices)`` parts."""
    allocation = Allocation(
        nodes=tuple(
            NodeAllocation(node=node, cpus=cpus, mem_mb=request.mem_mb, gpu_indices=gpus)
            for node, cpus, gpus in parts
        )
    )
    return RunningJob(request=request, allocation=allocation, start_time=start)


def fifo_policy(**kwargs: object) -> Policy:
    """A policy whose priorities are all equal, so order is submit time then job id."""
    weights = PriorityWeights(age=0, fairshare=0, job_size=0, partition=0, qos=0, assoc=0)
    return Policy(weights=weights, **kwargs)  # type: ignore[arg-type]
