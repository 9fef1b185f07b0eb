"""Backfill on one pool of processors (the textbook setting of VALIDATION.md §A), overrunning
jobs, preemption and the bf_window bound."""

from __future__ import annotations

from scheduler import (
    BackfillMode,
    Caps,
    Cluster,
    Limits,
    Node,
    Partition,
    PendingReason,
    Policy,
    Qos,
    Snapshot,
    schedule,
)
from tests.scheduler.builders import cluster_of, fifo_policy, gpu_node, job, running

POOL = Cluster(
    nodes=(Node(name="pool", cpus=10, mem_mb=0, partitions=("debug",)),),
    partitions=(Partition(name="debug", nodes=("pool",), default=True),),
)


def _easy(now: int, runs: tuple[object, ...], *pending: object) -> dict[int, object]:
    plan = schedule(
        Snapshot(cluster=POOL, running=runs, pending=pending),  # type: ignore[arg-type]
        now,
        fifo_policy(backfill=BackfillMode.EASY),
    )
    result: dict[int, object] = {s.job_id: "start" for s in plan.starts}
    result.update({p.job_id: (p.reason, p.estimated_start) for p in plan.pending})
    return result


def test_textbook_easy_extra_processors() -> None:
    # 6 of 10 processors busy until t=100. Head needs 8: shadow time 100, extra = 10 - 8 = 2.
    busy = (running(job(1, cpus=6, time_limit_s=100), 0, ("pool", 6, ())),)
    head = job(2, cpus=8, time_limit_s=50, submit=1)
    long_narrow = job(3, cpus=2, time_limit_s=500, submit=2)  # uses only the extra: starts
    long_wide = job(4, cpus=2, time_limit_s=500, submit=3)  # extra used up: waits
    short_wide = job(5, cpus=2, time_limit_s=90, submit=4)  # ends by the shadow time: starts
    out = _easy(0, busy, head, long_narrow, long_wide, short_wide)
    assert out[2] == (PendingReason.RESOURCES, 100)
    assert out[3] == "start"
    assert out[4] == (PendingReason.PRIORITY, 150)
    assert out[5] == "start"


def test_a_job_past_its_limit_is_expected_back_now_but_still_holds_its_processors() -> None:
    # Job 1 (8 CPUs) should have ended at t=50; it is t=60 and it still runs.
    busy = (running(job(1, cpus=8, time_limit_s=50), 0, ("pool", 8, ())),)
    head = job(2, cpus=9, time_limit_s=100, submit=1)  # reserved at "now", after the overrun
    fits_now = job(3, cpus=1, time_limit_s=30, submit=2)  # 2 free now, 1 extra beside the head
    too_big = job(4, cpus=3, time_limit_s=30, submit=3)  # does not fit now
    out = _easy(60, busy, head, fits_now, too_big)
    assert out[2] == (PendingReason.RESOURCES, 60)
    assert out[3] == "start"
    assert out[4][0] is PendingReason.PRIORITY  # type: ignore[index]


def test_conservative_bounds_reservations_by_bf_window() -> None:
    busy = (running(job(1, cpus=10, time_limit_s=10_000), 0, ("pool", 10, ())),)
    plan = schedule(
        Snapshot(cluster=POOL, running=busy, pending=(job(2, cpus=1, time_limit_s=60),)),
        0,
        fifo_policy(backfill=BackfillMode.CONSERVATIVE, bf_window_s=3600),
    )
    assert plan.pending[0].reason is PendingReason.RESOURCES
    assert plan.pending[0].estimated_start is None  # beyond the window: Slurm's N/A


def test_bf_max_job_test_leaves_the_rest_unexamined() -> None:
    jobs = tuple(job(i, cpus=1, submit=i) for i in range(1, 6))
    busy = (running(job(99, cpus=10, time_limit_s=100), 0, ("pool", 10, ())),)
    plan = schedule(
        Snapshot(cluster=POOL, running=busy, pending=jobs), 0, fifo_policy(bf_max_job_test=2)
    )
    examined = [p for p in plan.pending if p.estimated_start is not None]
    assert [p.job_id for p in examined] == [1, 2]


