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

Speed: the profile only ever loses free resources during a pass, so what failed once fails
again, and for anything at least as big. The stage keeps, per group (partition, GPU model,
features, node count), the Pareto frontier of sizes (CPUs, MiB, GPUs, seconds) that did not fit
now and of those that found no start within ``bf_window``: a demand that dominates one of them
is refused without a search. Per exact size it also keeps the last earliest start, where the
next search of that size begins.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.availability import Availability
from scheduler.model import Allocation, JobRequest
from scheduler.placement import Demand, Fit, Placer
from scheduler.policy import BackfillMode, Policy

_Size = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Reservation:
    start: int
    nodes: tuple[str, ...]


class _Frontier:
    """Minimal sizes that failed, per group: a size that dominates one of them fails too.
    Sizes already answered are remembered exactly, so a repeated size costs one lookup."""

    __slots__ = ("_sizes", "known")

    def __init__(self) -> None:
        self._sizes: dict[object, list[_Size]] = {}
        self.known: set[object] = set()

    def covers(self, need: Demand) -> bool:
        if need.key in self.known:
            return True
        cpus, mem, gpus, duration = need.size
        for c, m, g, d in self._sizes.get(need.group, ()):
            if c <= cpus and m <= mem and g <= gpus and d <= duration:
                self.known.add(need.key)
                return True
        return False

    def knows(self, need: Demand) -> bool:
        """Whether this exact size is already known to fail (no frontier scan)."""
        return need.key in self.known

    def add(self, need: Demand) -> None:
        cpus, mem, gpus, duration = need.size
        sizes = self._sizes.setdefault(need.group, [])
        sizes[:] = [
            size
            for size in sizes
            if not (cpus <= size[0] and mem <= size[1] and gpus <= size[2] and duration <= size[3])
        ]
        sizes.append(need.size)
        self.known.add(need.key)

    def clear(self) -> None:
        self._sizes.clear()
        self.known.clear()


