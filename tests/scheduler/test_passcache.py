"""A `PassCache` kept across a whole sequence of passes never changes a Plan.

The cache keeps the running jobs' release schedule, the queue in its fixed order, searches made
on an untouched profile, and lays node timelines out lazily; each of these follows the jobs
that started, ended and arrived between passes. These properties drive a small replay (submits,
passes whose starts are applied, job ends, time moving on, sometimes backwards) and compare every
pass made with one shared cache against the same pass made from scratch, for every backfill
mode, both fixed queue orders and the weighted one, with and without explanations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler import (
    Allocation,
    BackfillMode,
    Cluster,
    JobRequest,
    Node,
    NodeAllocation,
    Partition,
    PassCache,
    Policy,
    PriorityWeights,
    QueueOrder,
    RunningJob,
    Snapshot,
    schedule,
)
from scheduler.availability import Availability
from scheduler.runningprofile import RunningProfile
from scheduler.seqdiff import tail_diff
from tests.scheduler.test_properties import NOW, clusters, requests

FIFO = PriorityWeights(age=0, fairshare=0, job_size=0, partition=0, qos=0, assoc=0)

replay_policies = st.builds(
    Policy,
    backfill=st.sampled_from(list(BackfillMode)),
    queue_order=st.sampled_from(list(QueueOrder)),
    weights=st.sampled_from([FIFO, PriorityWeights()]),
    bf_window_s=st.sampled_from([600, 7 * 86_400]),
)

# A step: submit some jobs, run a pass, end some running jobs, move the clock.
steps = st.lists(
    st.tuples(
        st.integers(0, 3),  # jobs submitted
        st.lists(st.integers(0, 7), max_size=3),  # running jobs (by position) that end
        st.integers(-30, 900),  # seconds the clock moves (now and then backwards)
    ),
    min_size=1,
    max_size=12,
)


@st.composite
def pool_jobs(draw: st.DrawFn, job_id: int) -> JobRequest:
    """A trace job on a processor pool: processors and an estimate, nothing else."""
    return JobRequest(
        job_id=job_id,
        user="u",
        partition="p",
        submit_time=draw(st.integers(0, NOW)),
        time_limit_s=draw(st.integers(1, 30)) * 60,
        cpus_per_task=draw(st.integers(1, 12)),
        nice=draw(st.sampled_from([0, 0, 0, -5])),
    )


def _pool(cpus: int) -> Cluster:
    node = Node(name="pool", cpus=cpus, mem_mb=0, partitions=("p",))
    return Cluster(nodes=(node,), partitions=(Partition(name="p", nodes=("pool",)),))


@settings(max_examples=150, deadline=None)
@given(clusters(), replay_policies, steps, st.booleans(), st.data())
def test_one_cache_over_a_replay_gives_the_plans_of_passes_from_scratch(
    cluster: Cluster, policy: Policy, plan_steps: list[tuple[int, list[int], int]],
    explain: bool, data: st.DataObject,
) -> None:  # fmt: skip
    _replay(cluster, policy, plan_steps, explain, lambda job_id: data.draw(requests(job_id)))


@settings(max_examples=300, deadline=None)
@given(st.integers(8, 16), replay_policies, steps, st.booleans(), st.data())
def test_one_cache_over_a_processor_pool_replay_gives_the_plans_of_passes_from_scratch(
    cpus: int, policy: Policy, plan_steps: list[tuple[int, list[int], int]], explain: bool,
    data: st.DataObject,
) -> None:  # fmt: skip
    """The trace replays' machine: one node, jobs of processors only, a crowded queue."""
    crowded = [(submitted * 3, ending, moved) for submitted, ending, moved in plan_steps]
    draw = lambda job_id: data.draw(pool_jobs(job_id))
    _replay(_pool(cpus), policy, crowded, explain, draw)


