"""The availability profile: free CPUs, MiB and GPU indices of every node over future time.

Each node has a timeline of segments ``[times[k], times[k+1])`` with the free amount in each (the
last segment runs to infinity); free GPUs are a bitmask of indices, so "the same GPUs are free
for the whole window" is an AND over the segments. Running jobs give their resources back at
their expected end; reservations and starts decided in the pass are cut out of it.

A running job already past its expected end is expected back *now*: its node timeline then
starts with a zero-length segment that still holds it. Starting a job now must fit that segment
too (the job really is still running), while a reservation may begin at ``now`` right after it.
This is the textbook EASY rule that a running job's expected end is ``max(now, start + limit)``.

The profile is mutable and private to one pass; it never outlives `scheduler.schedule`.

A profile laid out from a `scheduler.runningprofile.RunningProfile` (`lazily`) builds a node's
timeline only when the pass first needs more than what is free now: until something is cut out
of it, a node's free resources only grow with time, so "fits now for the whole time limit" is
"fits in what is free now", and a start on an untouched node is noted and applied only if the
node is looked at again. A pass that starts one job on an idle-enough machine (a third of a
trace replay's passes) builds no timeline at all. Answers are the same as with every timeline
built up front.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from functools import reduce
from itertools import repeat
from operator import add, and_
from typing import TYPE_CHECKING

from scheduler.model import Node, RunningJob

if TYPE_CHECKING:
    from scheduler.placement import Fit

# Earliest-start searches made on an untouched profile, kept while the running jobs stay the
# same: need key -> (the ``now`` searched at, the start found, where). See `ResourceStage`.
SearchMemo = dict[object, tuple[int, int, tuple["Fit", ...]]]

Free = tuple[int, int, int]  # CPUs, MiB, GPU mask
Timeline = tuple[list[int], list[int], list[int], list[int]]  # times, CPUs, MiB, GPU masks
_Deferred = tuple[int, int, int, int]  # a start not yet cut out: end, CPUs, MiB, GPU mask


class Availability:
    __slots__ = (
        "_build",
        "_cpus",
        "_deferred",
        "_flat",
        "_free",
        "_gpus",
        "_mem",
        "_times",
        "changes",
        "index",
        "now",
        "searches",
    )

    def __init__(
        self,
        nodes: Sequence[Node],
        running: Sequence[RunningJob],
        now: int,
        index: dict[str, int] | None = None,
        gpu_masks: Sequence[int] | None = None,
    ) -> None:
        """``index`` (node name -> position) and ``gpu_masks`` (every node's GPUs as a bitmask)
        may be passed in when the caller already has them."""
        self.now = now
        self.changes = 0  # bumped by every take/give, so callers can cache what they derive
        self.index = index if index is not None else {node.name: i for i, node in enumerate(nodes)}
        self._free: list[Free | None] = [None] * len(nodes)
        self._flat = [(False, False)] * len(nodes)  # (MiB, GPUs) the same in every segment
        self._deferred: dict[int, list[_Deferred]] = {}
        self._build: Callable[[int], Timeline] | None = None
        self.searches: SearchMemo | None = None
        where = self.index.get
        ends: list[list[tuple[int, int, int, int]]] = [[] for _ in nodes]
        masks = gpu_masks if gpu_masks is not None else [node.gpu_mask() for node in nodes]
        free = [[node.cpus, node.mem_mb, mask] for node, mask in zip(nodes, masks, strict=True)]
        for job in running:
            end = job.start_time + job.request.time_limit_s
            if end < now:
                end = now
            for part in job.allocation.nodes:
                i = where(part.node)
                if i is None:
                    continue  # a node removed from the configuration: nothing to track
                mask = 0
                for gpu in part.gpu_indices:
                    mask |= 1 << gpu
                slot = free[i]
                slot[0] -= part.cpus
                slot[1] -= part.mem_mb
                if mask:
                    slot[2] &= ~mask
                ends[i].append((end, part.cpus, part.mem_mb, mask))
        self._times: list[list[int]] = []
        self._cpus: list[list[int]] = []
        self._mem: list[list[int]] = []
        self._gpus: list[list[int]] = []
        for i in range(len(nodes)):
            cpus, mem, gpus = free[i]
            times, cpu_line, mem_line, gpu_line = [now], [cpus], [mem], [gpus]
            node_ends = ends[i]
            node_ends.sort()
            previous = now
            for end, c, m, g in node_ends:
                cpus += c
                mem += m
                gpus |= g
                if end == previous and len(times) > 1:
                    cpu_line[-1], mem_line[-1], gpu_line[-1] = cpus, mem, gpus
                else:
                    times.append(end)
                    cpu_line.append(cpus)
                    mem_line.append(mem)
                    gpu_line.append(gpus)
                    previous = end
            self._times.append(times)
            self._cpus.append(cpu_line)
            self._mem.append(mem_line)
            self._gpus.append(gpu_line)

    @classmethod
    def lazily(
        cls,
        now: int,
        index: dict[str, int],
        free: list[Free | None],
        build: Callable[[int], Timeline],
        searches: SearchMemo,
    ) -> Availability:
        """A profile whose node ``i`` is free ``free[i]`` now and whose timeline ``build(i)``
        lays out when first needed (`scheduler.runningprofile`). ``free[i]`` is None where
        free resources may shrink with time: the timeline is then built for any question.
        ``searches``: the searches on the same running jobs that earlier passes kept."""
        self = cls((), (), now, index, ())  # an empty profile, filled in below
        self._free = free
        self._build = build
        self.searches = searches
        count = len(free)
        self._flat = [(False, False)] * count
        self._times = [[] for _ in range(count)]  # empty: not laid out yet
        self._cpus = [[] for _ in range(count)]
        self._mem = [[] for _ in range(count)]
        self._gpus = [[] for _ in range(count)]
        return self

    def rebase(self, now: int, build: Callable[[int], Timeline]) -> None:
        """Move the profile from ``self.now`` to a later ``now``, for a pass that resumes an
        earlier one (`scheduler.cycle`). Only valid when the running jobs are the same, none
        has its expected end in ``(self.now, now]``, nothing was started and every cut begins
        after ``now``: the profile laid out at ``now`` then has the same breakpoints and values
        but the first (and the overrun segment's), which move from the old ``now`` to ``now``.
        ``build`` lays out the nodes not laid out yet at ``now``."""
        before = self.now
        self.now = now
        self._build = build
        for times in self._times:
            if times:
                times[0] = now
                if len(times) > 1 and times[1] == before:
                    times[1] = now

    def _lay_out(self, node: int) -> None:
        """Build the node's timeline and cut out the starts noted on it so far."""
        assert self._build is not None
        timeline = self._build(node)
        self._times[node], self._cpus[node], self._mem[node], self._gpus[node] = timeline
        mem_line, gpu_line = timeline[2], timeline[3]
        self._flat[node] = (
            mem_line.count(mem_line[0]) == len(mem_line),
            gpu_line.count(gpu_line[0]) == len(gpu_line),
        )
        for end, cpus, mem, mask in self._deferred.pop(node, ()):
            self._apply(node, 0, end, -cpus, -mem, ~mask, 0)

    def free_now(self, node: int) -> tuple[int, int, int]:
        """Free CPUs, MiB and GPU mask at this instant, counting jobs that overran their limit."""
        if not self._times[node]:
            free = self._free[node]
            if free is not None and node not in self._deferred:
                return free
            self._lay_out(node)
        return self._cpus[node][0], self._mem[node][0], self._gpus[node][0]

    def most_free_now(self, nodes: Sequence[int]) -> tuple[int, int, int]:
        """The most CPUs, MiB and GPUs free right now on any one of ``nodes``."""
        cpus = mem = gpus = 0
        for node in nodes:
            c, m, g = self.free_now(node)
            cpus = max(cpus, c)
            mem = max(mem, m)
            gpus = max(gpus, g.bit_count())
        return cpus, mem, gpus

    def window(self, node: int, start: int, end: int, *, started: bool) -> tuple[int, int, int]:
        """Least free CPUs and MiB over ``[start, end)`` and the GPUs free throughout it, for a
        job ``started`` right now (overrunning jobs included) or reserved at ``start``."""
        times = self._times[node]
        if not times:
            free = self._free[node]
            if started and free is not None and node not in self._deferred:
                return free  # untouched: nothing is less free later than now
            self._lay_out(node)
            times = self._times[node]
        k = 0 if started else bisect_right(times, start) - 1
        stop = bisect_left(times, end, k + 1)  # segments k .. stop - 1 begin before ``end``
        if stop == k + 1:
            return self._cpus[node][k], self._mem[node][k], self._gpus[node][k]
        flat_mem, flat_gpus = self._flat[node]  # a processor pool's: no need to scan them
        return (
            min(self._cpus[node][k:stop]),
            self._mem[node][k] if flat_mem else min(self._mem[node][k:stop]),
            self._gpus[node][k] if flat_gpus else reduce(and_, self._gpus[node][k:stop]),
        )

    def earliest(
        self,
        node: int,
        lower: int,
        duration: int,
        need: tuple[int, int, int],
        gpu_pool: int,
        horizon: int,
    ) -> int | None:
        """The earliest reservation time ``t`` in ``[lower, horizon]`` at which the node has
        ``need`` = (CPUs, MiB, GPU count) free, the GPUs among ``gpu_pool``, for
        ``[t, t + duration)``. A reservation at ``now`` begins after overrunning jobs."""
        cpus, mem, gpus = need
        if not self._times[node]:
            self._lay_out(node)
        times = self._times[node]
        cpu_line, mem_line, gpu_line = self._cpus[node], self._mem[node], self._gpus[node]
        last = len(times)
        k = bisect_right(times, lower) - 1
        while k < last:
            start = times[k] if times[k] > lower else lower
            if start > horizon:
                return None
            end = start + duration
            free_gpus = gpu_pool
            j = k
            while True:
                if cpu_line[j] < cpus or mem_line[j] < mem:
                    k = j + 1  # every window holding segment j fails: jump past it
                    break
                if gpus:
                    narrowed = free_gpus & gpu_line[j]
                    if narrowed != free_gpus:  # count bits only when the set shrinks
                        free_gpus = narrowed
                        if narrowed.bit_count() < gpus:
                            k += 1
                            break
                j += 1
                if j >= last or times[j] >= end:
                    return start
        return None

    def _split(self, node: int, at: int) -> int:
        """Make ``at`` a breakpoint of the node and return the index of the segment it starts."""
        times = self._times[node]
        k = bisect_right(times, at) - 1
        if times[k] == at:
            return k
        k += 1
        times.insert(k, at)
        for line in (self._cpus[node], self._mem[node], self._gpus[node]):
            line.insert(k, line[k - 1])
        return k

    def take(
        self,
        node: int,
        start: int,
        end: int,
        amount: tuple[int, int, int],
        *,
        started: bool,
    ) -> None:
        """Cut ``amount`` = (CPUs, MiB, GPU mask) out of ``[start, end)``: a job started now
        (``started``: it holds the overrun segment too) or a reservation at ``start``."""
        self.changes += 1
        if not self._times[node]:
            if started:  # noted, cut out if the node is looked at again
                self._deferred.setdefault(node, []).append((end, *amount))
                return
            self._lay_out(node)
        first = 0 if started else self._split(node, start)
        self._apply(node, first, end, -amount[0], -amount[1], ~amount[2], 0)

    def give(self, node: int, end: int, amount: tuple[int, int, int]) -> None:
        """Give ``amount`` back from now until ``end`` (a preempted job's remaining time)."""
        self.changes += 1
        if not self._times[node]:
            self._lay_out(node)
        self._apply(node, 0, end, amount[0], amount[1], -1, amount[2])

    def _apply(
        self, node: int, first: int, end: int, cpus: int, mem: int, keep: int, add_mask: int
    ) -> None:
        stop = self._split(node, end)
        # Slices and ``map`` run in C; a resource the change does not touch is left alone.
        if cpus:
            line = self._cpus[node]
            line[first:stop] = map(add, line[first:stop], repeat(cpus))
        if mem:
            line = self._mem[node]
            line[first:stop] = map(add, line[first:stop], repeat(mem))
            self._flat[node] = (False, self._flat[node][1])
        if keep != -1 or add_mask:
            line = self._gpus[node]
            line[first:stop] = [(gpus & keep) | add_mask for gpus in line[first:stop]]
            self._flat[node] = (self._flat[node][0], False)
