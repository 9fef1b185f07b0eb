"""A parsed submission (`daemon.submission.Draft`) -> its job records, one per array task.

The first task's id is the array's id (Slurm gives the array's id to one task too); output
paths have what is known at submit expanded (``%j``, ``%A``, ``%a``, ``%u``, ``%x``), while
``%N`` waits for the node at launch (`daemon.launching`).
"""

from __future__ import annotations

from daemon.filenames import default_output, expand_pattern, resolve_output
from daemon.jobenv import array_step
from daemon.records import ArraySpec, JobRecord
from daemon.submission import Draft
from scheduler import Dependency, Hold, JobRequest


def array_spec_values(indices: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(count, min, max, step) for ``SLURM_ARRAY_TASK_*`` (the step as `daemon.jobenv` defines
    it: the common gap of evenly spaced ids, else 1)."""
    return len(indices), indices[0], indices[-1], array_step(indices)


def build_records(
    draft: Draft, *, user: str, uid: int, gid: int, now: int, first_id: int,
    dependencies: tuple[Dependency, ...],
) -> list[JobRecord]:  # fmt: skip
    """The records of a submission, ids from ``first_id`` on (one per array task, the first
    task's id being the array's id); output paths expanded as far as submit time allows."""
    indices: tuple[int | None, ...] = draft.array_indices or (None,)
    array = None
    if draft.array_indices:
        count, low, high, step = array_spec_values(draft.array_indices)
        array = ArraySpec(count=count, minimum=low, maximum=high, step=step)
    output = draft.output or default_output(bool(draft.array_indices))
    records = []
    for offset, task in enumerate(indices):
        request = JobRequest(
            job_id=first_id + offset,
            user=user,
            submit_time=now,
            time_limit_s=draft.time_limit_s,
            name=draft.name,
            account=draft.account,
            partition=draft.partition,
            qos=draft.qos,
            nodes=draft.nodes,
            tasks=draft.tasks,
            cpus_per_task=draft.cpus_per_task,
            mem_mb=draft.mem_mb,
            gpus_per_node=draft.gpus_per_node,
            gpu_model=draft.gpu_model,
            nice=draft.nice,
            dependencies=dependencies,
            dependency_any=draft.dependency_any,
            begin_time=draft.begin_time,
            hold=draft.hold,
            array_job_id=first_id if task is not None else None,
            array_task_id=task,
            array_throttle=draft.array_throttle,
            requeue=draft.requeue,
            features=draft.features,
        )
        records.append(
            JobRecord(
                request=request,
                uid=uid,
                gid=gid,
                eligible_time=now if draft.begin_time is None else draft.begin_time,
                workdir=draft.workdir,
                stdout=_output_path(output, request, draft.workdir),
                stderr=_output_path(draft.error or output, request, draft.workdir),
                append=draft.append,
                command=draft.command,
                comment=draft.comment,
                image=draft.image,
                argv=draft.argv,
                tasks_given=draft.tasks_given,
                cpus_per_task_given=draft.cpus_per_task_given,
                gpus_per_job=draft.gpus_per_job,
                signal=draft.signal,
                array=array,
                reason="JobHeldUser" if draft.hold is Hold.USER else "None",
            )
        )
    return records

def _output_path(pattern: str, request: JobRequest, workdir: str) -> str:
    """The output pattern with what is known at submit expanded (``%N`` waits for a node)."""
    expanded = expand_pattern(
        pattern, job_id=request.job_id, array_job_id=request.array_job_id,
        array_task_id=request.array_task_id, user=request.user, name=request.name,
    )  # fmt: skip
    return resolve_output(expanded, workdir)