def _replay(
    cluster: Cluster,
    policy: Policy,
    plan_steps: list[tuple[int, list[int], int]],
    explain: bool,
    draw: Callable[[int], JobRequest],
) -> None:
    cache = PassCache()
    pending: dict[int, JobRequest] = {}
    running: dict[int, RunningJob] = {}
    now, next_id = NOW, 100
    for submitted, ending, moved in plan_steps:
        for _ in range(submitted):
            job = draw(next_id)
            pending[job.job_id] = dataclasses.replace(job, submit_time=min(job.submit_time, now))
            next_id += 1
        snapshot = Snapshot(
            cluster=cluster,
            running=tuple(running.values()),
            pending=tuple(pending.values()),
        )
        plan = schedule(snapshot, now, policy, cache=cache, explain=explain)
        assert plan == schedule(snapshot, now, policy, explain=explain)
        for start in plan.starts:
            running[start.job_id] = RunningJob(
                request=pending.pop(start.job_id), allocation=start.allocation, start_time=now
            )
        ids = list(running)
        for position in ending:
            if position < len(ids) and ids[position] in running:
                del running[ids[position]]
        now += moved


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 15), max_size=10),
    st.lists(st.integers(0, 15), max_size=10),
)
def test_tail_diff_lists_what_left_and_what_was_appended(
    old_ids: list[int], new_ids: list[int]
) -> None:
    objects = [object() for _ in range(16)]
    old = tuple(objects[i] for i in old_ids)
    new = tuple(objects[i] for i in new_ids)
    found = tail_diff(old, new, max_removed=len(old))
    assert found is not None
    removed, added = found
    assert removed == sorted(set(removed))
    kept = [item for k, item in enumerate(old) if k not in set(removed)]
    assert len(kept) == added
    assert all(a is b for a, b in zip(kept, new[:added], strict=True))


def test_tail_diff_gives_up_past_the_removals_allowed() -> None:
    old = tuple(object() for _ in range(6))
    assert tail_diff(old, (), max_removed=3) is None
    assert tail_diff(old, old[::2], max_removed=2) is None
    assert tail_diff(old, old[::2], max_removed=3) == ([1, 3, 5], 3)


@st.composite
def profile_cases(draw: st.DrawFn) -> tuple[Cluster, tuple[RunningJob, ...], int]:
    """A cluster, running jobs on it (some past their expected end) and a ``now``."""
    cluster = draw(clusters())
    running = []
    for job_id in range(draw(st.integers(0, 6))):
        node = draw(st.sampled_from(cluster.nodes))
        request = JobRequest(
            job_id=job_id,
            user="u",
            partition="p",
            submit_time=0,
            time_limit_s=draw(st.integers(1, 40)) * 60,
            cpus_per_task=draw(st.integers(0, node.cpus)),
            mem_mb=draw(st.sampled_from([0, 0, 512])),
        )
        gpus = tuple(g.index for g in node.gpus if draw(st.booleans()))
        part = NodeAllocation(
            node=node.name, cpus=request.cpus_per_task, mem_mb=request.mem_mb, gpu_indices=gpus
        )
        start = NOW - draw(st.integers(0, 3000))
        running.append(
            RunningJob(request=request, allocation=Allocation(nodes=(part,)), start_time=start)
        )
    return cluster, tuple(running), NOW


