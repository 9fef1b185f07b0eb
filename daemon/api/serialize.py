"""Job records, nodes and plans as the JSON of docs/API.md (the "job resource")."""

from __future__ import annotations

from typing import Any

from daemon.records import JobRecord
from scheduler import Cluster, DependencyKind, JobState, compress_hostlist


def job_json(record: JobRecord, cluster: Cluster, steps: list[dict[str, Any]] | None = None
             ) -> dict[str, Any]:  # fmt: skip
    request = record.request
    allocation = allocation_json(record, cluster)
    pending = record.state is JobState.PENDING
    return {
        "job_id": record.job_id,
        "array_job_id": request.array_job_id,
        "array_task_id": request.array_task_id,
        "array_throttle": request.array_throttle,
        "name": request.name,
        "user": request.user,
        "uid": record.uid,
        "gid": record.gid,
        "account": request.account,
        "partition": request.partition,
        "qos": request.qos,
        "state": record.state.value,
        "reason": record.reason if pending else "None",
        "priority": record.priority,
        "submit_time": request.submit_time,
        "eligible_time": record.eligible_time,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "estimated_start": record.estimated_start if pending else None,
        "planned_nodes": list(record.planned_nodes) if pending else [],
        "time_limit_s": request.time_limit_s,
        "nodes": request.nodes,
        "tasks": request.tasks,
        "tasks_given": record.tasks_given,
        "cpus_per_task": request.cpus_per_task,
        "mem_mb": request.mem_mb,
        "gpus_per_node": request.gpus_per_node,
        "gpu_model": request.gpu_model,
        "node_list": compress_hostlist(record.allocation.node_names) if record.allocation else "",
        "allocation": allocation,
        "exit_code": record.exit_code,
        "exit_signal": record.exit_signal,
        "cancelled_by": record.cancelled_by if record.state is JobState.CANCELLED else None,
        "hold": request.hold.value,
        "nice": request.nice,
        "requeue": request.requeue,
        "restart_count": record.restart_count,
        "dependency": dependency_text(record),
        "workdir": record.workdir,
        "stdout": record.stdout,
        "stderr": record.stderr,
        "command": record.command,
        "comment": record.comment,
        "image": record.image,
        "backfilled": record.backfilled,
        "message": record.message,
        "steps": _with_batch_step(record, steps or []),
    }


def allocation_json(record: JobRecord, cluster: Cluster) -> list[dict[str, Any]]:
    """The job's ``allocation``: per node its CPUs, memory and GPUs (indices and UUIDs)."""
    allocation: list[dict[str, Any]] = []
    if record.allocation is not None:
        for part in record.allocation.nodes:
            uuids = {gpu.index: gpu.uuid for gpu in _gpus(cluster, part.node)}
            allocation.append({
                "node": part.node, "cpus": part.cpus, "mem_mb": part.mem_mb,
                "gpus": list(part.gpu_indices),
                "gpu_uuids": [uuids.get(i, "") for i in part.gpu_indices],
            })  # fmt: skip
    return allocation


def dependency_text(record: JobRecord) -> str:
    """As ``scontrol show job`` prints ``Dependency=``: ``afterok:12,singleton``."""
    parts = []
    for dependency in record.request.dependencies:
        if dependency.kind is DependencyKind.SINGLETON:
            parts.append("singleton")
        else:
            parts.append(f"{dependency.kind.value}:{dependency.job_id}")
    return ("?" if record.request.dependency_any else ",").join(parts)


def _gpus(cluster: Cluster, name: str) -> tuple[Any, ...]:
    try:
        return cluster.node(name).gpus
    except KeyError:
        return ()


