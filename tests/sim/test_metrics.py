"""`sim.metrics`: a hand-computed schedule, percentile edge cases, Jain's index, the CSV."""

from __future__ import annotations

import io
from fractions import Fraction

import pytest

from sim.metrics import (
    CSV_COLUMNS,
    JobRecord,
    bounded_slowdown,
    jain_index,
    percentile,
    summarize,
    user_service,
    write_jobs_csv,
)

# A schedule on 10 processors and 4 GPUs, checked by hand (peak use 10 processors at 105..145):
#   job user submit start end procs gpus | wait run | bounded slowdown, tau 10
#   1   a      0      0   100   4    0   |   0  100 | max(1, 100 / 100)          = 1
#   2   a     10    100   105   6    0   |  90    5 | (90 + 5) / max(5, 10)      = 9.5
#   3   b     20    100   300   2    0   |  80  200 | (80 + 200) / 200           = 1.4
#   4   b     50    105   145   8    2   |  55   40 | (55 + 40) / 40             = 2.375
# waits sorted 0 55 80 90: mean 225 / 4 = 56.25, median (55 + 80) / 2 = 67.5, p95 = rank
# ceil(0.95 * 4) = 4 -> 90, max 90. Mean bsld 14.275 / 4 = 3.56875. Work 400 + 30 + 400 + 320 =
# 1150 processor-seconds, GPU work 80; first submit 0, last start 105, last end 300.
SCHEDULE = (
    JobRecord(job_id=1, user="a", submit=0, start=0, end=100, procs=4),
    JobRecord(job_id=2, user="a", submit=10, start=100, end=105, procs=6),
    JobRecord(job_id=3, user="b", submit=20, start=100, end=300, procs=2),
    JobRecord(job_id=4, user="b", submit=50, start=105, end=145, procs=8, gpus=2),
)
# Normalised service: a = 1 / mean(1, 9.5) = 4/21, b = 1 / mean(1.4, 2.375) = 80/151.
X_A, X_B = Fraction(4, 21), Fraction(80, 151)
JAIN = (X_A + X_B) ** 2 / (2 * (X_A**2 + X_B**2))
DESIGN_KEYS = {
    "jobs",
    "mean_wait_s",
    "median_wait_s",
    "p95_wait_s",
    "max_wait_s",
    "mean_bounded_slowdown",
    "utilization",
    "makespan_s",
}


def test_hand_computed_summary() -> None:
    summary = summarize(SCHEDULE, capacity=10, gpu_capacity=4)
    assert summary.as_dict() == pytest.approx(
        {
            "jobs": 4,
            "users": 2,
            "mean_wait_s": 56.25,
            "median_wait_s": 67.5,
            "p95_wait_s": 90,
            "max_wait_s": 90,
            "mean_bounded_slowdown": 3.56875,
            "max_bounded_slowdown": 9.5,
            "utilization": 1150 / 3000,  # §A: work / (10 * (300 - 0))
            "rlscheduler_utilization": 1150 / 1050,  # §B: work / (10 * (105 - 0)); may exceed 1
            "gpu_utilization": 80 / 1200,  # GPU work / (4 * 300)
            "makespan_s": 300,
            "throughput_jobs_per_h": 48.0,  # 4 jobs * 3600 / 300 s
            "jain_fairness": float(JAIN),
        },
        rel=1e-12,
    )
    assert (summary.p95_wait_s, summary.makespan_s) == (90, 300)


def test_user_service() -> None:
    (user_a, x_a), (user_b, x_b) = user_service(reversed(SCHEDULE))
    assert (user_a, user_b) == ("a", "b")
    assert (x_a, x_b) == pytest.approx((float(X_A), float(X_B)), rel=1e-12)


def test_as_dict_carries_the_design_keys() -> None:
    data = summarize(SCHEDULE, capacity=10).as_dict()
    assert data.keys() >= DESIGN_KEYS
    assert list(data)[:3] == ["jobs", "users", "mean_wait_s"]
    assert (data["jobs"], data["p95_wait_s"], data["gpu_utilization"]) == (4, 90, 0.0)


def test_empty_schedule() -> None:
    summary = summarize((), capacity=10)
    assert (summary.jobs, summary.mean_wait_s, summary.utilization) == (0, 0, 0)
    assert summary.jain_fairness == 1.0


