"""Eligibility: holds, dependencies, begin times, partition limits and array throttles."""

from __future__ import annotations

import pytest

from scheduler import (
    Dependency,
    DependencyKind,
    FinishedJob,
    Hold,
    JobState,
    PendingReason,
    Policy,
    RunningJob,
    Snapshot,
    schedule,
)
from tests.scheduler.builders import cluster_of, gpu_node, job, running, slurm_4x4

R = PendingReason
K = DependencyKind
OK = FinishedJob(job_id=1, state=JobState.COMPLETED, exit_code=0)
FAILED = FinishedJob(job_id=1, state=JobState.FAILED, exit_code=3)
TIMEOUT = FinishedJob(job_id=1, state=JobState.TIMEOUT)


def _reason_or_start(target: object, kind: DependencyKind, *, any_of: bool = False) -> str:
    """Schedule job 2 depending on job 1 in the state ``target``."""
    dependent = job(2, dependencies=(Dependency(kind=kind, job_id=1),), dependency_any=any_of)
    finished: tuple[FinishedJob, ...] = ()
    running_jobs: tuple[RunningJob, ...] = ()
    pending = [dependent]
    if isinstance(target, FinishedJob):
        finished = (target,)
    elif target == "running":
        running_jobs = (running(job(1), 0, ("n1", 1, ())),)
    elif target == "pending":
        pending.append(job(1, hold=Hold.USER))
    snapshot = Snapshot(
        cluster=slurm_4x4(), running=running_jobs, pending=tuple(pending), finished=finished
    )
    plan = schedule(snapshot, 10, Policy())
    if any(s.job_id == 2 for s in plan.starts):
        return "start"
    return plan.pending_by_id()[2].reason.value


@pytest.mark.parametrize(
    ("kind", "target", "expected"),
    [
        (K.AFTEROK, OK, "start"),
        (K.AFTEROK, FAILED, "DependencyNeverSatisfied"),
        (K.AFTEROK, TIMEOUT, "DependencyNeverSatisfied"),
        (K.AFTEROK, "running", "Dependency"),
        (K.AFTEROK, "pending", "Dependency"),
        (K.AFTEROK, "purged", "start"),  # Slurm lifts a dependency on a purged job
        (K.AFTERNOTOK, FAILED, "start"),
        (K.AFTERNOTOK, TIMEOUT, "start"),
        (K.AFTERNOTOK, OK, "DependencyNeverSatisfied"),
        (K.AFTERANY, FAILED, "start"),
        (K.AFTERANY, OK, "start"),
        (K.AFTERANY, "running", "Dependency"),
        (K.AFTER, "running", "start"),
        (K.AFTER, "pending", "Dependency"),
    ],
)
def test_dependency_table(kind: DependencyKind, target: object, expected: str) -> None:
    assert _reason_or_start(target, kind) == expected


def test_any_of_dependencies_needs_one_and_fails_only_when_all_fail() -> None:
    ok_or_fail = (Dependency(kind=K.AFTEROK, job_id=1), Dependency(kind=K.AFTEROK, job_id=3))
    both_failed = (FAILED, FinishedJob(job_id=3, state=JobState.FAILED, exit_code=1))
    one_ok = (FAILED, FinishedJob(job_id=3, state=JobState.COMPLETED))
    for finished, expected in ((both_failed, R.DEPENDENCY_NEVER_SATISFIED), (one_ok, None)):
        snapshot = Snapshot(
            cluster=slurm_4x4(),
            pending=(job(2, dependencies=ok_or_fail, dependency_any=True),),
            finished=finished,
        )
        plan = schedule(snapshot, 10, Policy())
        reason = plan.pending[0].reason if plan.pending else None
        assert reason is expected


def test_reason_precedence_hold_then_dependency_then_begin_time() -> None:
    dep = (Dependency(kind=K.AFTEROK, job_id=99),)
    jobs = (
        job(1, hold=Hold.ADMIN, dependencies=dep, begin_time=100, submit=1),
        job(2, hold=Hold.USER, dependencies=dep, begin_time=100, submit=2),
        job(3, dependencies=dep, begin_time=100, submit=3),
        job(4, begin_time=100, submit=4),
        job(99, hold=Hold.USER, submit=5),
    )
    pending = schedule(Snapshot(cluster=slurm_4x4(), pending=jobs), 10, Policy()).pending_by_id()
    assert pending[1].reason is R.JOB_HELD_ADMIN
    assert pending[2].reason is R.JOB_HELD_USER
    assert pending[3].reason is R.DEPENDENCY
    assert pending[4].reason is R.BEGIN_TIME


def test_begin_time_reached_starts_the_job() -> None:
    plan = schedule(Snapshot(cluster=slurm_4x4(), pending=(job(1, begin_time=10),)), 10, Policy())
    assert [s.job_id for s in plan.starts] == [1]


def test_partition_limits_and_unknown_qos() -> None:
    cluster = cluster_of(gpu_node("n1"), max_time_s=600)
    jobs = (job(1, minutes=20), job(2, qos="nope"), job(3, partition="gone"))
    pending = schedule(Snapshot(cluster=cluster, pending=jobs), 10, Policy()).pending_by_id()
    assert pending[1].reason is R.PARTITION_TIME_LIMIT
    assert pending[2].reason is R.INVALID_QOS
    assert pending[3].reason is R.PARTITION_DOWN


def test_singleton_waits_for_the_running_namesake_and_lets_only_one_start() -> None:
    single = (Dependency(kind=K.SINGLETON),)
    jobs = (job(1, name="x", dependencies=single), job(2, name="x", dependencies=single, submit=1))
    plan = schedule(Snapshot(cluster=slurm_4x4(), pending=jobs), 10, Policy())
    assert [s.job_id for s in plan.starts] == [1]
    assert plan.pending_by_id()[2].reason is R.DEPENDENCY
