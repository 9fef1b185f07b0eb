"""Preemption (optional, ``policy.preemption``): a job whose QOS lists other QOS in its
``preempt`` may requeue running jobs of those QOS to start now.

Only the highest-priority job blocked on resources preempts (while no reservation has been made
in the pass), so a preemption never tramples a reservation and the pass stays simple to reason
about. Victims are chosen to free the least work: on each candidate node, running preemptible
jobs are added in order of lost work (elapsed seconds x billing rate, then job id) until the job
fits; the nodes needing the least lost work win, ties going to the better fit. This greedy choice
is not always the global minimum, but it is deterministic and cheap.
"""

from __future__ import annotations

from collections.abc import Mapping

from scheduler.backfill import ResourceStage
from scheduler.fairshare import billing_rate
from scheduler.model import Allocation, JobRequest, RunningJob
from scheduler.placement import Demand, Fit
from scheduler.policy import Policy


def _lost_work(job: RunningJob, now: int, policy: Policy) -> float:
    return max(0, now - job.start_time) * billing_rate(job.allocation.total, policy.billing)


_Option = tuple[float, tuple[int, int, int, int, int], int, list[RunningJob]]


def _node_option(
    need: Demand,
    node: int,
    stage: ResourceStage,
    pool: list[RunningJob],
    now: int,
    policy: Policy,
) -> _Option | None:
    """The cheapest victims on one node (greedy by lost work) that let the job fit there."""
    name = stage.placer.names[node]
    cpus, mem, gpus = stage.availability.free_now(node)
    chosen: list[RunningJob] = []
    cost = 0.0
    found: Fit | None = stage.placer.fit(need, node, (cpus, mem, gpus))
    for victim in pool:
        if found is not None:
            break
        for part in victim.allocation.nodes:
            if part.node != name:
                continue
            cpus += part.cpus
            mem += part.mem_mb
            for index in part.gpu_indices:
                gpus |= 1 << index
            chosen.append(victim)
            cost += _lost_work(victim, now, policy)
            found = stage.placer.fit(need, node, (cpus, mem, gpus))
    if found is None:
        return None
    return cost, found.score, node, chosen


def preempt_for(
    job: JobRequest,
    need: Demand,
    stage: ResourceStage,
    running: Mapping[int, RunningJob],
    now: int,
    policy: Policy,
) -> tuple[Allocation, tuple[int, ...]] | None:
    """Start ``job`` now by preempting jobs from ``running``; None if that cannot be done.

    On success the profile of ``stage`` already holds the job and no longer holds the victims.
    """
    qos = policy.limits.qos.get(job.qos)
    if qos is None or not qos.preempt:
        return None
    pool = sorted(
        (r for r in running.values() if r.request.qos in qos.preempt),
        key=lambda r: (_lost_work(r, now, policy), r.request.job_id),
    )
    if not pool:
        return None
    placer, availability = stage.placer, stage.availability
    options = []
    for node in need.eligible:
        option = _node_option(need, node, stage, pool, now, policy)
        if option is not None:
            options.append(option)
    if len(options) < job.nodes:
        return None
    options.sort(key=lambda option: (option[0], option[1]))
    picked = options[: job.nodes]
    victims = {v.request.job_id: v for _, _, _, chosen in picked for v in chosen}
    for victim in victims.values():
        end = max(victim.expected_end, now)
        for part in victim.allocation.nodes:
            index = availability.index.get(part.node)
            if index is not None:
                mask = sum(1 << gpu for gpu in part.gpu_indices)
                availability.give(index, end, (part.cpus, part.mem_mb, mask))
    stage.forget_shapes()
    fits = placer.place(need, availability, now, [node for _, _, node, _ in picked], started=True)
    if fits is None:  # cannot happen: the victims' resources were just given back
        raise AssertionError(f"preemption for job {job.job_id} freed too little")
    stage.commit(need, now, fits, started=True)
    return placer.allocation(job, fits), tuple(sorted(victims))
