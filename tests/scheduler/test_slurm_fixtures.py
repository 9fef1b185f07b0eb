"""Golden tests: what a real Slurm 22.05 did on the machines of SLURM-BEHAVIOUR.md, replayed
through the core. Same starts, reservations and reason words, or a documented improvement."""

from __future__ import annotations

from scheduler import (
    BackfillMode,
    Caps,
    Dependency,
    DependencyKind,
    FinishedJob,
    Hold,
    JobState,
    Limits,
    PendingReason,
    Plan,
    Policy,
    Qos,
    Snapshot,
    schedule,
)
from tests.scheduler.builders import MINUTE, fifo_policy, job, running, slurm_4x4


def _nodes(plan: Plan) -> dict[int, tuple[tuple[str, tuple[int, ...]], ...]]:
    return {
        start.job_id: tuple((part.node, part.gpu_indices) for part in start.allocation.nodes)
        for start in plan.starts
    }


def test_gpu_packing_fills_nodes_in_order_and_a_whole_node_job_takes_a_free_node() -> None:
    # Slurm placed six 1-GPU jobs 4 on n1 and 2 on n2, then a 4-GPU job on n3.
    singles = tuple(job(i, gpus=1, submit=i) for i in range(1, 7))
    whole = job(7, gpus=4, submit=7)
    plan = schedule(Snapshot(cluster=slurm_4x4(), pending=(*singles, whole)), 10, fifo_policy())
    placed = _nodes(plan)
    assert [placed[i][0][0] for i in range(1, 7)] == ["n1"] * 4 + ["n2"] * 2
    assert placed[7] == (("n3", (0, 1, 2, 3)),)
    assert not plan.pending


def _packed_cluster_state() -> tuple[tuple[object, ...], int]:
    """Jobs 1-7 of the fixture running since t=0 (5-minute limits): n1 full, n2 half, n3 full."""
    runs = [running(job(i, gpus=1), 0, ("n1", 1, (i - 1,))) for i in range(1, 5)]
    runs += [running(job(i, gpus=1), 0, ("n2", 1, (i - 5,))) for i in (5, 6)]
    runs.append(running(job(7, gpus=4), 0, ("n3", 1, (0, 1, 2, 3))))
    return tuple(runs), 5 * MINUTE


def test_backfill_fixture_big_job_reserves_short_job_backfills_long_job_waits() -> None:
    runs, last_end = _packed_cluster_state()
    big16 = job(8, nodes=4, gpus=4, minutes=10, submit=10, name="big16")
    short_bf = job(9, gpus=1, minutes=2, submit=20, name="short_bf")
    long_nobf = job(10, gpus=1, minutes=30, submit=30, name="long_nobf")
    snapshot = Snapshot(
        cluster=slurm_4x4(),
        running=runs,  # type: ignore[arg-type]
        pending=(big16, short_bf, long_nobf),
    )
    plan = schedule(snapshot, 40, fifo_policy())
    pending = plan.pending_by_id()

    # big16: Resources, expected at the end of the last blocking time limit, on n[1-4].
    assert pending[8].reason is PendingReason.RESOURCES
    assert pending[8].estimated_start == last_end
    assert pending[8].planned_nodes == ("n1", "n2", "n3", "n4")
    # short_bf ends before big16's reservation: it starts now, packed next to the 1-GPU jobs
    # on n2, flagged as a backfill start (Slurm: Scheduler=Backfill).
    [start] = plan.starts
    assert start.job_id == 9
    assert start.backfilled
    assert start.allocation.nodes[0].node == "n2"
    # long_nobf would delay big16: Priority, expected when big16 ends (Slurm rounds to
    # bf_resolution; Berth's estimate is exact).
    assert pending[10].reason is PendingReason.PRIORITY
    assert pending[10].estimated_start == last_end + 10 * MINUTE


def test_conservative_gives_the_same_answers_on_the_backfill_fixture() -> None:
    runs, last_end = _packed_cluster_state()
    pending_jobs = (
        job(8, nodes=4, gpus=4, minutes=10, submit=10),
        job(9, gpus=1, minutes=2, submit=20),
        job(10, gpus=1, minutes=30, submit=30),
    )
    snapshot = Snapshot(cluster=slurm_4x4(), running=runs, pending=pending_jobs)  # type: ignore[arg-type]
    plan = schedule(snapshot, 40, fifo_policy(backfill=BackfillMode.CONSERVATIVE))
    assert [s.job_id for s in plan.starts] == [9]
    assert plan.pending_by_id()[10].estimated_start == last_end + 10 * MINUTE


