"""`sim.workloads.bulk_constructor`: the records it builds are the class's own, equal and
hash-equal to those of the ordinary constructor, frozen, with defaults and ``__post_init__``;
classes it cannot mirror are refused. Also the SWF reader and `summarize` paths that use it or
were reshaped for speed, against a plain restatement of their definitions."""

from __future__ import annotations

import copy
import math
import pickle
import statistics
from dataclasses import FrozenInstanceError, InitVar, dataclass, field, fields, replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler import Allocation, Dependency, DependencyKind, Hold, JobRequest, RunningJob
from sim.metrics import JobRecord, bounded_slowdown, summarize
from sim.workloads import PWA_POOL, RLSCHEDULER, TraceJob, bulk_constructor, read_swf

new_request = bulk_constructor(JobRequest)
REQUIRED: dict[str, Any] = {"job_id": 7, "user": "ann", "submit_time": 30, "time_limit_s": 600}
# A value other than the default for every optional field of JobRequest.
OTHERS: dict[str, Any] = {
    "name": "train",
    "account": "lab",
    "partition": "gpu",
    "qos": "high",
    "nodes": 2,
    "tasks": 8,
    "cpus_per_task": 4,
    "mem_mb": 1024,
    "gpus_per_node": 2,
    "gpu_model": "a100",
    "nice": 5,
    "dependencies": (Dependency(kind=DependencyKind.AFTEROK, job_id=3),),
    "dependency_any": True,
    "begin_time": 99,
    "hold": Hold.USER,
    "array_job_id": 7,
    "array_task_id": 1,
    "array_throttle": 2,
    "requeue": False,
    "features": ("ib",),
    "admin_priority": 10,
}


def _same(built: object, expected: object) -> None:
    assert type(built) is type(expected)
    assert built == expected
    assert hash(built) == hash(expected)
    assert repr(built) == repr(expected)


def test_others_cover_every_optional_field() -> None:
    optional = {f.name for f in fields(JobRequest)} - REQUIRED.keys()
    assert optional == OTHERS.keys()


def test_defaults_only() -> None:
    _same(new_request(**REQUIRED), JobRequest(**REQUIRED))


@given(st.sets(st.sampled_from(sorted(OTHERS))))
def test_any_subset_of_fields(names: set[str]) -> None:
    arguments = REQUIRED | {name: OTHERS[name] for name in names}
    _same(new_request(**arguments), JobRequest(**arguments))


def test_built_values_stay_frozen_and_behave_as_the_class() -> None:
    built = new_request(**REQUIRED, nodes=2, tasks=3)
    with pytest.raises(FrozenInstanceError):
        built.nodes = 3  # type: ignore[misc]
    assert (built.tasks_per_node, built.cpus_per_node) == (2, 2)
    assert isinstance(built, JobRequest)
    _same(replace(built, nodes=1), JobRequest(**REQUIRED, tasks=3))
    _same(copy.deepcopy(built), built)
    _same(pickle.loads(pickle.dumps(built)), built)
    assert {built: 1}[JobRequest(**REQUIRED, nodes=2, tasks=3)] == 1


def test_other_model_classes() -> None:
    _same(bulk_constructor(Allocation)(), Allocation())  # a default_factory field
    request = JobRequest(**REQUIRED)
    built = bulk_constructor(RunningJob)(request=request, allocation=Allocation(), start_time=5)
    _same(built, RunningJob(request=request, allocation=Allocation(), start_time=5))
    job: dict[str, Any] = {
        "job_id": 1,
        "submit": 2,
        "run_time": 3,
        "estimate": 4,
        "procs": 5,
        "user": "u",
    }
    _same(bulk_constructor(TraceJob)(**job), TraceJob(**job))


def test_post_init_runs_on_the_built_value() -> None:
    new_record = bulk_constructor(JobRecord)
    good: dict[str, Any] = {"job_id": 1, "user": "a", "submit": 0, "start": 1, "end": 2, "procs": 1}
    _same(new_record(**good), JobRecord(**good))
    with pytest.raises(ValueError, match=r"job 1: need .* got JobRecord\(job_id=1"):
        new_record(**(good | {"start": 5}))