operations = st.lists(
    st.tuples(
        st.sampled_from(["take", "reserve", "window", "window_now", "earliest", "free", "give"]),
        st.integers(0, 3),  # node
        st.integers(0, 2400),  # offset from now
        st.integers(1, 2400),  # duration
        st.tuples(st.integers(0, 4), st.sampled_from([0, 256, 1024]), st.integers(0, 3)),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(profile_cases(), operations)
def test_a_lazily_laid_out_profile_answers_as_one_built_up_front(
    case: tuple[Cluster, tuple[RunningJob, ...], int],
    ops: list[tuple[str, int, int, int, tuple[int, int, int]]],
) -> None:
    cluster, running, now = case
    masks = [node.gpu_mask() for node in cluster.nodes]
    index = {node.name: i for i, node in enumerate(cluster.nodes)}
    eager = Availability(cluster.nodes, running, now, index, masks)
    profile = RunningProfile(cluster.nodes, index, masks)
    profile.sync(running)
    lazy = profile.availability(now)
    for name, node, offset, duration, (cpus, mem, gpus) in ops:
        node %= len(cluster.nodes)
        mask = masks[node] & ((1 << gpus) - 1)
        for profile_ in (eager, lazy):
            if name == "take":
                profile_.take(node, now, now + duration, (cpus, mem, mask), started=True)
            elif name == "reserve":
                start = now + offset
                profile_.take(node, start, start + duration, (cpus, mem, mask), started=False)
            elif name == "give":
                profile_.give(node, now + duration, (cpus, mem, mask))
        if name == "window":
            start = now + offset
            assert lazy.window(node, start, start + duration, started=False) == eager.window(
                node, start, start + duration, started=False
            )
        elif name == "window_now":
            end = now + duration
            assert lazy.window(node, now, end, started=True) == eager.window(
                node, now, end, started=True
            )
        elif name == "earliest":
            need, pool = (cpus, mem, gpus), masks[node]
            assert lazy.earliest(node, now + offset, duration, need, pool, now + 5000) == (
                eager.earliest(node, now + offset, duration, need, pool, now + 5000)
            )
        elif name == "free":
            assert lazy.free_now(node) == eager.free_now(node)
    assert lazy.most_free_now(range(len(cluster.nodes))) == eager.most_free_now(
        range(len(cluster.nodes))
    )


def test_a_driver_that_builds_new_jobs_every_pass_gets_the_same_plans() -> None:
    """A long queue of new objects each pass: the index is rebuilt in one sort, same Plans."""
    cluster = _pool(64)
    jobs = [
        JobRequest(
            job_id=i,
            user="u",
            partition="p",
            submit_time=(i * 7) % 50,
            time_limit_s=60 * (1 + i % 9),
            cpus_per_task=1 + (i * 5) % 13,
        )
        for i in range(300)
    ]
    cache = PassCache()
    for policy in (Policy(backfill=mode, weights=FIFO) for mode in BackfillMode):
        for now in (NOW, NOW + 10, NOW + 20):
            fresh = tuple(dataclasses.replace(job) for job in jobs)
            snapshot = Snapshot(cluster=cluster, pending=fresh)
            for explain in (False, True):
                plan = schedule(snapshot, now, policy, cache=cache, explain=explain)
                assert plan == schedule(snapshot, now, policy, explain=explain)
                assert plan.starts


# Resumed passes (`scheduler.cycle._resumed`): a decisions-only pass that started nothing is
# resumed by the next one when only jobs were appended behind the queue. The driver here keeps
# the snapshot's tuples while nothing changed (as the simulator does), so that passes resume.
resume_policies = st.builds(
    Policy,
    backfill=st.sampled_from(
        [BackfillMode.EASY, BackfillMode.GREEDY, BackfillMode.EASY, BackfillMode.CONSERVATIVE]
    ),
    queue_order=st.sampled_from(list(QueueOrder)),
    weights=st.sampled_from([FIFO, FIFO, PriorityWeights()]),
    bf_window_s=st.sampled_from([600, 7 * 86_400]),
    bf_max_job_test=st.sampled_from([100_000, 100_000, 3]),
)

# A step: submit some jobs (at ``now``, or earlier), end some running jobs, move the clock.
resume_steps = st.lists(
    st.tuples(
        st.integers(0, 3),  # jobs submitted
        st.booleans(),  # submitted at ``now`` (else at their drawn time, which may rank first)
        st.lists(st.integers(0, 7), max_size=2),  # running jobs (by position) that end
        st.sampled_from([0, 0, 1, 30, 60, 300, 900]),  # seconds the clock moves
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(st.integers(8, 16), resume_policies, resume_steps, st.data())
def test_resumed_passes_on_a_processor_pool_give_the_plans_of_passes_from_scratch(
    cpus: int, policy: Policy, plan_steps: list[tuple[int, bool, list[int], int]],
    data: st.DataObject,
) -> None:  # fmt: skip
    draw = lambda job_id: data.draw(pool_jobs(job_id))
    _resume_replay(_pool(cpus), policy, plan_steps, draw)


@settings(max_examples=150, deadline=None)
@given(clusters(), resume_policies, resume_steps, st.data())
def test_resumed_passes_give_the_plans_of_passes_from_scratch(
    cluster: Cluster, policy: Policy, plan_steps: list[tuple[int, bool, list[int], int]],
    data: st.DataObject,
) -> None:  # fmt: skip
    """Any jobs: begin times, dependencies, holds, limits... (passes then do not resume)."""
    _resume_replay(cluster, policy, plan_steps, lambda job_id: data.draw(requests(job_id)))


def _resume_replay(
    cluster: Cluster,
    policy: Policy,
    plan_steps: list[tuple[int, bool, list[int], int]],
    draw: Callable[[int], JobRequest],
) -> int:
    """Replay with one cache, each pass checked against a pass from scratch; the number of
    passes that resumed the one before."""
    cache = PassCache()
    pending: dict[int, JobRequest] = {}
    running: dict[int, RunningJob] = {}
    pending_view: tuple[JobRequest, ...] = ()
    running_view: tuple[RunningJob, ...] = ()
    now, next_id, resumed = NOW, 100, 0
    for submitted, at_now, ending, moved in plan_steps:
        for _ in range(submitted):
            job = draw(next_id)
            submit = now if at_now else min(job.submit_time, now)
            pending[job.job_id] = dataclasses.replace(job, submit_time=submit)
            next_id += 1
        if submitted:
            pending_view = tuple(pending.values())
        snapshot = Snapshot(cluster=cluster, running=running_view, pending=pending_view)
        kept = getattr(cache.resume, "state", None)
        plan = schedule(snapshot, now, policy, cache=cache, explain=False)
        assert plan == schedule(snapshot, now, policy, explain=False)
        if kept is not None and getattr(cache.resume, "state", None) is kept:
            resumed += 1
        for start in plan.starts:
            running[start.job_id] = RunningJob(
                request=pending.pop(start.job_id), allocation=start.allocation, start_time=now
            )
        ids = list(running)
        ended = False
        for position in ending:
            if position < len(ids) and ids[position] in running:
                del running[ids[position]]
                ended = True
        if plan.starts:
            pending_view = tuple(pending.values())
        if plan.starts or ended:
            running_view = tuple(running.values())
        now += moved
    return resumed


def test_a_pass_behind_a_blocked_head_is_resumed_and_decides_as_from_scratch() -> None:
    """A long job holds most of the pool, the head waits for it, jobs keep arriving: a pass
    resumes the last one (same state object) and matches a pass from scratch; a job ranked
    ahead of the queue is decided afresh; a job that fits is backfilled by a resumed pass."""
    cluster = _pool(16)
    policy = Policy(backfill=BackfillMode.EASY, weights=FIFO)

    def job(i: int, cpus: int, minutes: int, submit: int) -> JobRequest:
        return JobRequest(
            job_id=i,
            user="u",
            partition="p",
            submit_time=submit,
            time_limit_s=minutes * 60,
            cpus_per_task=cpus,
        )

    long = RunningJob(
        request=job(1, 12, 60, 0),
        allocation=Allocation(nodes=(NodeAllocation(node="pool", cpus=12, mem_mb=0),)),
        start_time=NOW - 60,
    )
    running = (long,)
    cache = PassCache()
    pending: tuple[JobRequest, ...] = (job(2, 8, 10, NOW),)
    now = NOW
    snapshot = Snapshot(cluster=cluster, running=running, pending=pending)
    assert not schedule(snapshot, now, policy, cache=cache, explain=False).starts
    steps = [
        (job(3, 12, 5, NOW + 10), True, False),  # behind the head, cannot start: resumed
        (job(5, 13, 5, NOW - 1), False, False),  # ranked first: decided afresh
        (job(4, 2, 90, NOW + 20), True, True),  # fits beside the reservation: backfilled
    ]
    for new, resumes, starts in steps:
        kept = getattr(cache.resume, "state", None)
        assert kept is not None
        now += 10
        pending = (*pending, new)
        snapshot = Snapshot(cluster=cluster, running=running, pending=pending)
        plan = schedule(snapshot, now, policy, cache=cache, explain=False)
        assert plan == schedule(snapshot, now, policy, explain=False)
        assert [start.job_id for start in plan.starts] == ([new.job_id] if starts else [])
        if not starts:
            assert (getattr(cache.resume, "state", None) is kept) == resumes
    assert cache.resume is None  # a pass that started a job is not resumed


def test_resumed_replays_do_resume() -> None:
    """The property replays above exercise the resumed path, not only the fallbacks."""
    cluster = _pool(12)
    policy = Policy(backfill=BackfillMode.EASY, weights=FIFO)
    jobs = iter(
        JobRequest(job_id=i, user="u", partition="p", submit_time=0,
                   time_limit_s=60 * (1 + i % 7), cpus_per_task=1 + (i * 5) % 12)
        for i in range(100, 1000)
    )  # fmt: skip
    plan_steps = [(1 + k % 3, True, [0] if k % 5 == 4 else [], [0, 30, 60][k % 3])
                  for k in range(60)]  # fmt: skip
    assert _resume_replay(cluster, policy, plan_steps, lambda _: next(jobs)) > 10
