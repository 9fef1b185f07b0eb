"""A job as the daemon keeps it: the core's `JobRequest` plus what happened to it.

One `JobRecord` per job (one per array task) lives in the controller's in-memory mirror and, as
JSON, in the ``jobs`` table of the store; `to_row` and `from_row` are the one conversion both ways.
The script text and the submitter's environment are *not* kept in memory (they can be large and
are needed once, at launch): they live only in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from scheduler import (
    Allocation,
    Dependency,
    DependencyKind,
    Hold,
    JobRequest,
    JobState,
    NodeAllocation,
)

ACTIVE = (JobState.PENDING, JobState.RUNNING, JobState.COMPLETING)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalSpec:
    """``--signal=[B:]SIG[@T]``: ``signum`` ``before_s`` seconds before the time limit."""

    signum: int
    before_s: int = 60
    batch_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ArraySpec:
    """What every task knows about its array (``SLURM_ARRAY_TASK_COUNT/MIN/MAX/STEP``)."""

    count: int
    minimum: int
    maximum: int
    step: int


@dataclass(slots=True, kw_only=True)
class JobRecord:
    request: JobRequest
    uid: int
    gid: int
    state: JobState = JobState.PENDING
    reason: str = "None"
    priority: int = 0
    eligible_time: int | None = None
    start_time: int | None = None
    end_time: int | None = None
    estimated_start: int | None = None
    planned_nodes: tuple[str, ...] = ()
    allocation: Allocation | None = None
    backfilled: bool = False
    exit_code: int = 0
    exit_signal: int = 0
    cancelled_by: int | None = None
    restart_count: int = 0
    # What the controller asked of a running job, so its end is named right even after a crash:
    # "cancel", "requeue", "preempt" or "" (none).
    intent: str = ""
    workdir: str = "/"
    stdout: str = ""
    stderr: str = ""
    append: bool = False
    command: str = ""
    comment: str = ""
    image: str = ""
    argv: tuple[str, ...] = ()
    tasks_given: bool = False
    cpus_per_task_given: bool = False
    gpus_per_job: int | None = None
    signal: SignalSpec | None = None
    array: ArraySpec | None = None
    message: str = ""  # the last event's explanation (launch failure, node failure)
    signal_sent: bool = False  # --signal=SIG@T (steps) delivered for this run
    version: int = field(default=0, compare=False)  # bumped on every change

    @property
    def job_id(self) -> int:
        return self.request.job_id

    @property
    def user(self) -> str:
        return self.request.user

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


# Fields whose JSON form is not the value itself.
_SPECIAL = {"request", "state", "allocation", "signal", "array", "planned_nodes", "argv", "version"}


def to_row(record: JobRecord) -> dict[str, Any]:
    """The record as plain JSON-able data (the ``jobs.record`` column)."""
    data: dict[str, Any] = {
        f.name: getattr(record, f.name) for f in fields(JobRecord) if f.name not in _SPECIAL
    }
    data["request"] = _request_to_json(record.request)
    data["state"] = record.state.value
    data["planned_nodes"] = list(record.planned_nodes)
    data["argv"] = list(record.argv)
    data["allocation"] = (
        None
        if record.allocation is None
        else [
            [part.node, part.cpus, part.mem_mb, list(part.gpu_indices)]
            for part in record.allocation.nodes
        ]
    )
    data["signal"] = (
        None
        if record.signal is None
        else [record.signal.signum, record.signal.before_s, record.signal.batch_only]
    )
    data["array"] = (
        None
        if record.array is None
        else [record.array.count, record.array.minimum, record.array.maximum, record.array.step]
    )
    return data


def from_row(data: dict[str, Any]) -> JobRecord:
    plain = {k: v for k, v in data.items() if k not in _SPECIAL}
    allocation = data.get("allocation")
    signal = data.get("signal")
    array = data.get("array")
    return JobRecord(
        request=_request_from_json(data["request"]),
        state=JobState(data["state"]),
        planned_nodes=tuple(data.get("planned_nodes", ())),
        argv=tuple(data.get("argv", ())),
        allocation=None
        if allocation is None
        else Allocation(
            nodes=tuple(
                NodeAllocation(node=n, cpus=c, mem_mb=m, gpu_indices=tuple(g))
                for n, c, m, g in allocation
            )
        ),
        signal=None
        if signal is None
        else SignalSpec(signum=signal[0], before_s=signal[1], batch_only=signal[2]),
        array=None
        if array is None
        else ArraySpec(count=array[0], minimum=array[1], maximum=array[2], step=array[3]),
        **plain,
    )


def _request_to_json(request: JobRequest) -> dict[str, Any]:
    data = {f.name: getattr(request, f.name) for f in fields(JobRequest)}
    data["dependencies"] = [[d.kind.value, d.job_id] for d in request.dependencies]
    data["hold"] = request.hold.value
    data["features"] = list(request.features)
    return data


def _request_from_json(data: dict[str, Any]) -> JobRequest:
    values = dict(data)
    values["dependencies"] = tuple(
        Dependency(kind=DependencyKind(kind), job_id=job_id)
        for kind, job_id in data.get("dependencies", ())
    )
    values["hold"] = Hold(data.get("hold", "none"))
    values["features"] = tuple(data.get("features", ()))
    return JobRequest(**values)


def with_request(record: JobRecord, **changes: Any) -> None:
    """Replace fields of the record's (immutable) request in place and bump its version."""
    record.request = replace(record.request, **changes)
    record.version += 1
