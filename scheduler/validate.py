"""Refuse at submit a job that can never run, saying what to change.

`validate` returns the problems of a request (empty when it may be queued); `check` raises
`InvalidRequest` with them. A problem is a sentence that starts with Slurm's own error text
(``Requested node configuration is not available``, ``Invalid partition name specified``, ...)
and goes on with the numbers and the fix. Checks:

- the shape: nodes, tasks, CPUs per task, time limit, memory and GPUs in range;
- the partition (an empty name means the cluster's default partition) and the QOS exist;
- the partition's ``max_time`` and ``max_nodes``: Berth refuses such a job at submit, as Slurm
  does with ``EnforcePartLimits=ALL``, instead of queueing it to wait forever (Slurm's default
  leaves it pending with ``PartitionTimeLimit``). This is deliberate: a job that waits for a
  limit nobody will raise is worse than an error now;
- enough nodes of the partition, each with the job's CPUs, memory, GPUs (of ``gpu_model``) and
  features. Every configured node counts, also drained and down ones, which may come back;
- per-job caps of the QOS and of the user (`scheduler.limits.per_job_reason`'s checks, all of
  them reported), and aggregate caps (per user, per QOS, per account) smaller than the job alone;
- submit limits (``max_submit``), counted over ``active``: the jobs now pending or running
  (a job with the request's own ``job_id`` is not counted).

The limit problems are worded in `scheduler.submitlimits`.
"""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.errors import InvalidRequest
from scheduler.hostlist import compress_hostlist
from scheduler.limits import Limits
from scheduler.model import Cluster, JobRequest, Node, Partition
from scheduler.submitlimits import (
    aggregate_cap_problems,
    job_cap_problems,
    plural,
    submit_problems,
)
from scheduler.units import format_memory_mb, format_slurm_time

NODE_CONFIG = "Requested node configuration is not available"
_TIME = "Requested time limit is invalid (missing or exceeds some limit)"


def validate(
    request: JobRequest,
    cluster: Cluster,
    limits: Limits,
    *,
    active: Sequence[JobRequest] = (),
) -> tuple[str, ...]:
    """Why ``request`` can never run on ``cluster`` under ``limits``; empty when it can."""
    problems = _shape(request)
    shape_ok = not problems
    partition = _partition(request, cluster, problems)
    if request.qos not in limits.qos:
        problems.append(
            f"Invalid qos specification: {request.qos!r}; the QOS are "
            f"{', '.join(sorted(limits.qos))}; submit with --qos set to one of them"
        )
    if partition is not None:
        problems.extend(_partition_limits(request, partition))
        if shape_ok:
            problems.extend(_node_fit(request, cluster, partition))
    if shape_ok:
        problems.extend(job_cap_problems(request, limits))
        problems.extend(aggregate_cap_problems(request, limits))
    problems.extend(submit_problems(request, limits, active))
    return tuple(problems)


def check(
    request: JobRequest,
    cluster: Cluster,
    limits: Limits,
    *,
    active: Sequence[JobRequest] = (),
) -> None:
    """:raises InvalidRequest: with every problem `validate` finds."""
    problems = validate(request, cluster, limits, active=active)
    if problems:
        raise InvalidRequest(problems)


def _shape(job: JobRequest) -> list[str]:
    problems = []
    if job.nodes < 1:
        problems.append(f"Invalid node count: the job asks {job.nodes} nodes; ask for -N 1 or more")
    elif job.tasks < job.nodes:
        problems.append(
            f"Invalid task count: {plural(job.tasks, 'task')} on {job.nodes} nodes leaves a node "
            f"without a task; ask for -n {job.nodes} or more, or for fewer nodes"
        )
    if job.cpus_per_task < 1:
        problems.append(
            f"Invalid CPU count: {plural(job.cpus_per_task, 'CPU')} per task; ask for "
            "--cpus-per-task=1 or more"
        )
    if job.time_limit_s < 1:
        problems.append(f"{_TIME}: {job.time_limit_s} s; ask for -t 1 (one minute) or more")
    if job.mem_mb < 0:
        problems.append(f"Invalid memory request: {job.mem_mb} MiB; ask for --mem=0 or more")
    if job.gpus_per_node < 0:
        problems.append(
            f"Invalid generic resource (gres) specification: {plural(job.gpus_per_node, 'GPU')} "
            "per node; ask for 0 or more"
        )
    return problems


def _partition(job: JobRequest, cluster: Cluster, problems: list[str]) -> Partition | None:
    names = ", ".join(partition.name for partition in cluster.partitions) or "none"
    if not job.partition:
        default = cluster.default_partition
        if default is None:
            problems.append(
                "No partition specified or system default partition: the cluster has no "
                "partitions; declare one in berth.toml"
            )
        return default
    partition = cluster.partition(job.partition)
    if partition is None:
        problems.append(
            f"Invalid partition name specified: {job.partition!r}; the partitions are {names}; "
            "submit with -p set to one of them"
        )
    return partition


def _partition_limits(job: JobRequest, partition: Partition) -> list[str]:
    problems = []
    if partition.max_time_s is not None and job.time_limit_s > partition.max_time_s:
        limit = format_slurm_time(partition.max_time_s)
        problems.append(
            f"{_TIME}: the job asks {format_slurm_time(job.time_limit_s)}, partition "
            f"{partition.name!r} allows at most {limit}; ask for -t {limit} or less"
        )
    cap = partition.max_nodes_per_job
    if cap is not None and job.nodes > cap:
        problems.append(
            f"Node count specification invalid: the job asks {job.nodes} nodes, partition "
            f"{partition.name!r} allows at most {cap} per job; ask for -N {cap} or fewer"
        )
    return problems