def test_zero_length_schedule() -> None:
    record = JobRecord(job_id=1, user="a", submit=5, start=5, end=5, procs=1)
    summary = summarize([record], capacity=1)
    assert (summary.makespan_s, summary.utilization, summary.throughput_jobs_per_h) == (0, 0, 0)
    assert summary.mean_bounded_slowdown == 1.0


@pytest.mark.parametrize(("capacity", "gpus"), [(0, 0), (-1, 0), (10, -1)])
def test_bad_capacity(capacity: int, gpus: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        summarize(SCHEDULE, capacity=capacity, gpu_capacity=gpus)


# (wait, run, tau, expected): max(1, (wait + run) / max(run, tau))
SLOWDOWNS = [
    (0, 0, 10, 1.0),  # 0 / 10 -> floor of 1
    (5, 5, 10, 1.0),  # 10 / 10
    (90, 5, 10, 9.5),  # 95 / 10: a short job's slowdown is bounded by tau
    (0, 100, 10, 1.0),
    (100, 100, 10, 2.0),
    (10, 1, 1, 11.0),  # tau 1: 11 / 1
]


@pytest.mark.parametrize(("wait", "run", "tau", "expected"), SLOWDOWNS)
def test_bounded_slowdown(wait: int, run: int, tau: int, expected: float) -> None:
    assert bounded_slowdown(wait, run, tau) == expected


# (values, p, expected): nearest rank = ceil(p / 100 * n), 1-based, rank 1 for p = 0
PERCENTILES = [
    ([7], 0, 7),
    ([7], 50, 7),
    ([7], 100, 7),
    ([1, 2, 3, 4], 50, 2),  # rank 2: the lower middle (the median would be 2.5)
    ([1, 2, 3, 4], 25, 1),  # rank 1
    ([1, 2, 3, 4], 26, 2),  # rank ceil(1.04) = 2
    ([5, 1, 4], 50, 4),  # unsorted input; rank ceil(1.5) = 2
    (list(range(1, 21)), 95, 19),  # rank 19 of 20
    (list(range(1, 21)), 100, 20),
    (list(range(1, 21)), 0, 1),
    (list(range(1, 21)), 5, 1),  # rank exactly 1
    (list(range(1, 21)), 5.1, 2),  # rank ceil(1.02) = 2
    (list(range(1, 1001)), 99.9, 999),  # exact: float arithmetic would give rank 1000
    ([2.5, 0.5], 50, 0.5),
]


@pytest.mark.parametrize(("values", "p", "expected"), PERCENTILES)
def test_nearest_rank_percentile(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == expected


@pytest.mark.parametrize(
    ("values", "p", "problem"),
    [([], 50, "no values"), ([1], -1, r"\[0, 100\]"), ([1], 100.5, r"\[0, 100\]")],
)
def test_percentile_errors(values: list[float], p: float, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        percentile(values, p)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 1.0, 1.0], 1.0),  # equal shares
        ([0.3, 0.3], 1.0),
        ([5.0, 0.0, 0.0, 0.0], 0.25),  # one of n gets everything: 1 / n
        ([1.0, 0.0], 0.5),
        ([1.0, 3.0], 0.8),  # 16 / (2 * 10)
        ([0.0, 0.0], 1.0),  # nobody favoured
    ],
)
def test_jain_index(values: list[float], expected: float) -> None:
    assert jain_index(values) == pytest.approx(expected)


def test_jain_index_of_nothing() -> None:
    with pytest.raises(ValueError, match="no values"):
        jain_index([])


def test_record_must_be_ordered_in_time() -> None:
    with pytest.raises(ValueError, match="job 9: need submit <= start <= end"):
        JobRecord(job_id=9, user="a", submit=10, start=5, end=20, procs=1)
    with pytest.raises(ValueError, match="job 9"):
        JobRecord(job_id=9, user="a", submit=0, start=5, end=4, procs=1)


def test_jobs_csv() -> None:
    stream = io.StringIO()
    write_jobs_csv(SCHEDULE[:2], stream)
    assert stream.getvalue() == (
        ",".join(CSV_COLUMNS) + "\n1,a,0,0,100,0,100,4,0,1.0\n2,a,10,100,105,90,5,6,0,9.5\n"
    )
