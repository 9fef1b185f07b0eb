"""The Alibaba GPU trace v2023 ("openb", ATC'23): its tasks as `TraceJob` values, and its nodes.

`read_alibaba_tasks` returns the CSV rows as typed `AlibabaTask` values, unchanged; `alibaba_jobs`
turns them into jobs, deciding (and counting in the report) what the trace leaves open:

- submit = ``creation_time``; run time = ``deletion_time - scheduled_time``, the time the task
  held its resources; ``trace_wait`` = ``scheduled_time - creation_time``. A task never scheduled
  (no ``scheduled_time``: the Pending pods) is dropped (`DROP_UNSCHEDULED`), as is one without a
  ``deletion_time`` (`DROP_NO_END`) or deleted before it was scheduled (`DROP_NEGATIVE_RUN`).
- estimate = the run time: the trace has no user estimate (SWF's rule for a missing one).
- GPUs: ``num_gpu`` whole GPUs. A shared GPU (``gpu_milli`` 1..999) rounds UP to one whole GPU,
  as Berth does not share GPUs (`SET_WHOLE_GPU`). ``gpu_spec`` ``"A|B"`` -> ``gpu_models``
  ``("A", "B")``; empty means any model.
- CPUs: ``cpu_milli`` rounds UP to whole CPUs (`SET_WHOLE_CPU` when it was fractional); memory:
  ``memory_mib`` is already Berth's unit (MiB).
- user: the trace has no users, so a task's QoS class stands for its user (``LS``, ``BE``,
  ``Burstable``, ``Guaranteed``; ``unknown`` when empty): a stable pseudo-user, which makes the
  fairness index compare service classes. ``qos`` carries the same word; ``group`` is None.
- status (SWF codes): ``Succeeded`` 1, ``Failed`` 0, anything else (``Running``) -1.
- job id = the task's 1-based row in the file, its ``name`` kept; jobs sorted by (submit, id).

Nodes (`read_alibaba_nodes`): ``sn`` -> name, ``cpu_milli // 1000`` CPUs, ``memory_mib`` MiB,
``gpu`` GPUs of ``model`` (None when empty). A missing column or a non-numeric value raises
`TraceFormatError` naming the file (and the line for a value).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import TypeVar

from sim.workloads.swf import Report, TraceFormatError, TraceJob, load_lines

DROP_UNSCHEDULED = "dropped: never scheduled"
DROP_NO_END = "dropped: no deletion time"
DROP_NEGATIVE_RUN = "dropped: deleted before scheduled"
SET_WHOLE_GPU = "modified: shared GPU rounded up to 1"
SET_WHOLE_CPU = "modified: fractional CPU rounded up"

TASK_COLUMNS = (
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
)
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
_STATUS = {"Succeeded": 1, "Failed": 0}
_T = TypeVar("_T")
_Row = dict[str, str | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlibabaTask:
    """One row of the task CSV, typed but unchanged; missing times are None."""

    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int
    gpu_milli: int
    gpu_spec: tuple[str, ...]
    qos: str
    pod_phase: str
    creation_time: int
    deletion_time: int | None
    scheduled_time: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceNode:
    """A node of a trace's cluster, in Berth's units (whole CPUs, MiB, whole GPUs)."""

    name: str
    cpus: int
    mem_mb: int
    gpus: int
    gpu_model: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlibabaTrace:
    """Jobs made from ``tasks`` rows of a task file; the rows not kept are in ``report``."""

    source: str
    tasks: int
    jobs: tuple[TraceJob, ...]
    report: Report

    def count(self, cause: str) -> int:
        """How many tasks the report counts under ``cause`` (0 when none)."""
        return dict(self.report).get(cause, 0)


def read_alibaba_tasks(path: str | os.PathLike[str]) -> tuple[AlibabaTask, ...]:
    """Every row of a task CSV (plain or gzipped), in file order."""
    return _read_csv(path, TASK_COLUMNS, _task)


def read_alibaba_nodes(path: str | os.PathLike[str]) -> tuple[TraceNode, ...]:
    """Every row of a node CSV (plain or gzipped), in file order."""
    return _read_csv(path, NODE_COLUMNS, _node)


def read_alibaba(path: str | os.PathLike[str]) -> AlibabaTrace:
    """`alibaba_jobs` of `read_alibaba_tasks`, with the file name as the source."""
    return alibaba_jobs(read_alibaba_tasks(path), source=os.fspath(path))


def alibaba_jobs(tasks: Iterable[AlibabaTask], *, source: str = "<tasks>") -> AlibabaTrace:
    """Turn task rows into jobs by the rules of the module docstring."""
    counts: Counter[str] = Counter()
    jobs: list[TraceJob] = []
    rows = 0
    for rows, task in enumerate(tasks, 1):
        start, end = task.scheduled_time, task.deletion_time
        if start is None or end is None or end < start:
            counts[_drop_cause(start, end)] += 1
            continue
        gpus = task.num_gpu
        if 0 < task.gpu_milli < 1000:
            counts[SET_WHOLE_GPU] += 1
            gpus = max(gpus, 1)
        if task.cpu_milli % 1000:
            counts[SET_WHOLE_CPU] += 1
        qos = task.qos or "unknown"
        jobs.append(
            TraceJob(
                job_id=rows,
                submit=task.creation_time,
                run_time=end - start,
                estimate=end - start,
                procs=-(-task.cpu_milli // 1000),
                user=qos,
                status=_STATUS.get(task.pod_phase, -1),
                gpus=gpus,
                gpu_models=task.gpu_spec,
                mem_mb=task.memory_mib,
                qos=qos,
                name=task.name,
                trace_wait=start - task.creation_time,
            )
        )
    jobs.sort(key=attrgetter("submit", "job_id"))
    return AlibabaTrace(
        source=source, tasks=rows, jobs=tuple(jobs), report=tuple(sorted(counts.items()))
    )


def _drop_cause(start: int | None, end: int | None) -> str:
    if start is None:
        return DROP_UNSCHEDULED
    return DROP_NO_END if end is None else DROP_NEGATIVE_RUN


def _read_csv(
    path: str | os.PathLike[str], columns: tuple[str, ...], build: Callable[[_Row], _T]
) -> tuple[_T, ...]:
    name = os.fspath(path)
    reader = csv.DictReader(load_lines(path))
    missing = [column for column in columns if column not in (reader.fieldnames or ())]
    if missing:
        raise TraceFormatError(f"{name}:1: missing column(s): {', '.join(missing)}")
    records = []
    for row in reader:
        try:
            records.append(build(row))
        except ValueError as err:
            raise TraceFormatError(f"{name}:{reader.line_num}: {err}") from None
    return tuple(records)


def _text(row: _Row, column: str) -> str:
    text = row[column]
    if text is None:  # DictReader fills the columns a short row lacks with None
        raise ValueError(f"too few fields (no {column})")
    return text


def _int(row: _Row, column: str) -> int:
    text = _text(row, column)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{column} is not an integer: {text!r}") from None


def _optional_int(row: _Row, column: str) -> int | None:
    return _int(row, column) if _text(row, column) else None


def _task(row: _Row) -> AlibabaTask:
    return AlibabaTask(
        name=_text(row, "name"),
        cpu_milli=_int(row, "cpu_milli"),
        memory_mib=_int(row, "memory_mib"),
        num_gpu=_int(row, "num_gpu"),
        gpu_milli=_int(row, "gpu_milli"),
        gpu_spec=tuple(part for part in _text(row, "gpu_spec").split("|") if part),
        qos=_text(row, "qos"),
        pod_phase=_text(row, "pod_phase"),
        creation_time=_int(row, "creation_time"),
        deletion_time=_optional_int(row, "deletion_time"),
        scheduled_time=_optional_int(row, "scheduled_time"),
    )


def _node(row: _Row) -> TraceNode:
    return TraceNode(
        name=_text(row, "sn"),
        cpus=_int(row, "cpu_milli") // 1000,
        mem_mb=_int(row, "memory_mib"),
        gpus=_int(row, "gpu"),
        gpu_model=_text(row, "model") or None,
    )
