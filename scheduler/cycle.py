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
driver may pass in explicitly, which holds only facts that cannot change a decision.
"""

from __future__ import annotations

from scheduler.availability import Availability
from scheduler.backfill import Reservation, ResourceStage
from scheduler.eligibility import Gate
from scheduler.limits import LimitTally
from scheduler.model import Allocation, JobRequest
from scheduler.passcache import PassCache
from scheduler.placement import Demand, Placer
from scheduler.plan import Pending, PendingReason, Plan, Preempt, Start
from scheduler.policy import BackfillMode, Policy, QueueOrder
from scheduler.preemption import preempt_for
from scheduler.priority import job_priorities
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

    ``cache`` (optional) lets a driver keep cluster- and limit-derived facts between passes;
    it never changes the Plan (see `scheduler.passcache`). ``explain=False`` leaves out the
    pending jobs (reasons, estimates) and stops as soon as no later job can start: the starts
    and preemptions are exactly those of ``explain=True``. A replay that only needs decisions
    uses it; the daemon, which shows reasons, does not.
    """
    priorities = job_priorities(snapshot, now, policy)
    if policy.queue_order is QueueOrder.SHORTEST_FIRST:
        order = sorted(
            snapshot.pending, key=lambda job: (job.time_limit_s, job.submit_time, job.job_id)
        )
    else:
        order = sorted(
            snapshot.pending, key=lambda job: (-priorities[job.job_id], job.submit_time, job.job_id)
        )
    state = _Pass(snapshot, now, policy, cache)
    examined, max_examined = 0, policy.bf_max_job_test
    # Bound methods in locals: this loop runs once per pending job, 10,000 times a pass.
    gate_reason, tally_reason, consider = state.gate.reason, state.tally.reason, state.consider
    decided = state.decided
    everything = state.stage.everything
    demand, known_blocked = state.placer.demand, state.stage.known_blocked
    fcfs = policy.backfill is BackfillMode.FCFS
    # Decisions only, no job-count bound to respect, and a mode where one more blocked job
    # changes nothing: jobs that surely cannot start are skipped before any other check.
    quick = (
        not explain
        and policy.backfill in (BackfillMode.EASY, BackfillMode.GREEDY)
        and max_examined >= len(order)
    )
    surely_blocked = state.stage.surely_blocked
    for job in order:
        if quick and surely_blocked(job):
            continue
        priority = priorities[job.job_id]
        reason = gate_reason(job) or tally_reason(job)
        if reason is None and examined >= max_examined:
            reason = PendingReason.PRIORITY
        if reason is not None:
            decided[job.job_id] = (reason, priority, None)
            continue
        examined += 1
        if not explain and known_blocked(job, demand(job)):
            continue  # its shape already failed behind a reservation: nothing to record
        consider(job, priority)
        if not explain and fcfs and state.stage.blocked_nodes >= everything:
            break  # FCFS with every node held back: no later job can start

    if not explain:
        return Plan(starts=tuple(state.starts), preemptions=tuple(state.preemptions))
    if policy.estimate_starts:
        _estimate(state.stage, state.deferred, decided, fcfs=policy.backfill is BackfillMode.FCFS)
    # ``decided`` was filled in priority order, and estimates only replaced values.
    pending = tuple(
        Pending(job_id=job_id, reason=reason, priority=priority)
        if reservation is None
        else _pending(job_id, reason, priority, reservation)
        for job_id, (reason, priority, reservation) in decided.items()
    )
    return Plan(starts=tuple(state.starts), preemptions=tuple(state.preemptions), pending=pending)


class _Pass:
    """The mutable state of one pass: what it has started, reserved and decided so far."""

    __slots__ = (
        "decided",
        "deferred",
        "gate",
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
        self, snapshot: Snapshot, now: int, policy: Policy, cache: PassCache | None
    ) -> None:
        self.now, self.policy = now, policy
        self.gate = Gate(snapshot, now, policy.limits)
        scopes = None if cache is None else cache.scopes(policy.limits)
        self.tally = LimitTally(policy.limits, scopes)
        if self.tally.active:
            for running in snapshot.running:
                self.tally.charge(running.request, running.allocation.total)
        cluster = snapshot.cluster
        self.placer = Placer(cluster) if cache is None else cache.placer(cluster)
        availability = Availability(
            cluster.nodes, snapshot.running, now, self.placer.index, self.placer.full_masks
        )
        self.stage = ResourceStage(self.placer, availability, now, policy)
        self.preemptible = {running.request.job_id: running for running in snapshot.running}
        self.starts: list[Start] = []
        self.preemptions: list[Preempt] = []
        self.decided: dict[int, tuple[PendingReason, int, Reservation | None]] = {}
        self.deferred: list[tuple[JobRequest, Demand]] = []  # blocked, no reservation yet

    def consider(self, job: JobRequest, priority: int) -> None:
        """The resource stage for a job that passed eligibility and limits."""
        stage = self.stage
        need = self.placer.demand(job)
        if len(need.eligible) < job.nodes:
            self.decided[job.job_id] = (PendingReason.REQ_NODE_NOT_AVAIL, priority, None)
            return
        allocation = None if stage.blocked_by_priority(need) else stage.start_now(job, need)
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
        reservation = _reserve_now(stage, job, need, first)
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
