"""The resource stage: start a job now, or reserve its earliest start, under FCFS, EASY or
conservative backfill.

Rules, with "fits" meaning: on enough eligible nodes, the job's CPUs, MiB and the *same* GPU
indices are free for its whole time limit in the availability profile (running jobs until their
expected end, plus every start and reservation this pass already made):

- FCFS: jobs go in priority order; a job that does not fit blocks every later job whose partition
  shares a node with it (they wait with reason ``Priority``).
- EASY: the first blocked job of each partition gets a reservation at its earliest start (however
  far ahead); any later job that fits now starts now. Because the reservation is in the profile,
  such a job can never delay it: this is the textbook rule "start a job if it ends before the
  shadow time or uses only the extra processors", stated per node and per GPU index.
- Conservative: every blocked job gets a reservation (within ``bf_window``) in priority order; a
  later job starts now only if it fits around all of them.

Reason words follow Slurm: the first blocked job of a partition says ``Resources``, blocked jobs
behind it say ``Priority``. Estimated starts: reservations give them; with
``policy.estimate_starts`` the blocked jobs EASY and FCFS did not reserve for get one too, from
hypothetical reservations made in priority order after all decisions, within ``bf_window``.

Speed: the profile only ever loses free resources during a pass, so the earliest start of a job
shape can only move later. The stage remembers, per shape and time limit, "does not fit now" and
the last earliest start, and starts each search from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.availability import Availability
from scheduler.model import Allocation, JobRequest
from scheduler.placement import Fit, Placer, Shape, shape_of
from scheduler.policy import BackfillMode, Policy

_Key = tuple[Shape, int]


@dataclass(frozen=True, slots=True)
class Reservation:
    start: int
    nodes: tuple[str, ...]


class ResourceStage:
    """Mutable, private to one pass."""

    __slots__ = (
        "_earliest",
        "_no_fit_now",
        "availability",
        "blocked_nodes",
        "horizon",
        "mode",
        "now",
        "placer",
        "reserved_partitions",
    )

    def __init__(
        self, placer: Placer, availability: Availability, now: int, policy: Policy
    ) -> None:
        self.placer = placer
        self.availability = availability
        self.now = now
        self.mode = policy.backfill
        self.horizon = now + policy.bf_window_s
        self.reserved_partitions: set[str] = set()
        self.blocked_nodes: set[int] = set()
        self._no_fit_now: set[_Key] = set()
        self._earliest: dict[_Key, int] = {}

    @property
    def anything_blocked(self) -> bool:
        return bool(self.blocked_nodes)

    def forget_shapes(self) -> None:
        """Drop the monotonic caches (after resources were given back, by a preemption)."""
        self._no_fit_now.clear()
        self._earliest.clear()

    def blocked_by_priority(self, job: JobRequest) -> bool:
        """FCFS: a higher-priority blocked job shares a node with this one."""
        if self.mode is not BackfillMode.FCFS or not self.blocked_nodes:
            return False
        return any(node in self.blocked_nodes for node in self.placer.eligible(job))

    def start_now(self, job: JobRequest) -> Allocation | None:
        key = (shape_of(job), job.time_limit_s)
        if key in self._no_fit_now:
            return None
        candidates = self.placer.eligible(job)
        fits = self.placer.place(job, self.availability, self.now, candidates, started=True)
        if fits is None:
            self._no_fit_now.add(key)
            return None
        self.commit(job, self.now, fits, started=True)
        return self.placer.allocation(job, fits)

    def block(self, job: JobRequest) -> bool:
        """Mark ``job`` blocked on resources; True if it is the first of its partition."""
        first = job.partition not in self.reserved_partitions
        self.reserved_partitions.add(job.partition)
        self.blocked_nodes.update(self.placer.eligible(job))
        return first

    def reserve(self, job: JobRequest, *, lower: int, horizon: int | None) -> Reservation | None:
        """Reserve the earliest start at or after ``lower`` (and not after ``horizon``, None for
        no bound), cutting it out of the profile. None when there is no such start."""
        limit = self.horizon if horizon is None else horizon
        key = (shape_of(job), job.time_limit_s)
        lower = max(lower, self.now, self._earliest.get(key, self.now))
        if lower > limit:
            return None
        found = self._search(job, lower, limit)
        if found is None:
            self._earliest[key] = limit + 1
            return None
        start, fits = found
        self._earliest[key] = start
        self.commit(job, start, fits, started=False)
        names = tuple(self.placer.names[f.node] for f in sorted(fits, key=lambda f: f.node))
        return Reservation(start=start, nodes=names)

    def _search(
        self, job: JobRequest, lower: int, limit: int
    ) -> tuple[int, tuple[Fit, ...]] | None:
        candidates = self.placer.eligible(job)
        if len(candidates) < job.nodes:
            return None
        availability, placer = self.availability, self.placer
        need = (job.cpus_per_node, job.mem_mb, job.gpus_per_node)
        starts: list[tuple[int, int]] = []
        best = limit
        for node in candidates:
            pool = placer.gpu_pool(node, job.gpu_model)
            horizon = best if job.nodes == 1 else limit
            start = availability.earliest(node, lower, job.time_limit_s, need, pool, horizon)
            if start is not None:
                starts.append((start, node))
                if job.nodes == 1 and start < best:
                    best = start
        if len(starts) < job.nodes:
            return None
        starts.sort()
        if job.nodes == 1:
            first = starts[0][0]
            tied = [node for start, node in starts if start == first]
            fits = placer.place(job, availability, first, tied, started=False)
            return None if fits is None else (first, fits)
        return self._search_many(job, starts, limit)

    def _search_many(
        self, job: JobRequest, starts: list[tuple[int, int]], limit: int
    ) -> tuple[int, tuple[Fit, ...]] | None:
        """A common start for a multi-node job: no earlier than the k-th node's own earliest
        start, and always some node's breakpoint (the window can slide back to one)."""
        nodes = [node for _, node in starts]
        lower = starts[job.nodes - 1][0]
        times = {lower}
        for node in nodes:
            times.update(t for t in self.availability.breakpoints(node) if lower < t <= limit)
        for start in sorted(times):
            fits = self.placer.place(job, self.availability, start, nodes, started=False)
            if fits is not None:
                return start, fits
        return None

    def commit(self, job: JobRequest, start: int, fits: tuple[Fit, ...], *, started: bool) -> None:
        """Cut the job out of the profile on ``fits``, from ``start`` for its time limit."""
        end = start + job.time_limit_s
        for found in fits:
            amount = (job.cpus_per_node, job.mem_mb, found.gpu_mask)
            self.availability.take(found.node, start, end, amount, started=started)