def _with_batch_step(record: JobRecord, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slurm's ``<job>.batch`` step (the batch shell) first, once the job has started, then the
    steps ``srun`` registered (``<job>.0``, ...)."""
    listed = [dict(step, step_id=str(step["step_id"])) for step in steps]
    for step in listed:
        step.pop("pid", None)
    if record.start_time is None:
        return listed
    batch = {
        "step_id": "batch", "name": "batch",
        "state": record.state.value if not record.active else "RUNNING",
        "exit_code": record.exit_code, "exit_signal": record.exit_signal,
        "start_time": record.start_time, "end_time": record.end_time,
        "node_list": record.allocation.node_names[0] if record.allocation else "",
    }  # fmt: skip
    return [batch, *listed]


def _pending_only(record: JobRecord, value: Any, otherwise: Any) -> Any:
    return value if record.state is JobState.PENDING else otherwise


# Cheap getters for the keys listings ask for most (``squeue -o``): a listing that names its
# ``fields`` builds and sends only those, a fraction of the full resource per job.
_GETTERS: dict[str, Any] = {
    "job_id": lambda r: r.job_id,
    "array_job_id": lambda r: r.request.array_job_id,
    "array_task_id": lambda r: r.request.array_task_id,
    "array_throttle": lambda r: r.request.array_throttle,
    "name": lambda r: r.request.name,
    "user": lambda r: r.request.user,
    "uid": lambda r: r.uid,
    "account": lambda r: r.request.account,
    "partition": lambda r: r.request.partition,
    "qos": lambda r: r.request.qos,
    "state": lambda r: r.state.value,
    "reason": lambda r: _pending_only(r, r.reason, "None"),
    "priority": lambda r: r.priority,
    "submit_time": lambda r: r.request.submit_time,
    "start_time": lambda r: r.start_time,
    "end_time": lambda r: r.end_time,
    "estimated_start": lambda r: _pending_only(r, r.estimated_start, None),
    "time_limit_s": lambda r: r.request.time_limit_s,
    "nodes": lambda r: r.request.nodes,
    "tasks": lambda r: r.request.tasks,
    "cpus_per_task": lambda r: r.request.cpus_per_task,
    "mem_mb": lambda r: r.request.mem_mb,
    "gpus_per_node": lambda r: r.request.gpus_per_node,
    "node_list": lambda r: compress_hostlist(r.allocation.node_names) if r.allocation else "",
    "exit_code": lambda r: r.exit_code,
    "exit_signal": lambda r: r.exit_signal,
    "hold": lambda r: r.request.hold.value,
    "nice": lambda r: r.request.nice,
    "restart_count": lambda r: r.restart_count,
    "workdir": lambda r: r.workdir,
    "gid": lambda r: r.gid,
    "eligible_time": lambda r: r.eligible_time,
    "planned_nodes": lambda r: list(r.planned_nodes) if r.state is JobState.PENDING else [],
    "tasks_given": lambda r: r.tasks_given,
    "gpu_model": lambda r: r.request.gpu_model,
    "cancelled_by": lambda r: r.cancelled_by if r.state is JobState.CANCELLED else None,
    "requeue": lambda r: r.request.requeue,
    "dependency": dependency_text,
    "stdout": lambda r: r.stdout,
    "stderr": lambda r: r.stderr,
    "command": lambda r: r.command,
    "comment": lambda r: r.comment,
    "image": lambda r: r.image,
}


def job_fields(record: JobRecord, cluster: Cluster, names: list[str]) -> dict[str, Any]:
    """Only ``names`` of the job resource (unknown names are left out; heavy ones such as
    ``allocation`` or ``steps`` are built from the full resource)."""
    if all(name in _GETTERS or name == "allocation" for name in names):
        return {
            name: (
                allocation_json(record, cluster) if name == "allocation" else _GETTERS[name](record)
            )
            for name in names
        }
    full = job_json(record, cluster)
    return {name: full[name] for name in names if name in full}


def job_rows(records: list[JobRecord], cluster: Cluster, names: list[str]) -> list[list[Any]]:
    """``names`` of each record as one list (``GET /v1/jobs?fields=...&rows=1``): the compact
    shape for long listings, each key's getter looked up once."""
    if not all(name in _GETTERS or name == "allocation" for name in names):
        return [[job_fields(r, cluster, names).get(n) for n in names] for r in records]
    getters = [
        (lambda r: allocation_json(r, cluster)) if name == "allocation" else _GETTERS[name]
        for name in names
    ]
    return [[getter(record) for getter in getters] for record in records]
