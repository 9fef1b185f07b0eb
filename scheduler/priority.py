"""Slurm's multifactor priority: a weighted sum of factors in [0, 1], minus the job's nice.

    priority = int(w.age * age + (w.fairshare * fairshare + w.job_size * job_size
                   + w.partition * partition + w.qos * qos + w.assoc * assoc
                   + sum(w.tres[k] * tres[k] for k in sorted(w.tres)))) - nice,  at least 1

(summed in that order: the bracket does not depend on time, so jobs of one shape, user, account,
partition and QOS share it within a call).

Factors (``w`` is ``policy.weights``):

- age: time since the job became eligible (``max(submit, begin)``) over ``w.max_age_s``, capped
  at 1 (a ``max_age_s`` <= 0 saturates at once);
- fairshare: `fairshare_factors` of (account, user) under ``policy.fairshare``, computed once per
  call; users with jobs (pending or running) but no association get an implicit one;
- job_size: the job's billing rate over the whole cluster's (`billing_rate`), capped at 1;
  ``1 - job_size`` with ``w.favor_small``;
- partition: the partition's ``priority_job_factor`` over the largest one;
- qos: the QOS's priority over the largest QOS priority;
- assoc: the user's association priority (`Limits.for_user`) over the largest of the users' and
  the default user's;
- tres: per ``cpu`` / ``mem`` / ``gpu`` weighted, the job's total over the total of its
  partition's nodes (``Partition.nodes`` and nodes naming the partition, in any state), capped
  at 1.

A factor whose denominator is 0, or whose partition or QOS is unknown, is 0. A job with no
partition uses the cluster's default partition. A held job's priority is 0, as in Slurm;
``admin_priority`` pins an unheld job's priority to that value exactly (no nice, no floor).
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.fairshare import billing_rate, fairshare_factors
from scheduler.model import Cluster, Hold, JobRequest, Node, Resources
from scheduler.policy import Policy
from scheduler.snapshot import Snapshot

_TRES = {"cpu": 0, "mem": 1, "gpu": 2}  # index into (CPUs, MiB, GPUs); other names have no factor


@dataclass(frozen=True, slots=True, kw_only=True)
class PriorityFactors:
    """A pending job's factors and final priority, as ``sprio -l`` shows them."""

    age: float
    fairshare: float
    job_size: float
    partition: float
    qos: float
    assoc: float
    tres: tuple[tuple[str, float], ...]  # (name, factor) sorted by name
    nice: int
    priority: int


_NOTHING = (0.0, (0.0, 0.0, 0.0, 0.0))  # an unknown partition: no factor, no resources


def _ratio(value: float, top: float) -> float:
    """``value / top`` within [0, 1]; 0 when ``top`` is not positive."""
    return max(0.0, min(1.0, value / top)) if top > 0 else 0.0


def _partitions(cluster: Cluster) -> dict[str, tuple[float, tuple[float, float, float, float]]]:
    """Partition name ("" for the default) -> (partition factor, (CPUs, MiB, GPUs, 0) of its
    nodes, each node counted once; the 0 serves TRES names other than cpu, mem and gpu). The
    first partition of a name wins, as in `Cluster.partition`."""
    by_name: dict[str, Node] = {}
    for node in cluster.nodes:
        by_name.setdefault(node.name, node)
    top = max((p.priority_job_factor for p in cluster.partitions), default=0)
    found: dict[str, tuple[float, tuple[float, float, float, float]]] = {}
    for partition in cluster.partitions:
        named = (
            *partition.nodes,
            *(n.name for n in cluster.nodes if partition.name in n.partitions),
        )
        total = sum(
            (by_name[name].capacity for name in dict.fromkeys(named) if name in by_name),
            Resources(),
        )
        totals = (float(total.cpus), float(total.mem_mb), float(total.gpus), 0.0)
        found.setdefault(partition.name, (_ratio(partition.priority_job_factor, top), totals))
    default = cluster.default_partition
    if default is not None:
        found[""] = found[default.name]
    return found


# (fairshare, job_size, partition, qos, assoc, tres, their weighted sum): a job's time-free part
_Static = tuple[float, float, float, float, float, tuple[tuple[str, float], ...], float]
# (job_size, partition, qos, tres, their weighted sum): what a job's shape, partition, QOS decide
_Shaped = tuple[float, float, float, tuple[tuple[str, float], ...], float]


