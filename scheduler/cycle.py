"""``schedule(snapshot, now, policy) -> Plan``: one scheduling pass, composed of fixed stages.

    priority  ->  eligibility (holds, dependencies, begin time, partition, array throttle)
              ->  limits (QOS, association and account caps)
              ->  preemption (optional, for the top job blocked on resources)
              ->  resources (start now, or reserve: FCFS / EASY / conservative)
              ->  estimates for the blocked jobs no reservation covered

Jobs are taken in a total order, ``(-priority, submit time, job id)``, so the daemon and the
simulator, which may build their pending tuples in different orders, get the same Plan. The pass
reads only its arguments and returns new values; every mutable helper lives and dies inside it.
"""

from __future__ import annotations

from scheduler.availability import Availability
from scheduler.backfill import Reservation, ResourceStage
from scheduler.eligibility import Gate
from scheduler.limits import LimitTally
from scheduler.model import JobRequest
from scheduler.placement import Demand, Placer
from scheduler.plan import Pending, PendingReason, Plan, Preempt, Start
from scheduler.policy import BackfillMode, Policy, QueueOrder
from scheduler.preemption import preempt_for
from scheduler.priority import job_priorities
from scheduler.snapshot import Snapshot


def schedule(snapshot: Snapshot, now: int, policy: Policy) -> Plan:
    """Decide which pending jobs start now, on which nodes and GPUs, and why the rest wait."""
    priorities = job_priorities(snapshot, now, policy)
    if policy.queue_order is QueueOrder.SHORTEST_FIRST:
        order = sorted(
            snapshot.pending, key=lambda job: (job.time_limit_s, job.submit_time, job.job_id)
        )
    else:
        order = sorted(
            snapshot.pending, key=lambda job: (-priorities[job.job_id], job.submit_time, job.job_id)
        )
    gate = Gate(snapshot, now, policy.limits)
    tally = LimitTally(policy.limits)
    for running in snapshot.running:
        tally.charge(running.request, running.allocation.total)
    placer = Placer(snapshot.cluster)
    stage = ResourceStage(
        placer, Availability(snapshot.cluster.nodes, snapshot.running, now), now, policy
    )
    preemptible = {running.request.job_id: running for running in snapshot.running}

    starts: list[Start] = []
    preemptions: list[Preempt] = []
    decided: dict[int, tuple[PendingReason, int, Reservation | None]] = {}
    deferred: list[tuple[JobRequest, Demand]] = []  # blocked on resources, no reservation yet
    examined, max_examined = 0, policy.bf_max_job_test
    # Bound methods in locals: this loop runs once per pending job, 10,000 times a pass.
    gate_reason, tally_reason, demand = gate.reason, tally.reason, placer.demand
    blocked_by_priority, start_now = stage.blocked_by_priority, stage.start_now
    for job in order:
        priority = priorities[job.job_id]
        reason = gate_reason(job) or tally_reason(job)
        if reason is None and examined >= max_examined:
            reason = PendingReason.PRIORITY
        if reason is not None:
            decided[job.job_id] = (reason, priority, None)
            continue
        examined += 1
        need = demand(job)
        if len(need.eligible) < job.nodes:
            decided[job.job_id] = (PendingReason.REQ_NODE_NOT_AVAIL, priority, None)
            continue
        allocation = None if blocked_by_priority(need) else start_now(job, need)
        victims: tuple[int, ...] = ()
        if allocation is None and policy.preemption and not stage.anything_blocked:
            found = preempt_for(job, need, stage, preemptible, now, policy)
            if found is not None:
                allocation, victims = found
                for victim in victims:
                    released = preemptible.pop(victim)
                    tally.discharge(released.request, released.allocation.total)
                    preemptions.append(Preempt(job_id=victim, for_job_id=job.job_id))
        if allocation is not None:
            backfilled = stage.anything_blocked
            starts.append(
                Start(
                    job_id=job.job_id,
                    allocation=allocation,
                    priority=priority,
                    backfilled=backfilled,
                    preempts=victims,
                )
            )
            gate.started(job)
            tally.charge(job, allocation.total)
            continue
        first = stage.block(job, need)
        reservation = _reserve_now(stage, job, need, first)
        if reservation is None:
            deferred.append((job, need))
        reason = PendingReason.RESOURCES if first else PendingReason.PRIORITY
        decided[job.job_id] = (reason, priority, reservation)

    if policy.estimate_starts:
        _estimate(stage, deferred, decided, fcfs=policy.backfill is BackfillMode.FCFS)
    # ``decided`` was filled in priority order, and estimates only replaced values.
    pending = tuple(
        Pending(job_id=job_id, reason=reason, priority=priority)
        if reservation is None
        else _pending(job_id, reason, priority, reservation)
        for job_id, (reason, priority, reservation) in decided.items()
    )
    return Plan(starts=tuple(starts), preemptions=tuple(preemptions), pending=pending)


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
