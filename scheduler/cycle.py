"""``schedule(snapshot, now, policy) -> Plan``: one scheduling pass, composed of fixed stages.

    priority  ->  eligibility (holds, dependencies, begin time, partition, array throttle)
              ->  limits (QOS, association and account caps)
              ->  preemption (optional, for the top job blocked on resources)
              ->  resources (start now, or reserve: FCFS / EASY / conservative / greedy)
              ->  estimates for the blocked jobs no reservation covered

Jobs are taken in a total order, ``(-priority, submit time, job id)`` (or, for studies,
``(time limit, submit time, job id)``), so the daemon and the simulator, which may build their
pending tuples in different orders, get the same Plan. The pass reads only its arguments and
returns new values; every mutable helper lives and dies inside it, except the `PassCache` a
driver may pass in explicitly: what passes share (cluster facts, the running jobs' release
schedule, the queue in a fixed order, searches on an untouched profile), each part checked
against this pass's inputs, so that it can never change a decision. A decisions-only pass
that started nothing leaves its end state there too, for the next pass to resume when only
jobs appended behind the queue can decide differently (`_resumed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scheduler.availability import Availability
from scheduler.backfill import Reservation, ResourceStage
from scheduler.eligibility import Gate
from scheduler.heads import behind_the_head, kept_first
from scheduler.limits import LimitTally
from scheduler.model import Allocation, JobRequest
from scheduler.passcache import PassCache
from scheduler.placement import Demand, Placer
from scheduler.plan import Head, Pending, PendingReason, Plan, Preempt, Start
from scheduler.policy import BackfillMode, Policy, QueueOrder
from scheduler.preemption import preempt_for
from scheduler.priority import job_priorities
from scheduler.queueindex import Entry, QueueIndex
from scheduler.snapshot import Snapshot


def schedule(
    snapshot: Snapshot,
    now: int,
    policy: Policy,
    *,
    cache: PassCache | None = None,
    explain: bool = True,
) -> Plan:
    """Decide which pending jobs start now, on which nodes and GPUs, and why the rest wait.

    ``cache`` (optional) lets a driver keep what passes share between them: cluster- and
    limit-derived facts, the running jobs' release schedule and, when the queue order is fixed,
    the queue in order; it never changes the Plan (see `scheduler.passcache`).
    ``explain=False`` leaves out the pending jobs (reasons, estimates) and stops as soon as no
    later job can start: the starts and preemptions are exactly those of ``explain=True``. A
    replay that only needs decisions uses it; the daemon, which shows reasons, does not.
    """
    if not snapshot.pending:
        return _NOTHING  # no job to decide on: a third of a trace replay's passes
    # Kept heads and a second order behind the head reorder the queue: no fixed queue order.
    reordered = policy.keep_head or policy.backfill_order is not None
    queue = None if cache is None or reordered else cache.queue(snapshot, policy)
    max_examined = policy.bf_max_job_test
    # Decisions only, no job-count bound to respect, and a mode where one more blocked job
    # changes nothing: jobs that surely cannot start are skipped before any other check.
    quick = (
        not explain
        and policy.backfill in (BackfillMode.EASY, BackfillMode.GREEDY)
        and max_examined >= len(snapshot.pending)
    )
    if cache is not None:
        resume, cache.resume = cache.resume, None
        if quick and queue is not None and isinstance(resume, _Resume):
            plan = _resumed(resume, cache, queue, snapshot, now, policy)
            if plan is not None:
                return plan
    state = _Pass(snapshot, now, policy, cache, queue, explain=explain)
    stage = state.stage
    entries: Iterable[Entry]
    if queue is None:
        entries = _sorted(snapshot, now, policy, state.placer)
    else:
        walk = queue.walk(stage.reserved_partitions if quick else None, stage.most_free)
        if queue.fixed:
            entries = walk
        else:  # a fixed order (shortest first) with priorities that move: report those
            priorities = job_priorities(snapshot, now, policy)
            entries = ((*entry[:4], priorities[entry[2]], entry[5]) for entry in walk)
    if reordered:
        heads = snapshot.heads if policy.keep_head else ()
        entries = behind_the_head(kept_first(entries, heads), stage, policy.backfill_order)
    _decide(state, entries, quick=quick, explain=explain, max_examined=max_examined)

    if not explain:
        if cache is not None and queue is not None and quick:
            _keep(cache, queue, state, snapshot, now, policy)
        return Plan(
            starts=tuple(state.starts),
            preemptions=tuple(state.preemptions),
            heads=tuple(state.heads),
        )
    if policy.estimate_starts:
        _estimate(stage, state.deferred, state.decided, fcfs=policy.backfill is BackfillMode.FCFS)
    # ``decided`` was filled in priority order, and estimates only replaced values.
    pending = tuple(
        Pending(job_id=job_id, reason=reason, priority=priority)
        if reservation is None
        else _pending(job_id, reason, priority, reservation)
        for job_id, (reason, priority, reservation) in state.decided.items()
    )
    return Plan(
        starts=tuple(state.starts),
        preemptions=tuple(state.preemptions),
        pending=pending,
        heads=tuple(state.heads),
    )


def _decide(
    state: _Pass, entries: Iterable[Entry], *, quick: bool, explain: bool, max_examined: int
) -> None:
    """Take ``entries`` in order: eligibility, limits, then the resource stage."""
    stage = state.stage
    examined = 0
    # Bound methods in locals: this loop runs once per pending job, 10,000 times a pass.
    gate_reason, tally_reason, consider = state.gate.reason, state.tally.reason, state.consider
    decided = state.decided
    everything = stage.everything
    known_blocked = stage.known_blocked
    fcfs = stage.mode is BackfillMode.FCFS
    skippable = stage.skippable
    for _, _, job_id, job, priority, need in entries:
        # In a quick pass no job-count bound applies and the checks below have no side effect,
        # so a job whose exact shape already failed is skipped first.
        if quick and skippable(job, need):
            continue
        reason = gate_reason(job) or tally_reason(job)
        if reason is None and examined >= max_examined:
            reason = PendingReason.PRIORITY
        if reason is not None:
            decided[job_id] = (reason, priority, None)
            continue
        examined += 1
        if not explain and known_blocked(job, need):
            continue  # its shape already failed behind a reservation: nothing to record
        consider(job, priority, need)
        if not explain and fcfs and stage.blocked_nodes >= everything:
            break  # FCFS with every node held back: no later job can start


class _Resume:
    """Where a quick pass that started nothing ended: its state (profile with the heads'
    reservations, what failed), inputs and the last job of its queue order."""

    __slots__ = ("last", "now", "policy", "queue", "seen", "snapshot", "state")

    def __init__(
        self,
        state: _Pass,
        snapshot: Snapshot,
        now: int,
        policy: Policy,
        queue: QueueIndex,
        last: Entry,
    ) -> None:
        self.state, self.snapshot, self.now, self.policy = state, snapshot, now, policy
        self.queue, self.seen, self.last = queue, queue.seen, last


def _keep(
    cache: PassCache, queue: QueueIndex, state: _Pass, snapshot: Snapshot, now: int, policy: Policy
) -> None:
    """Keep a quick pass's end state for the next pass, when it started and preempted nothing
    and no pending job's eligibility can move with time alone (dependencies, array throttles
    and begin times are not followed: such passes are never resumed)."""
    if state.starts or state.preemptions or not queue.fixed or policy.preemption:
        return
    if queue.tracking or queue.timed:
        return
    last = queue.last()
    if last is not None:
        cache.resume = _Resume(state, snapshot, now, policy, queue, last)


def _resumed(
    resume: _Resume,
    cache: PassCache,
    queue: QueueIndex,
    snapshot: Snapshot,
    now: int,
    policy: Policy,
) -> Plan | None:
    """A quick pass that resumes the last one, or None when that cannot be shown to decide as a
    pass from scratch does. It can when, since that pass (which started nothing): the policy,
    cluster, running and finished jobs are the same objects; the queue only gained jobs that
    come after every job it had; no running job reached its expected end in between (what is
    free at and after ``now`` is then the same) and every reservation made starts after
    ``now``; and no pending job depends on time or on other jobs (`_keep`). Each earlier job
    then decides at ``now`` as it did: a job that could not start then cannot now (its window
    only grows over the same profile, a greedy shadow only gets nearer), and the earliest start
    of a head, after ``now``, is the same. So only the appended jobs are taken, on the state
    the last pass ended in, moved to ``now``."""
    before = resume.snapshot
    appended = queue.appended
    if (
        appended is None
        or queue is not resume.queue
        or queue.synced_from is not resume.seen
        or policy is not resume.policy
        or snapshot.cluster is not before.cluster
        or snapshot.running is not before.running
        or snapshot.finished is not before.finished
        or now < resume.now
        or queue.tracking
        or queue.timed
    ):
        return None
    state = resume.state
    stage = state.stage
    if stage.first_start <= now or not cache.quiet(resume.now, now):
        return None
    last = resume.last
    entries = sorted(appended)
    if entries and entries[0][:3] <= last[:3]:
        return None  # a new job comes before an earlier one: decide afresh
    if now != resume.now:
        state.now = state.gate.now = stage.now = now
        stage.horizon = now + policy.bf_window_s
        stage.availability.rebase(now, cache.timeline(now))
    _decide(state, entries, quick=True, explain=False, max_examined=policy.bf_max_job_test)
    if not state.starts and not state.preemptions:
        last = entries[-1] if entries else last
        cache.resume = _Resume(state, snapshot, now, policy, queue, last)
    return Plan(starts=tuple(state.starts), preemptions=tuple(state.preemptions))


def _sorted(snapshot: Snapshot, now: int, policy: Policy, placer: Placer) -> Iterator[Entry]:
    """The pending jobs in queue order, as `QueueIndex` entries, sorted afresh (each job's
    `Demand` only when the pass gets to it: an FCFS pass may stop long before the end)."""
    priorities = job_priorities(snapshot, now, policy)
    if policy.queue_order is QueueOrder.SHORTEST_FIRST:
        order = sorted(
            snapshot.pending, key=lambda job: (job.time_limit_s, job.submit_time, job.job_id)
        )
    else:
        order = sorted(
            snapshot.pending, key=lambda job: (-priorities[job.job_id], job.submit_time, job.job_id)
        )
    demand = placer.demand
    return ((0, 0, job.job_id, job, priorities[job.job_id], demand(job)) for job in order)


_NOTHING = Plan()


class _Pass:
    """The mutable state of one pass: what it has started, reserved and decided so far."""

    __slots__ = (
        "decided",
        "deferred",
        "gate",
        "heads",
        "kept",
        "now",
        "placer",
        "policy",
        "preemptible",
        "preemptions",
        "stage",
        "starts",
        "tally",
    )

    def __init__(
        self,
        snapshot: Snapshot,
        now: int,
        policy: Policy,
        cache: PassCache | None,
        queue: QueueIndex | None,
        *,
        explain: bool,
    ) -> None:
        self.now, self.policy = now, policy
        limits, cluster = policy.limits, snapshot.cluster
        if cache is None:
            self.gate = Gate(snapshot, now, limits)
            self.tally = LimitTally(limits)
            self.placer = Placer(cluster)
            availability = Availability(
                cluster.nodes, snapshot.running, now, self.placer.index, self.placer.full_masks
            )
        else:
            self.placer = cache.placer(cluster)
            tracking = None if queue is None else queue.tracking > 0
            self.gate = Gate(
                snapshot, now, limits, tracking=tracking, partitions=self.placer.partitions
            )
            self.tally = LimitTally(limits, cache.scopes(limits), cache.limit_flags(limits))
            availability = cache.availability(cluster, snapshot.running, now)
        if self.tally.active:
            for running in snapshot.running:
                self.tally.charge(running.request, running.allocation.total)
        self.stage = ResourceStage(self.placer, availability, now, policy, explain=explain)
        self.preemptible = (
            {running.request.job_id: running for running in snapshot.running}
            if policy.preemption
            else {}
        )
        self.starts: list[Start] = []
        self.preemptions: list[Preempt] = []
        self.decided: dict[int, tuple[PendingReason, int, Reservation | None]] = {}
        self.deferred: list[tuple[JobRequest, Demand]] = []  # blocked, no reservation yet
        # Policy.keep_head: the heads this pass was handed and the ones it hands on.
        self.kept = {head.job_id: head for head in snapshot.heads} if policy.keep_head else {}
        self.heads: list[Head] = []

    def consider(self, job: JobRequest, priority: int, need: Demand) -> None:
        """The resource stage for a job that passed eligibility and limits."""
        stage = self.stage
        if len(need.eligible) < job.nodes:
            self.decided[job.job_id] = (PendingReason.REQ_NODE_NOT_AVAIL, priority, None)
            return
        blocked = stage.blocked_nodes and stage.blocked_by_priority(need)
        allocation = None if blocked else stage.start_now(job, need)
        victims: tuple[int, ...] = ()
        if allocation is None and self.policy.preemption and not stage.anything_blocked:
            allocation, victims = self._preempt(job, need)
        if allocation is not None:
            self.starts.append(
                Start(
                    job_id=job.job_id,
                    allocation=allocation,
                    priority=priority,
                    backfilled=stage.anything_blocked,
                    preempts=victims,
                )
            )
            self.gate.started(job)
            if self.tally.active:
                self.tally.charge(job, allocation.total)
            return
        first = stage.block(job, need)
        kept = self.kept.get(job.job_id) if first else None
        reservation: Reservation | None
        if kept is not None and kept.shadow is not None and stage.mode is BackfillMode.GREEDY:
            reservation = stage.keep_shadow(job, kept.shadow)
        else:
            reservation = _reserve_now(stage, job, need, first)
        if first and self.policy.keep_head:
            shadow = stage.shadows.get(job.partition)  # GREEDY's, None in other modes
            self.heads.append(Head(job_id=job.job_id, partition=job.partition, shadow=shadow))
        if reservation is None:
            self.deferred.append((job, need))
        reason = PendingReason.RESOURCES if first else PendingReason.PRIORITY
        self.decided[job.job_id] = (reason, priority, reservation)

    def _preempt(self, job: JobRequest, need: Demand) -> tuple[Allocation | None, tuple[int, ...]]:
        found = preempt_for(job, need, self.stage, self.preemptible, self.now, self.policy)
        if found is None:
            return None, ()
        allocation, victims = found
        for victim in victims:
            released = self.preemptible.pop(victim)
            if self.tally.active:
                self.tally.discharge(released.request, released.allocation.total)
            self.preemptions.append(Preempt(job_id=victim, for_job_id=job.job_id))
        return allocation, victims


def _reserve_now(
    stage: ResourceStage, job: JobRequest, need: Demand, first: bool
) -> Reservation | None:
    """Reservations that shape this pass's decisions: EASY's one per partition (unbounded, so the
    head can never starve), conservative's for every blocked job (within ``bf_window``), and
    GREEDY's shadow time, which bounds later starts without being reserved."""
    if stage.mode is BackfillMode.EASY and first:
        return stage.reserve(need, lower=stage.now, bounded=False)
    if stage.mode is BackfillMode.CONSERVATIVE:
        return stage.reserve(need, lower=stage.now)
    if stage.mode is BackfillMode.GREEDY and first:
        return stage.shadow(job, need)
    return None


def _estimate(
    stage: ResourceStage,
    blocked: list[tuple[JobRequest, Demand]],
    decided: dict[int, tuple[PendingReason, int, Reservation | None]],
    *,
    fcfs: bool,
) -> None:
    """Estimated starts for blocked jobs without a reservation: hypothetical reservations in
    priority order on what is left of the profile. Under FCFS no job may start before a job
    ahead of it, so each search begins at the previous estimate (bounds never decrease, which
    the stage's failure memory relies on)."""
    lower = stage.now
    for job, need in blocked:
        reservation = stage.reserve(need, lower=lower)
        if reservation is None:
            continue
        if fcfs:
            lower = reservation.start
        reason, priority, _ = decided[job.job_id]
        decided[job.job_id] = (reason, priority, reservation)


def _pending(
    job_id: int, reason: PendingReason, priority: int, reservation: Reservation | None
) -> Pending:
    if reservation is None:
        return Pending(job_id=job_id, reason=reason, priority=priority)
    return Pending(
        job_id=job_id,
        reason=reason,
        priority=priority,
        estimated_start=reservation.start,
        planned_nodes=reservation.nodes,
    )