class _Context:
    """What every job's factors share, computed once per call (never kept between calls).

    Jobs of one shape, partition and QOS share their shape factors (``memo``), and jobs of one
    user association share fair share and association priority (``people``): a pass over
    10,000 jobs computes each once. The shape key holds every field `JobRequest.total` reads.
    """

    __slots__ = (
        "age_weight",
        "assoc",
        "assoc_default",
        "fairshare",
        "index",
        "max_age",
        "memo",
        "now",
        "partitions",
        "people",
        "policy",
        "qos",
        "rate",
    )

    def __init__(self, snapshot: Snapshot, now: int, policy: Policy, *, factors: bool) -> None:
        cluster, limits, weights = snapshot.cluster, policy.limits, policy.weights
        self.now, self.policy = now, policy
        self.age_weight, self.max_age = weights.age, weights.max_age_s
        capacity = sum((node.capacity for node in cluster.nodes), Resources())
        self.rate = billing_rate(capacity, policy.billing)
        self.partitions = _partitions(cluster)
        top = max((q.priority for q in limits.qos.values()), default=0)
        self.qos = {name: _ratio(q.priority, top) for name, q in limits.qos.items()}
        top = max([limits.default_user.priority, *(u.priority for u in limits.users.values())])
        self.assoc = {name: _ratio(u.priority, top) for name, u in limits.users.items()}
        self.assoc_default = _ratio(limits.default_user.priority, top)
        self.index = tuple((k, _TRES.get(k, 3), weights.tres[k]) for k in sorted(weights.tres))
        self.fairshare: dict[tuple[str, str], float] = {}
        if factors or weights.fairshare:  # a zero weight needs the factor only for reports
            jobs = (*snapshot.pending, *(r.request for r in snapshot.running))
            pairs = tuple(sorted({(job.account, job.user) for job in jobs}))
            self.fairshare = fairshare_factors(
                snapshot.shares, snapshot.usage, policy.fairshare, pairs
            )
        self.memo: dict[tuple[str | int, ...], _Shaped] = {}
        self.people: dict[tuple[str, str], tuple[float, float, float]] = {}

    def static(self, job: JobRequest) -> _Shaped:
        """The factors that depend only on the job's shape, partition and QOS."""
        w = self.policy.weights
        total = job.total
        size = _ratio(billing_rate(total, self.policy.billing), self.rate)
        size = 1.0 - size if w.favor_small else size
        partition, totals = self.partitions.get(job.partition, _NOTHING)
        qos = self.qos.get(job.qos, 0.0)
        asked = (total.cpus, total.mem_mb, total.gpus, 0)
        weighted = w.job_size * size + w.partition * partition + w.qos * qos
        tres: list[tuple[str, float]] = []
        for name, i, weight in self.index:
            factor = _ratio(asked[i], totals[i])
            tres.append((name, factor))
            weighted += weight * factor
        return (size, partition, qos, tuple(tres), weighted)

    def personal(self, job: JobRequest) -> tuple[float, float, float]:
        """The factors that depend only on who submitted: fair share and association."""
        w = self.policy.weights
        fairshare = self.fairshare.get((job.account, job.user), 0.0)
        assoc = self.assoc.get(job.user, self.assoc_default)
        return fairshare, assoc, w.fairshare * fairshare + w.assoc * assoc

    def priority(self, job: JobRequest) -> tuple[float, _Static, int]:
        """The job's age factor, time-free factors and priority."""
        key = (
            job.partition,
            job.qos,
            job.nodes,
            job.tasks,
            job.cpus_per_task,
            job.mem_mb,
            job.gpus_per_node,
        )
        shaped = self.memo.get(key)
        if shaped is None:
            shaped = self.memo[key] = self.static(job)
        who = (job.account, job.user)
        personal = self.people.get(who)
        if personal is None:
            personal = self.people[who] = self.personal(job)
        size, partition, qos, tres, weighted = shaped
        fairshare, assoc, personal_weighted = personal
        static = (fairshare, size, partition, qos, assoc, tres, weighted + personal_weighted)
        begin, submit = job.begin_time, job.submit_time
        waited = self.now - (submit if begin is None or begin < submit else begin)
        age = 0.0 if waited <= 0 else 1.0 if waited >= self.max_age else waited / self.max_age
        if job.hold is not Hold.NONE:
            return age, static, 0
        if job.admin_priority is not None:
            return age, static, job.admin_priority
        return age, static, max(1, int(self.age_weight * age + static[-1]) - job.nice)


def priority_factors(snapshot: Snapshot, now: int, policy: Policy) -> dict[int, PriorityFactors]:
    """Every pending job's factors and priority, keyed by job id."""
    context = _Context(snapshot, now, policy, factors=True)
    factors: dict[int, PriorityFactors] = {}
    for job in snapshot.pending:
        age, (fairshare, size, partition, qos, assoc, tres, _), priority = context.priority(job)
        factors[job.job_id] = PriorityFactors(
            age=age,
            fairshare=fairshare,
            job_size=size,
            partition=partition,
            qos=qos,
            assoc=assoc,
            tres=tres,
            nice=job.nice,
            priority=priority,
        )
    return factors


def job_priorities(snapshot: Snapshot, now: int, policy: Policy) -> dict[int, int]:
    """Every pending job's priority, keyed by job id."""
    if fixed_priorities(policy):
        return {job.job_id: unweighted_priority(job) for job in snapshot.pending}
    context = _Context(snapshot, now, policy, factors=False)
    return {job.job_id: context.priority(job)[2] for job in snapshot.pending}


def fixed_priorities(policy: Policy) -> bool:
    """Every factor weighs 0 (FIFO, as trace studies use): only holds, pins and nice count, so a
    job's priority is `unweighted_priority` of the job alone, whatever the time and usage."""
    w = policy.weights
    return not (w.age or w.fairshare or w.job_size or w.partition or w.qos or w.assoc) and not any(
        w.tres.values()
    )


def unweighted_priority(job: JobRequest) -> int:
    """A job's priority when every factor weighs 0: 0 when held, the pinned value, else
    ``max(1, -nice)``."""
    if job.hold is not Hold.NONE:
        return 0
    if job.admin_priority is not None:
        return job.admin_priority
    return max(1, -job.nice)
