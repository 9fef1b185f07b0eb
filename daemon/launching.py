"""A started job record -> the executor's `LaunchSpec`: environment, output paths, limits."""

from __future__ import annotations

import pwd
import socket

from daemon.executors.base import LaunchSpec, RunKey
from daemon.filenames import expand_pattern
from daemon.jobenv import BatchContext, batch_environment
from daemon.records import JobRecord
from daemon.site import Site


def launch_spec(
    record: JobRecord, script: str, environment: dict[str, str], site: Site,
    *, renumber_gpus: bool = False,
) -> LaunchSpec:  # fmt: skip
    request = record.request
    allocation = record.allocation
    assert allocation is not None
    assert record.start_time is not None
    first = allocation.nodes[0]
    node = site.cluster.node(first.node)
    uuids = {gpu.index: gpu.uuid for gpu in node.gpus}
    summary = None
    if record.array is not None:
        spec = record.array
        summary = (spec.count, spec.minimum, spec.maximum, spec.step)
    context = BatchContext(
        job_id=record.job_id,
        name=request.name,
        user=request.user,
        nodes=allocation.node_names,
        cpus_per_node=tuple(part.cpus for part in allocation.nodes),
        submit_dir=record.workdir,
        socket_path=str(site.settings.socket),
        array_job_id=request.array_job_id,
        array_task_id=request.array_task_id,
        array_summary=summary,
        partition=request.partition,
        account=request.account,
        qos=request.qos,
        ntasks=request.tasks if record.tasks_given else None,
        tasks_per_node=(request.tasks_per_node,) * request.nodes,
        cpus_per_task=request.cpus_per_task if record.cpus_per_task_given else None,
        mem_per_node_mb=request.mem_mb or None,
        gpu_indices=first.gpu_indices,
        gpu_uuids=tuple(uuids.get(i, "") for i in first.gpu_indices),
        gpus_per_job=record.gpus_per_job,
        submit_host=environment.get("HOSTNAME", "") or socket.gethostname(),
        cluster_name=site.settings.cluster_name,
        restart_count=record.restart_count,
        open_mode="a" if record.append else None,
    )
    env = batch_environment(environment, context, renumber_gpus=renumber_gpus)

    def path(pattern: str) -> str:
        return expand_pattern(
            pattern, job_id=record.job_id, array_job_id=request.array_job_id,
            array_task_id=request.array_task_id, user=request.user, name=request.name,
            node=first.node, node_index=0, task_id=0,
        )  # fmt: skip

    signal = record.signal
    return LaunchSpec(
        key=RunKey(job_id=record.job_id, restart_count=record.restart_count),
        name=request.name,
        user=request.user,
        uid=record.uid,
        gid=_gid(record),
        script=script,
        argv=record.argv,
        workdir=record.workdir,
        environment=env,
        stdout_path=path(record.stdout),
        stderr_path=path(record.stderr),
        append=record.append,
        cpus=first.cpus,
        mem_mb=first.mem_mb,
        gpu_indices=first.gpu_indices,
        gpu_uuids=context.gpu_uuids,
        deadline=record.start_time + request.time_limit_s,
        kill_wait_s=site.settings.kill_wait_s,
        image=record.image,
        # The supervisor delivers --signal=B:SIG@T to the batch shell; without B: the signal is
        # for the job's steps, which the controller knows (daemon.housekeeping.warn_steps).
        signal_number=signal.signum if signal is not None and signal.batch_only else None,
        signal_before_s=signal.before_s if signal is not None and signal.batch_only else 0,
        signal_batch_only=True,
    )


def _gid(record: JobRecord) -> int:
    """The submitter's gid as the kernel reported it; the password database's primary group
    when the record has none (tokens carry no gid)."""
    if record.gid != record.uid or record.uid == 0:
        return record.gid
    try:
        return pwd.getpwuid(record.uid).pw_gid
    except KeyError:
        return record.gid