def test_wrong_arguments_fail_as_with_the_class() -> None:
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'user'"):
        new_request(job_id=1, submit_time=0, time_limit_s=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        new_request(**REQUIRED, colour="red")  # type: ignore[call-arg]


@dataclass(frozen=True)
class _NoSlots:
    a: int


@dataclass(frozen=True, slots=True, weakref_slot=True)
class _WeakSlot:
    a: int


@dataclass(frozen=True, slots=True)
class _WithInitVar:
    a: int
    b: InitVar[int] = 0

    def __post_init__(self, b: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class _NotInInit:
    a: int
    b: int = field(default=0, init=False)


@pytest.mark.parametrize(
    ("cls", "problem"),
    [
        (int, "is not a dataclass"),
        (_NoSlots, "is not a slotted dataclass"),
        (_WeakSlot, "is not a slotted dataclass"),
        (_WithInitVar, "takes other parameters than its fields"),
        (_NotInInit, "takes other parameters than its fields"),
    ],
)
def test_classes_it_cannot_mirror(cls: type, problem: str) -> None:
    with pytest.raises(TypeError, match=problem):
        bulk_constructor(cls)


def _swf(job_id: int, user: int, group: int, *, submit: int = 50, run: str = "10") -> str:
    fields = [job_id, submit, 7, run, 2, -1, -1, 2, 20, -1, 1, user, group, -1, -1, -1, -1, -1]
    return " ".join(str(value) for value in fields)


def test_reader_shares_one_string_per_id_and_reads_headers_anywhere() -> None:
    lines = [
        "; MaxProcs: 8",
        _swf(1, user=4, group=4),
        "",
        "; a comment between jobs",
        _swf(2, user=4, group=-1, run="9.5"),  # a decimal: the slower path, rounded to even
        _swf(3, user=-1, group=4),
    ]
    trace = read_swf(lines, rules=RLSCHEDULER)
    first, second, third = trace.jobs
    assert (first.user, first.group, second.group, third.user) == ("4", "4", None, "unknown")
    assert first.user is first.group is second.user is third.group
    assert (second.run_time, trace.lines, trace.header.processors) == (10, 3, 8)
    assert trace.header.lines == ("; MaxProcs: 8", "; a comment between jobs")
    assert all(type(job) is TraceJob for job in trace.jobs)


def test_reader_lines_count_every_drop() -> None:
    lines = [_swf(1, 1, 1), _swf(2, 1, 1, run="0"), "1 2 3", _swf(3, 1, 1, run="-1")]
    trace = read_swf(lines, rules=RLSCHEDULER, strict=False)
    assert (trace.lines, len(trace.jobs)) == (4, 2)
    assert sum(count for cause, count in trace.report if cause.startswith("dropped")) == 2
    assert read_swf(lines[:1], rules=PWA_POOL).report == ()


_RECORDS = st.lists(
    st.tuples(
        st.sampled_from("abcd"),
        st.integers(0, 10**6),
        st.integers(0, 10**5),
        st.integers(0, 10**5),
        st.integers(1, 64),
        st.integers(0, 8),
    ),
    min_size=1,
    max_size=40,
)


@given(_RECORDS)
def test_summarize_matches_its_definitions(rows: list[tuple[str, int, int, int, int, int]]) -> None:
    records = [
        JobRecord(job_id=i, user=u, submit=s, start=s + w, end=s + w + r, procs=p, gpus=g)
        for i, (u, s, w, r, p, g) in enumerate(rows)
    ]
    summary = summarize(records, capacity=64, gpu_capacity=8)
    waits = sorted(record.wait for record in records)
    slowdowns = [bounded_slowdown(record.wait, record.run) for record in records]
    per_user: dict[str, list[float]] = {}
    for record, slowdown in zip(records, slowdowns, strict=True):
        per_user.setdefault(record.user, []).append(slowdown)
    service = [len(v) / math.fsum(v) for _, v in sorted(per_user.items())]
    first = min(record.submit for record in records)
    makespan = max(record.end for record in records) - first
    work = sum(record.run * record.procs for record in records)
    assert summary.users == len(per_user)
    assert summary.median_wait_s == statistics.median(waits)
    assert summary.mean_bounded_slowdown == math.fsum(slowdowns) / len(records)
    assert summary.max_bounded_slowdown == max(slowdowns)
    assert summary.utilization == (work / (64 * makespan) if makespan else 0.0)
    assert summary.jain_fairness == math.fsum(service) ** 2 / (
        len(service) * math.fsum(x * x for x in service)
    )
