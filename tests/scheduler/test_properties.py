"""Hypothesis properties of `scheduler.schedule` over random clusters, running jobs and queues."""

from __future__ import annotations

import copy
import dataclasses
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler import (
    Allocation,
    BackfillMode,
    Caps,
    Cluster,
    GpuDevice,
    JobRequest,
    Limits,
    Node,
    NodeAllocation,
    Partition,
    PassCache,
    PendingReason,
    Plan,
    Policy,
    PriorityWeights,
    Qos,
    RunningJob,
    Snapshot,
    schedule,
)

NOW = 10_000
USERS = ("ann", "bob", "cy")


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    count = draw(st.integers(1, 4))
    nodes = []
    for i in range(count):
        gpus = draw(st.integers(0, 4))
        model = draw(st.sampled_from(["a100", "h100"]))
        nodes.append(
            Node(
                name=f"n{i}",
                cpus=draw(st.integers(1, 8)),
                mem_mb=draw(st.integers(1, 8)) * 1024,
                gpus=tuple(
                    GpuDevice(index=g, uuid=f"GPU-{i}-{g}", model=model, link_group=g // 2)
                    for g in range(gpus)
                ),
                partitions=("p",),
            )
        )
    names = tuple(node.name for node in nodes)
    return Cluster(nodes=tuple(nodes), partitions=(Partition(name="p", nodes=names),))


@st.composite
def requests(draw: st.DrawFn, job_id: int) -> JobRequest:
    nodes = draw(st.integers(1, 2))
    return JobRequest(
        job_id=job_id,
        user=draw(st.sampled_from(USERS)),
        account="lab",
        partition="p",
        submit_time=draw(st.integers(0, NOW)),
        time_limit_s=draw(st.integers(1, 50)) * 60,
        nodes=nodes,
        tasks=nodes,
        cpus_per_task=draw(st.integers(1, 4)),
        mem_mb=draw(st.sampled_from([0, 512, 2048, 4096])),
        gpus_per_node=draw(st.integers(0, 3)),
        gpu_model=draw(st.sampled_from([None, None, "a100"])),
        nice=draw(st.integers(0, 100)),
    )


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    cluster = draw(clusters())
    free = {
        node.name: [node.cpus, node.mem_mb, [g.index for g in node.gpus]] for node in cluster.nodes
    }
    running = []
    for job_id in range(1, draw(st.integers(0, 8)) + 1):
        request = dataclasses.replace(draw(requests(job_id)), gpu_model=None)
        node = draw(st.sampled_from(cluster.nodes))
        cpus, mem, gpus = free[node.name]
        need = request.per_node
        if request.nodes != 1 or need.cpus > cpus or need.mem_mb > mem or need.gpus > len(gpus):  # type: ignore[operator, arg-type]
            continue
        taken = tuple(gpus[: need.gpus])  # type: ignore[index]
        free[node.name] = [cpus - need.cpus, mem - need.mem_mb, gpus[need.gpus :]]  # type: ignore[operator, index]
        part = NodeAllocation(node=node.name, cpus=need.cpus, mem_mb=need.mem_mb, gpu_indices=taken)
        start = draw(st.integers(NOW - 3000, NOW))
        running.append(
            RunningJob(request=request, allocation=Allocation(nodes=(part,)), start_time=start)
        )
    pending = tuple(draw(requests(100 + i)) for i in range(draw(st.integers(0, 12))))
    return Snapshot(cluster=cluster, running=tuple(running), pending=pending)


policies = st.builds(
    Policy,
    backfill=st.sampled_from(list(BackfillMode)),
    bf_window_s=st.sampled_from([600, 7 * 86_400]),
    limits=st.sampled_from(
        [
            Limits(),
            Limits(qos={"normal": Qos(name="normal", per_user=Caps(gpus=2, running_jobs=3))}),
        ]
    ),
)


def _holdings(snapshot: Snapshot, plan: Plan) -> list[tuple[JobRequest, Allocation]]:
    by_id = {job.job_id: job for job in snapshot.pending}
    held = [(r.request, r.allocation) for r in snapshot.running]
    held += [(by_id[s.job_id], s.allocation) for s in plan.starts]
    return held


@settings(max_examples=150, deadline=None)
@given(snapshots(), policies)
def test_never_oversubscribes_a_cpu_a_mib_or_a_gpu(snapshot: Snapshot, policy: Policy) -> None:
    plan = schedule(snapshot, NOW, policy)
    nodes = {node.name: node for node in snapshot.cluster.nodes}
    cpus: dict[str, int] = defaultdict(int)
    mem: dict[str, int] = defaultdict(int)
    gpus: dict[str, list[int]] = defaultdict(list)
    for request, allocation in _holdings(snapshot, plan):
        assert len(allocation.nodes) == request.nodes
        for part in allocation.nodes:
            cpus[part.node] += part.cpus
            mem[part.node] += part.mem_mb
            gpus[part.node] += part.gpu_indices
            assert len(part.gpu_indices) == request.gpus_per_node
            if request.gpu_model is not None:
                models = {g.index: g.model for g in nodes[part.node].gpus}
                assert all(models[i] == request.gpu_model for i in part.gpu_indices)
    for name, node in nodes.items():
        assert cpus[name] <= node.cpus
        assert mem[name] <= node.mem_mb
        assert len(gpus[name]) == len(set(gpus[name])), "a GPU index given to two jobs"
        assert set(gpus[name]) <= {g.index for g in node.gpus}


@settings(max_examples=100, deadline=None)
@given(snapshots(), policies)
def test_never_exceeds_a_limit(snapshot: Snapshot, policy: Policy) -> None:
    plan = schedule(snapshot, NOW, policy)
    caps = policy.limits.qos["normal"].per_user
    by_id = {job.job_id: job for job in snapshot.pending}
    for user in USERS:
        started = [by_id[s.job_id] for s in plan.starts if by_id[s.job_id].user == user]
        if not started:
            continue
        held = [r.request for r in snapshot.running if r.request.user == user] + started
        if caps.running_jobs is not None:
            assert len(held) <= caps.running_jobs
        if caps.gpus is not None and any(job.total.gpus for job in started):
            assert sum(job.total.gpus for job in held) <= caps.gpus


@settings(max_examples=100, deadline=None)
@given(snapshots(), policies, st.randoms(use_true_random=False))
def test_same_input_same_plan_whatever_the_order_and_inputs_untouched(
    snapshot: Snapshot, policy: Policy, rnd: object
) -> None:
    before = copy.deepcopy(snapshot)
    plan = schedule(snapshot, NOW, policy)
    assert snapshot == before
    shuffled = list(snapshot.pending)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    again = schedule(
        Snapshot(cluster=snapshot.cluster, running=snapshot.running, pending=tuple(shuffled)),
        NOW,
        policy,
    )
    assert again == plan


def _order(snapshot: Snapshot, plan: Plan) -> list[int]:
    priority = {s.job_id: s.priority for s in plan.starts}
    priority.update({p.job_id: p.priority for p in plan.pending})
    jobs = sorted(snapshot.pending, key=lambda j: (-priority[j.job_id], j.submit_time, j.job_id))
    return [job.job_id for job in jobs]


def _could_use(job: JobRequest, node: Node) -> bool:
    pool = sum(1 for g in node.gpus if job.gpu_model in (None, g.model))
    return (
        node.cpus >= job.cpus_per_node and node.mem_mb >= job.mem_mb and pool >= job.gpus_per_node
    )


@settings(max_examples=150, deadline=None)
@given(snapshots())
def test_fcfs_starts_nothing_behind_a_blocked_job_that_could_use_its_nodes(
    snapshot: Snapshot,
) -> None:
    plan = schedule(snapshot, NOW, Policy(backfill=BackfillMode.FCFS))
    order = _order(snapshot, plan)
    pending = plan.pending_by_id()
    by_id = {job.job_id: job for job in snapshot.pending}
    blocked = [
        job_id
        for job_id in order
        if job_id in pending and pending[job_id].reason is PendingReason.RESOURCES
    ]
    for start in plan.starts:
        for job_id in blocked:
            if order.index(job_id) < order.index(start.job_id):
                shared = [
                    n
                    for n in snapshot.cluster.nodes
                    if _could_use(by_id[job_id], n) and _could_use(by_id[start.job_id], n)
                ]
                assert not shared, f"job {start.job_id} passed blocked job {job_id}"


def _replan(snapshot: Snapshot, plan: Plan, policy: Policy) -> Plan:
    """Apply a plan's starts and schedule again at the same instant."""
    by_id = {job.job_id: job for job in snapshot.pending}
    running = snapshot.running + tuple(
        RunningJob(request=by_id[s.job_id], allocation=s.allocation, start_time=NOW)
        for s in plan.starts
    )
    started = {s.job_id for s in plan.starts}
    pending = tuple(job for job in snapshot.pending if job.job_id not in started)
    return schedule(
        Snapshot(cluster=snapshot.cluster, running=running, pending=pending), NOW, policy
    )


@settings(max_examples=200, deadline=None)
@given(snapshots())
def test_easy_never_delays_the_reservation_of_the_top_blocked_job(snapshot: Snapshot) -> None:
    policy = Policy(backfill=BackfillMode.EASY)
    plan = schedule(snapshot, NOW, policy)
    top = next((p for p in plan.pending if p.reason is PendingReason.RESOURCES), None)
    if top is None or top.estimated_start is None:
        return
    again = _replan(snapshot, plan, policy).pending_by_id()[top.job_id]
    assert again.estimated_start is not None
    assert again.estimated_start <= top.estimated_start


@settings(max_examples=200, deadline=None)
@given(snapshots())
def test_conservative_reservations_and_starts_never_overlap(snapshot: Snapshot) -> None:
    """Every reservation of a conservative plan stays feasible beside every start: counted per
    node over time, running jobs + starts + reservations never exceed a node's capacity."""
    plan = schedule(snapshot, NOW, Policy(backfill=BackfillMode.CONSERVATIVE))
    by_id = {job.job_id: job for job in snapshot.pending}
    intervals: list[tuple[int, int, str, JobRequest]] = []
    for request, allocation in _holdings(snapshot, plan):
        running = next((r for r in snapshot.running if r.request.job_id == request.job_id), None)
        begin = NOW if running is None else running.start_time
        end = max(begin + request.time_limit_s, NOW)
        intervals += [(begin, end, part.node, request) for part in allocation.nodes]
    for entry in plan.pending:
        if entry.estimated_start is not None:
            request = by_id[entry.job_id]
            end = entry.estimated_start + request.time_limit_s
            intervals += [
                (entry.estimated_start, end, node, request) for node in entry.planned_nodes
            ]
    instants = sorted({max(begin, NOW) for begin, _, _, _ in intervals})
    for node in snapshot.cluster.nodes:
        for t in instants:
            live = [r for b, e, n, r in intervals if n == node.name and max(b, NOW) <= t < e]
            assert sum(r.cpus_per_node for r in live) <= node.cpus
            assert sum(r.mem_mb for r in live) <= node.mem_mb
            assert sum(r.gpus_per_node for r in live) <= len(node.gpus)


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_equal_priorities_start_in_submit_order_when_everything_fits(snapshot: Snapshot) -> None:
    weights = PriorityWeights(age=0, fairshare=0, job_size=0, partition=0, qos=0, assoc=0)
    plan = schedule(snapshot, NOW, Policy(weights=weights, backfill=BackfillMode.FCFS))
    order = _order(snapshot, plan)
    started = [s.job_id for s in plan.starts]
    assert started == [job_id for job_id in order if job_id in set(started)]


@settings(max_examples=100, deadline=None)
@given(st.lists(snapshots(), min_size=1, max_size=3), policies)
def test_a_pass_cache_never_changes_the_plan(batch: list[Snapshot], policy: Policy) -> None:
    cache = PassCache()
    for snapshot in batch:  # one cache across passes over different clusters, then the same one
        for _ in range(2):
            assert schedule(snapshot, NOW, policy, cache=cache) == schedule(snapshot, NOW, policy)


@settings(max_examples=150, deadline=None)
@given(snapshots(), policies)
def test_explain_false_takes_the_same_decisions(snapshot: Snapshot, policy: Policy) -> None:
    full = schedule(snapshot, NOW, policy)
    brief = schedule(snapshot, NOW, policy, explain=False)
    assert brief.starts == full.starts
    assert brief.preemptions == full.preemptions
    assert brief.pending == ()


@st.composite
def crowded(draw: st.DrawFn) -> Snapshot:
    """Many jobs of few shapes behind a busy cluster: what decisions-only shortcuts exploit."""
    base = draw(snapshots())
    shapes = [
        (draw(st.integers(1, 4)), draw(st.integers(0, 2)), draw(st.integers(1, 30)))
        for _ in range(3)
    ]
    pending = []
    for i in range(draw(st.integers(2, 25))):
        cpus, gpus, minutes = draw(st.sampled_from(shapes))
        pending.append(
            JobRequest(
                job_id=500 + i,
                user=draw(st.sampled_from(USERS)),
                partition="p",
                submit_time=i,
                time_limit_s=minutes * 60,
                cpus_per_task=cpus,
                gpus_per_node=gpus,
            )
        )
    return dataclasses.replace(base, pending=tuple(pending))


@settings(max_examples=200, deadline=None)
@given(crowded(), st.sampled_from(list(BackfillMode)))
def test_explain_false_takes_the_same_decisions_on_repeated_shapes(
    snapshot: Snapshot, mode: BackfillMode
) -> None:
    policy = Policy(backfill=mode)
    full = schedule(snapshot, NOW, policy)
    assert schedule(snapshot, NOW, policy, explain=False).starts == full.starts