def _gpu_count(node: Node, model: str | None) -> int:
    return sum(1 for gpu in node.gpus if model is None or gpu.model == model)


def _fits(job: JobRequest, node: Node) -> bool:
    return (
        node.cpus >= job.cpus_per_node
        and node.mem_mb >= job.mem_mb
        and _gpu_count(node, job.gpu_model) >= job.gpus_per_node
        and all(feature in node.features for feature in job.features)
    )


def _members(cluster: Cluster, partition: Partition) -> list[Node]:
    wanted = set(partition.nodes)
    return [node for node in cluster.nodes if node.name in wanted]


def _node_fit(job: JobRequest, cluster: Cluster, partition: Partition) -> list[str]:
    """Problems with the nodes of ``partition``: each resource alone, then all together."""
    nodes = _members(cluster, partition)
    where = f"partition {partition.name!r}"
    problems = _largest_node(job, nodes, where)
    cap = partition.max_nodes_per_job
    if not problems and (cap is None or job.nodes <= cap):  # else _partition_limits said it
        fitting = [node.name for node in nodes if _fits(job, node)]
        if len(nodes) < job.nodes:
            problems.append(
                f"{NODE_CONFIG}: the job asks {job.nodes} nodes, {where} has {len(nodes)}; "
                f"ask for -N {len(nodes)} or fewer"
            )
        elif len(fitting) < job.nodes:
            problems.append(
                f"{NODE_CONFIG}: the job asks {job.nodes} nodes with {_per_node(job)} each, "
                f"only {len(fitting)} of the {len(nodes)} nodes of {where} "
                f"{'has' if len(fitting) == 1 else 'have'} that much "
                f"({compress_hostlist(fitting) or 'none'}); ask for fewer nodes or less per node"
            )
    if problems:
        elsewhere = [
            other.name
            for other in cluster.partitions
            if other is not partition
            and sum(1 for node in _members(cluster, other) if _fits(job, node)) >= job.nodes
        ]
        if elsewhere:
            problems[-1] += f"; partition {', '.join(map(repr, elsewhere))} has such nodes"
    return problems


def _per_node(job: JobRequest) -> str:
    parts = [plural(job.cpus_per_node, "CPU")]
    if job.mem_mb:
        parts.append(f"{format_memory_mb(job.mem_mb)} of memory")
    if job.gpus_per_node:
        kind = f" of type {job.gpu_model!r}" if job.gpu_model else ""
        parts.append(f"{plural(job.gpus_per_node, 'GPU')}{kind}")
    if job.features:
        parts.append(f"features {', '.join(job.features)}")
    return ", ".join(parts)


def _largest_node(job: JobRequest, nodes: Sequence[Node], where: str) -> list[str]:
    """What no single node of the partition has, each resource on its own."""
    if not nodes:
        return [f"{NODE_CONFIG}: {where} has no nodes; submit to another partition"]
    problems = []
    most_cpus = max(node.cpus for node in nodes)
    if job.cpus_per_node > most_cpus:
        problems.append(
            f"{NODE_CONFIG}: the job asks {plural(job.cpus_per_node, 'CPU')} per node "
            f"({plural(job.tasks_per_node, 'task')} x {plural(job.cpus_per_task, 'CPU')} per "
            f"task), the largest node in {where} has "
            f"{most_cpus}; ask for at most {most_cpus} CPUs per node or spread the tasks over "
            "more nodes (-N)"
        )
    most_mem = max(node.mem_mb for node in nodes)
    if job.mem_mb > most_mem:
        problems.append(
            f"{NODE_CONFIG}: the job asks {format_memory_mb(job.mem_mb)} of memory per node, the "
            f"largest node in {where} has {format_memory_mb(most_mem)}; ask for "
            f"--mem={format_memory_mb(most_mem)} or less"
        )
    gpu_problem = _gpu_problem(job, nodes, where) if job.gpus_per_node > 0 else None
    if gpu_problem is not None:
        problems.append(gpu_problem)
    missing = [f for f in job.features if not any(f in node.features for node in nodes)]
    if missing:
        present = sorted({feature for node in nodes for feature in node.features})
        problems.append(
            f"{NODE_CONFIG}: the job asks features {', '.join(missing)}, which no node in "
            f"{where} has (its features: {', '.join(present) or 'none'}); drop them from "
            "--constraint or use another partition"
        )
    return problems


def _gpu_problem(job: JobRequest, nodes: Sequence[Node], where: str) -> str | None:
    models = sorted({gpu.model for node in nodes for gpu in node.gpus if gpu.model})
    most = max(_gpu_count(node, job.gpu_model) for node in nodes)
    if job.gpu_model and most == 0:
        have = f"GPUs of type {', '.join(models)}" if models else "no GPUs of that type"
        return (
            f"{NODE_CONFIG}: the job asks GPUs of type {job.gpu_model!r}, {where} has {have}; "
            "ask for one of those types, or use another partition"
        )
    if most == 0:
        return (
            f"{NODE_CONFIG}: the job asks {plural(job.gpus_per_node, 'GPU')} per node, the "
            f"nodes of {where} have no GPUs; submit to a partition with GPUs"
        )
    if job.gpus_per_node > most:
        kind = f" of type {job.gpu_model!r}" if job.gpu_model else ""
        return (
            f"{NODE_CONFIG}: the job asks {plural(job.gpus_per_node, 'GPU')}{kind} per node, the "
            f"largest node in {where} has {most}; ask for at most {most} GPUs per node or more "
            "nodes"
        )
    return None