def test_drained_nodes_leave_a_job_with_req_node_not_avail() -> None:
    from dataclasses import replace

    from scheduler import NodeState

    cluster = cluster_of(replace(gpu_node("n1"), state=NodeState.DRAIN))
    plan = schedule(Snapshot(cluster=cluster, pending=(job(1),)), 0, Policy())
    assert plan.pending[0].reason is PendingReason.REQ_NODE_NOT_AVAIL


def test_high_qos_preempts_the_low_qos_job_that_loses_least_work() -> None:
    limits = Limits(
        qos={
            "normal": Qos(name="normal"),
            "low": Qos(name="low"),
            "high": Qos(name="high", priority=100, preempt=("low",)),
        }
    )
    cluster = cluster_of(gpu_node("n1"), gpu_node("n2"))
    busy = (
        running(job(1, gpus=4, qos="low"), 0, ("n1", 1, (0, 1, 2, 3))),  # ran 1000 s
        running(job(2, gpus=4, qos="low"), 900, ("n2", 1, (0, 1, 2, 3))),  # ran 100 s
    )
    urgent = job(3, gpus=2, qos="high", submit=950)
    plan = schedule(
        Snapshot(cluster=cluster, running=busy, pending=(urgent,)),
        1000,
        Policy(limits=limits, preemption=True),
    )
    [start] = plan.starts
    assert start.preempts == (2,)
    assert [(p.job_id, p.for_job_id) for p in plan.preemptions] == [(2, 3)]
    assert start.allocation.nodes[0].node == "n2"
    # Without preemption enabled, it waits.
    plan = schedule(
        Snapshot(cluster=cluster, running=busy, pending=(urgent,)), 1000, Policy(limits=limits)
    )
    assert plan.starts == ()


def test_normal_qos_cannot_preempt() -> None:
    limits = Limits(qos={"normal": Qos(name="normal", per_user=Caps())})
    cluster = cluster_of(gpu_node("n1"))
    busy = (running(job(1, gpus=4), 0, ("n1", 1, (0, 1, 2, 3))),)
    plan = schedule(
        Snapshot(cluster=cluster, running=busy, pending=(job(2, gpus=1),)),
        10,
        Policy(limits=limits, preemption=True),
    )
    assert plan.preemptions == ()


def test_decisions_only_passes_keep_every_conservative_reservation() -> None:
    """Jobs 3 and 4 have one shape and neither fits now; conservative reserves n1 for job 3 and
    n2 for job 4 from t=100. Job 5 fits on n2 now but would run into job 4's reservation, so it
    waits, with or without explanations (a decisions-only pass may not skip job 4)."""
    nodes = tuple(Node(name=f"n{i}", cpus=2, mem_mb=0, partitions=("debug",)) for i in (1, 2))
    cluster = Cluster(
        nodes=nodes, partitions=(Partition(name="debug", nodes=("n1", "n2"), default=True),)
    )
    busy = (
        running(job(1, cpus=2, time_limit_s=100), 0, ("n1", 2, ())),
        running(job(2, cpus=1, time_limit_s=100), 0, ("n2", 1, ())),
    )
    pending = (
        job(3, cpus=2, time_limit_s=50, submit=1),
        job(4, cpus=2, time_limit_s=50, submit=2),
        job(5, cpus=1, time_limit_s=200, submit=3),
    )
    snapshot = Snapshot(cluster=cluster, running=busy, pending=pending)
    policy = fifo_policy(backfill=BackfillMode.CONSERVATIVE)
    full = schedule(snapshot, 10, policy)
    assert full.starts == ()
    assert [(p.job_id, p.planned_nodes) for p in full.pending[:2]] == [(3, ("n1",)), (4, ("n2",))]
    assert schedule(snapshot, 10, policy, explain=False).starts == ()
