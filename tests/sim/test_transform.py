"""`sim.workloads.transform`: slices, rebasing and load scaling on hand-made jobs."""

from __future__ import annotations

import math

import pytest

from sim.workloads.swf import TraceJob, read_swf
from sim.workloads.transform import first, rebase, scale_load, time_window, window
from tests.sim import DEMO_SWF


def _jobs(*submits: int) -> tuple[TraceJob, ...]:
    return tuple(
        TraceJob(job_id=i, submit=s, run_time=60, estimate=120, procs=2, user="u")
        for i, s in enumerate(submits, 1)
    )


JOBS = _jobs(100, 103, 110, 110, 150)


def _submits(jobs: tuple[TraceJob, ...]) -> list[int]:
    return [job.submit for job in jobs]


def _ids(jobs: tuple[TraceJob, ...]) -> list[int]:
    return [job.job_id for job in jobs]


def test_first() -> None:
    assert first(JOBS, 2) == JOBS[:2]
    assert first(JOBS, 99) == JOBS
    assert first(JOBS, 0) == ()
    assert _submits(first(JOBS, 3, rebased=True)) == [0, 3, 10]
    with pytest.raises(ValueError, match="n must be >= 0"):
        first(JOBS, -1)


def test_window_by_index() -> None:
    assert _ids(window(JOBS, 1, 3)) == [2, 3, 4]
    assert _submits(window(JOBS, 2, 3, rebased=True)) == [0, 0, 40]
    assert window(JOBS, 5, 0) == ()
    with pytest.raises(ValueError, match=r"window \[3, 6\) passes the end \(5 jobs\)"):
        window(JOBS, 3, 3)
    with pytest.raises(ValueError, match="must be >= 0"):
        window(JOBS, -1, 2)


def test_rlscheduler_style_window_on_the_demo_slice() -> None:
    jobs = read_swf(DEMO_SWF).jobs
    chunk = window(jobs, 976, 1024, rebased=True)  # the last 1,024 of 2,000 jobs
    assert len(chunk) == 1024
    assert (chunk[0].job_id, chunk[-1].job_id) == (jobs[976].job_id, jobs[-1].job_id)
    assert chunk[0].submit == 0
    assert [j.submit - chunk[0].submit for j in chunk] == [
        j.submit - jobs[976].submit for j in jobs[976:]
    ]


def test_time_window_is_half_open() -> None:
    assert _ids(time_window(JOBS, 103, 150)) == [2, 3, 4]
    assert _submits(time_window(JOBS, 104, 200, rebased=True)) == [0, 0, 40]
    assert time_window(JOBS, 200, 300) == ()


def test_rebase() -> None:
    assert _submits(rebase(JOBS)) == [0, 3, 10, 10, 50]
    assert _submits(rebase(JOBS, origin=1000)) == [1000, 1003, 1010, 1010, 1050]
    assert rebase(JOBS, origin=100) == JOBS
    assert rebase(()) == ()
    moved = rebase(_jobs(20, 10))  # the earliest submit, not the first job's, becomes 0
    assert _submits(moved) == [10, 0]
    assert [(job.job_id, job.run_time, job.estimate) for job in moved] == [
        (1, 60, 120),
        (2, 60, 120),
    ]


# (factor, expected submits of JOBS): s0 + floor((s - s0) / factor + 0.5), offsets 0 3 10 10 50
SCALING = [
    (1.0, [100, 103, 110, 110, 150]),
    (2.0, [100, 102, 105, 105, 125]),  # 1.5 rounds up to 2
    (4.0, [100, 101, 103, 103, 113]),  # 0.75 -> 1, 2.5 -> 3, 12.5 -> 13
    (0.5, [100, 106, 120, 120, 200]),
    (3.0, [100, 101, 103, 103, 117]),
]


@pytest.mark.parametrize(("factor", "expected"), SCALING)
def test_scale_load(factor: float, expected: list[int]) -> None:
    scaled = scale_load(JOBS, factor)
    assert _submits(scaled) == expected
    assert [(j.job_id, j.run_time, j.estimate) for j in scaled] == [
        (j.job_id, j.run_time, j.estimate) for j in JOBS
    ]
    assert _submits(JOBS) == [100, 103, 110, 110, 150]  # input untouched


@pytest.mark.parametrize("factor", [0.0, -1.0, math.inf, math.nan])
def test_scale_load_refuses_bad_factors(factor: float) -> None:
    with pytest.raises(ValueError, match="finite number > 0"):
        scale_load(JOBS, factor)


def test_scale_load_empty() -> None:
    assert scale_load((), 2.0) == ()
