"""`sim.workloads.synthetic`: determinism, the distributions' bounds, and spec validation."""

from __future__ import annotations

import itertools
import math
import random
import statistics

import pytest

from sim.workloads.swf import TraceJob
from sim.workloads.synthetic import SyntheticSpec, generate


def test_same_seed_same_jobs_and_global_random_untouched() -> None:
    random.seed(1)
    before = random.getstate()
    jobs = generate(500, seed=42)
    assert random.getstate() == before
    random.seed(99)  # the global state does not leak in either
    assert generate(500, seed=42) == jobs
    assert generate(500, seed=43) != jobs


def test_golden_first_jobs() -> None:
    """Pins the random streams: a change here changes every synthetic experiment."""
    assert generate(2, seed=7) == (
        TraceJob(job_id=1, submit=42, run_time=27, estimate=67, procs=1, user="user6", status=1),
        TraceJob(job_id=2, submit=47, run_time=14, estimate=67, procs=1, user="user4", status=1),
    )


def test_prefix_is_stable() -> None:
    assert generate(1000, seed=3)[:10] == generate(10, seed=3)


def test_bounds_and_shapes() -> None:
    spec = SyntheticSpec(
        arrival_rate=0.5,
        run_time_min=30,
        run_time_max=7200,
        estimate_factor_max=3.0,
        procs_mix=((1, 1.0), (4, 1.0)),
        gpus_mix=((0, 2.0), (1, 1.0), (8, 0.5)),
        mem_mb_per_proc=2048,
        users=3,
        start=1_000_000,
    )
    jobs = generate(2000, seed=11, spec=spec)
    assert [job.job_id for job in jobs] == list(range(1, 2001))
    submits = [job.submit for job in jobs]
    assert submits == sorted(submits)
    assert submits[0] >= 1_000_000
    for job in jobs:
        assert 30 <= job.run_time <= 7200
        assert job.run_time <= job.estimate <= math.ceil(job.run_time * 3.0)
        assert job.procs in (1, 4)
        assert job.gpus in (0, 1, 8)
        assert job.mem_mb == 2048 * job.procs
        assert job.user in ("user1", "user2", "user3")
    assert {job.gpus for job in jobs} == {0, 1, 8}


def test_poisson_rate_and_log_uniform_run_times() -> None:
    spec = SyntheticSpec(arrival_rate=1 / 120, run_time_min=10, run_time_max=100_000)
    jobs = generate(20_000, seed=5, spec=spec)
    gaps = [b.submit - a.submit for a, b in itertools.pairwise(jobs)]
    assert statistics.fmean(gaps) == pytest.approx(120, rel=0.03)
    logs = [math.log10(job.run_time) for job in jobs]  # uniform over [1, 5]
    assert statistics.fmean(logs) == pytest.approx(3.0, abs=0.05)
    assert sum(1 for x in logs if x < 2) / len(logs) == pytest.approx(0.25, abs=0.02)


def test_exact_estimates() -> None:
    jobs = generate(200, seed=1, spec=SyntheticSpec(estimate_factor_max=1.0))
    assert all(job.estimate == job.run_time for job in jobs)


def test_concerns_draw_independently() -> None:
    base = generate(300, seed=8)
    other = generate(300, seed=8, spec=SyntheticSpec(procs_mix=((64, 1.0),)))
    assert [(j.submit, j.run_time, j.estimate, j.user) for j in base] == [
        (j.submit, j.run_time, j.estimate, j.user) for j in other
    ]
    assert {job.procs for job in other} == {64}


def test_user_skew_favours_the_first_users() -> None:
    jobs = generate(3000, seed=2, spec=SyntheticSpec(users=5, user_skew=2.0))
    counts = [sum(1 for job in jobs if job.user == f"user{k}") for k in range(1, 6)]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > len(jobs) / 2  # weight 1 of 1 + 1/4 + 1/9 + 1/16 + 1/25


def test_zero_jobs() -> None:
    assert generate(0, seed=1) == ()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"arrival_rate": 0.0}, "arrival_rate must be > 0"),
        ({"run_time_min": 0}, "need 0 < run_time_min <= max"),
        ({"run_time_min": 50, "run_time_max": 40}, "need 0 < run_time_min <= max"),
        ({"estimate_factor_max": 0.5}, "estimate_factor_max must be >= 1"),
        ({"procs_mix": ()}, "procs_mix"),
        ({"procs_mix": ((0, 1.0),)}, "procs_mix"),
        ({"gpus_mix": ((1, 0.0),)}, "gpus_mix"),
        ({"mem_mb_per_proc": -1}, "mem_mb_per_proc"),
        ({"users": 0}, "users must be >= 1"),
        ({"user_skew": -1.0}, "user_skew"),
    ],
)
def test_invalid_spec(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match="invalid SyntheticSpec") as caught:
        SyntheticSpec(**changes)  # type: ignore[arg-type]
    assert problem in str(caught.value)


def test_negative_count() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        generate(-1, seed=0)