class ResourceStage:
    """Mutable, private to one pass."""

    __slots__ = (
        "_blocked_sets",
        "_earliest",
        "_most_free",
        "_most_free_at",
        "_no_fit_now",
        "_no_slot",
        "_node_earliest",
        "availability",
        "blocked_nodes",
        "everything",
        "explain",
        "first_start",
        "horizon",
        "mode",
        "now",
        "placer",
        "reserved_partitions",
        "shadows",
    )

    def __init__(
        self,
        placer: Placer,
        availability: Availability,
        now: int,
        policy: Policy,
        *,
        explain: bool = True,
    ) -> None:
        """``explain`` False: the pass reports decisions only, not reservations' details."""
        self.explain = explain
        self.placer = placer
        self.availability = availability
        self.now = now
        self.mode = policy.backfill
        self.horizon = now + policy.bf_window_s
        self.reserved_partitions: set[str] = set()
        self.blocked_nodes: set[int] = set()
        self._most_free = (0, 0, 0)
        self._most_free_at = -1
        self.everything = placer.everything
        self._blocked_sets: set[tuple[int, ...]] = set()
        self.shadows: dict[str, int] = {}  # GREEDY: partition -> shadow time of its head
        self.first_start = _UNBOUNDED  # the earliest reservation or shadow time made so far
        self._no_fit_now = _Frontier()
        self._no_slot = _Frontier()  # no start within bf_window
        self._earliest: dict[object, int] = {}
        self._node_earliest: dict[tuple[object, int], int] = {}  # per (size, node)

    @property
    def anything_blocked(self) -> bool:
        return bool(self.blocked_nodes)

    def forget_shapes(self) -> None:
        """Drop what the pass learnt about failures (resources were given back by a preemption)."""
        self._no_fit_now.clear()
        self._no_slot.clear()
        self._earliest.clear()
        self._node_earliest.clear()

    def most_free(self) -> tuple[int, int, int]:
        """The most CPUs, MiB and GPUs free right now on any one node (kept until a change)."""
        if self._most_free_at != self.availability.changes:
            self._most_free = self.availability.most_free_now(self.placer.all_nodes)
            self._most_free_at = self.availability.changes
        return self._most_free

    def skippable(self, job: JobRequest, need: Demand) -> bool:
        """EASY or GREEDY, the job's partition already has its blocked head, and either no node
        has the CPUs, MiB or GPUs one node's share needs right now, or this exact size is known
        not to fit now: the job cannot start, and as one more blocked job it would change
        nothing (decisions-only passes skip it)."""
        if job.partition not in self.reserved_partitions:
            return False
        if need.key in self._no_fit_now.known:
            return True
        cpus, mem, gpus = self.most_free()
        return need.cpus > cpus or need.mem > mem or need.gpus > gpus

    def known_blocked(self, job: JobRequest, need: Demand) -> bool:
        """The job's partition already has its blocked head and this exact size is known not
        to fit now: the job would only be marked blocked (decisions-only passes skip it). Never
        under conservative backfill, where every blocked job's reservation shapes what follows."""
        return (
            self.mode is not BackfillMode.CONSERVATIVE
            and job.partition in self.reserved_partitions
            and self._no_fit_now.knows(need)
        )

    def blocked_by_priority(self, need: Demand) -> bool:
        """FCFS: a higher-priority blocked job shares a node with this one."""
        if self.mode is not BackfillMode.FCFS or not self.blocked_nodes:
            return False
        return any(node in self.blocked_nodes for node in need.eligible)

    def start_now(self, job: JobRequest, need: Demand) -> Allocation | None:
        if self._no_fit_now.covers(need):
            return None
        shadow = self.shadows.get(job.partition)
        if shadow is not None and self.now + need.duration >= shadow:
            self._no_fit_now.add(need)  # GREEDY: a longer job of this group fails too
            return None
        fits = self.placer.place(need, self.availability, self.now, need.eligible, started=True)
        if fits is None:
            self._no_fit_now.add(need)
            return None
        self.commit(need, self.now, fits, started=True)
        return self.placer.allocation(job, fits)

    def block(self, job: JobRequest, need: Demand) -> bool:
        """Mark the job blocked on resources; True if it is the first of its partition."""
        partition = job.partition
        if partition in self.reserved_partitions:
            if need.eligible not in self._blocked_sets:
                self._blocked_sets.add(need.eligible)
                self.blocked_nodes.update(need.eligible)
            return False
        self.reserved_partitions.add(partition)
        self._blocked_sets.add(need.eligible)
        self.blocked_nodes.update(need.eligible)
        return True

    def shadow(self, job: JobRequest, need: Demand) -> Reservation | None:
        """GREEDY: the blocked job's earliest start, remembered for its partition, not reserved."""
        found = self._search(need, self.now, _UNBOUNDED)
        if found is None:
            return None
        start, fits = found
        self.shadows[job.partition] = start
        if start < self.first_start:
            self.first_start = start
        return self._reservation(start, fits)

    def keep_shadow(self, job: JobRequest, shadow: int) -> Reservation:
        """GREEDY under ``Policy.keep_head``: the kept head's shadow time as first computed,
        whatever the profile says now (jobs may have ended early or overrun their estimates)."""
        self.shadows[job.partition] = shadow
        if shadow < self.first_start:
            self.first_start = shadow
        return Reservation(start=shadow, nodes=()) if self.explain else _UNREPORTED

    def reserve(self, need: Demand, *, lower: int, bounded: bool = True) -> Reservation | None:
        """Reserve the earliest start at or after ``lower`` (within ``bf_window`` when
        ``bounded``), cutting it out of the profile. None when there is no such start."""
        if bounded and self._no_slot.covers(need):
            return None
        limit = self.horizon if bounded else _UNBOUNDED
        lower = max(lower, self.now, self._earliest.get(need.key, self.now))
        found = None if lower > limit else self._search(need, lower, limit)
        if found is None:
            if bounded:
                self._no_slot.add(need)
            return None
        start, fits = found
        self._earliest[need.key] = start
        if start < self.first_start:
            self.first_start = start
        self.commit(need, start, fits, started=False)
        return self._reservation(start, fits)

    def _reservation(self, start: int, fits: tuple[Fit, ...]) -> Reservation:
        """What a pass reports; a decisions-only pass reads only whether there is one."""
        if not self.explain:
            return _UNREPORTED
        names = tuple(self.placer.names[f.node] for f in sorted(fits, key=lambda f: f.node))
        return Reservation(start=start, nodes=names)

    def _search(self, need: Demand, lower: int, limit: int) -> tuple[int, tuple[Fit, ...]] | None:
        """The earliest start in ``[lower, limit]`` and where. A search from ``now`` on a profile
        the pass has not touched yet is kept (`Availability.searches`) while the running jobs
        stay the same: for any ``t`` at or after a later ``now`` what is free at ``t`` is then
        the same (expected ends before ``now`` only move to ``now``), so a start found at or
        after that ``now`` is still the earliest, on the same nodes and GPUs."""
        memo = self.availability.searches
        if memo is None or lower != self.now or self.availability.changes:
            return self._find(need, lower, limit)
        kept = memo.get(need.key)
        if kept is not None and kept[0] <= lower <= kept[1] <= limit:
            return kept[1], kept[2]
        found = self._find(need, lower, limit)
        if found is not None:
            memo[need.key] = (lower, *found)
        return found

    def _find(self, need: Demand, lower: int, limit: int) -> tuple[int, tuple[Fit, ...]] | None:
        candidates = need.eligible
        if len(candidates) < need.nodes:
            return None
        availability, placer = self.availability, self.placer
        size = (need.cpus, need.mem, need.gpus)
        single = need.nodes == 1
        starts: list[tuple[int, int]] = []
        best = limit
        bounds = self._node_earliest
        for node in candidates:
            horizon = best if single else limit
            bound_key = (need.key, node)
            node_lower = bounds.get(bound_key, lower)
            node_lower = max(node_lower, lower)
            if node_lower > horizon:
                continue
            pool = placer.model_masks[node].get(need.model, 0)
            start = availability.earliest(node, node_lower, need.duration, size, pool, horizon)
            if start is None:
                bounds[bound_key] = horizon + 1  # nothing at or before the horizon
                continue
            bounds[bound_key] = start
            starts.append((start, node))
            if single and start < best:
                best = start
        if len(starts) < need.nodes:
            return None
        starts.sort()
        if single:
            first = starts[0][0]
            tied = [node for start, node in starts if start == first]
            fits = placer.place(need, availability, first, tied, started=False)
            return None if fits is None else (first, fits)
        return self._search_many(need, starts, limit)

    def _search_many(
        self, need: Demand, starts: list[tuple[int, int]], limit: int
    ) -> tuple[int, tuple[Fit, ...]] | None:
        """A common start for a multi-node job. Any common start is at least the k-th smallest of
        the nodes' own earliest starts from the current bound; if not enough nodes fit at that
        instant, the bound moves one second past it and the nodes are asked again."""
        availability, placer = self.availability, self.placer
        nodes = [node for _, node in starts]
        pools = [placer.model_masks[node].get(need.model, 0) for node in nodes]
        size = (need.cpus, need.mem, need.gpus)
        k = need.nodes
        candidate = starts[k - 1][0]
        while candidate <= limit:
            fits = placer.place(need, availability, candidate, nodes, started=False)
            if fits is not None:
                return candidate, fits
            lower = candidate + 1
            found = []
            for node, pool in zip(nodes, pools, strict=True):
                start = availability.earliest(node, lower, need.duration, size, pool, limit)
                if start is not None:
                    found.append(start)
            if len(found) < k:
                return None
            found.sort()
            candidate = found[k - 1]
        return None

    def commit(self, need: Demand, start: int, fits: tuple[Fit, ...], *, started: bool) -> None:
        """Cut the job out of the profile on ``fits``, from ``start`` for its time limit."""
        end = start + need.duration
        for found in fits:
            amount = (need.cpus, need.mem, found.gpu_mask)
            self.availability.take(found.node, start, end, amount, started=started)


_UNBOUNDED = 2**62
_UNREPORTED = Reservation(start=0, nodes=())  # stands for any reservation a brief pass makes