def test_fcfs_never_lets_a_later_job_pass_the_blocked_head() -> None:
    runs, last_end = _packed_cluster_state()
    pending_jobs = (
        job(8, nodes=4, gpus=4, minutes=10, submit=10),
        job(9, gpus=1, minutes=2, submit=20),
    )
    snapshot = Snapshot(cluster=slurm_4x4(), running=runs, pending=pending_jobs)  # type: ignore[arg-type]
    plan = schedule(snapshot, 40, fifo_policy(backfill=BackfillMode.FCFS))
    assert plan.starts == ()
    pending = plan.pending_by_id()
    assert pending[8].reason is PendingReason.RESOURCES
    assert pending[9].reason is PendingReason.PRIORITY
    assert pending[8].estimated_start == last_end
    assert pending[9].estimated_start == last_end + 10 * MINUTE


def test_qos_gpu_cap_per_user_beats_resources() -> None:
    # bench holds 15 one-CPU jobs and one 3-GPU job (all 16 CPUs); QOS caps gres/gpu=4 per user;
    # a second 3-GPU job says QOSMaxGRESPerUser, not Resources.
    limits = Limits(qos={"normal": Qos(name="normal", per_user=Caps(gpus=4))})
    policy = fifo_policy(limits=limits)
    runs = [running(job(i), 0, (f"n{1 + (i - 1) // 4}", 1, ())) for i in range(1, 16)]
    runs.append(running(job(16, gpus=3), 0, ("n4", 1, (0, 1, 2))))
    second = job(17, gpus=3, submit=5)
    other_user = job(18, user="bench2", account="lab_b", cpus=4, submit=6)
    snapshot = Snapshot(cluster=slurm_4x4(), running=tuple(runs), pending=(second, other_user))
    plan = schedule(snapshot, 10, policy)
    pending = plan.pending_by_id()
    assert pending[17].reason is PendingReason.QOS_MAX_GRES_PER_USER
    assert pending[18].reason is PendingReason.RESOURCES


def test_reason_words_for_dependencies_holds_and_arrays() -> None:
    failed = FinishedJob(job_id=21167, state=JobState.FAILED, exit_code=1)
    single_running = running(job(21170, name="single1"), 0, ("n1", 1, ()))
    dep_ok = job(
        21168, name="dep_ok", dependencies=(Dependency(kind=DependencyKind.AFTEROK, job_id=21167),)
    )
    single = job(21171, name="single1", dependencies=(Dependency(kind=DependencyKind.SINGLETON),))
    held = tuple(
        job(
            21180 + task,
            name="arr",
            hold=Hold.USER,
            array_job_id=21166,
            array_task_id=task,
            array_throttle=2,
        )
        for task in range(10)
    )
    snapshot = Snapshot(
        cluster=slurm_4x4(),
        running=(single_running,),
        pending=(dep_ok, single, *held),
        finished=(failed,),
    )
    pending = schedule(snapshot, 10, fifo_policy()).pending_by_id()
    assert pending[21168].reason is PendingReason.DEPENDENCY_NEVER_SATISFIED
    assert pending[21171].reason is PendingReason.DEPENDENCY
    assert all(pending[21180 + t].reason is PendingReason.JOB_HELD_USER for t in range(10))


def test_released_array_runs_two_tasks_and_the_rest_wait_on_the_throttle() -> None:
    tasks = tuple(
        job(
            21180 + task,
            name="arr",
            submit=task,
            array_job_id=21166,
            array_task_id=task,
            array_throttle=2,
        )
        for task in range(10)
        if task != 3  # scancel 21166_3
    )
    plan = schedule(Snapshot(cluster=slurm_4x4(), pending=tasks), 10, fifo_policy())
    assert [s.job_id for s in plan.starts] == [21180, 21181]
    reasons = {p.reason for p in plan.pending}
    assert reasons == {PendingReason.JOB_ARRAY_TASK_LIMIT}


def test_held_job_has_priority_zero() -> None:
    held = job(1, hold=Hold.USER)
    plan = schedule(Snapshot(cluster=slurm_4x4(), pending=(held,)), 10, Policy())
    assert plan.pending[0].priority == 0
    assert plan.pending[0].reason is PendingReason.JOB_HELD_USER
