"""`RunningProfile`: the running jobs' release schedule, kept across passes by a `PassCache`.

Every pass needs the availability profile of the running jobs: per node, what is free now and
what each expected end gives back. Built from scratch it is a loop over every running job and
every part of its allocation, each pass (the largest single cost of a trace replay, where a
pass sees some 50 running jobs and one of them changed since the last pass). This object keeps,
per node, the distinct expected ends (``start + time limit``, sorted, not yet clamped to any
``now``) with what the jobs ending then hold, and what all running jobs hold. `sync` brings it
up to date with a snapshot's running jobs by their difference from the last ones it saw (by
identity: running jobs are frozen, so the same object is the same job; `scheduler.seqdiff`), and
`availability` lays out one pass's profile from it with list operations that run in C.

The profile it lays out is exactly the one `Availability` builds from the running jobs (same
breakpoints, same values: the first segment holds every running job, a breakpoint at ``now``
frees those whose expected end is already past, then one breakpoint per later end), so a pass
decides exactly as it would without it. It belongs to one cluster (its node positions and
capacities): the `PassCache` starts a new one when the cluster changes.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from functools import partial, reduce
from itertools import accumulate, islice
from operator import or_

from scheduler.availability import Availability, Free, SearchMemo, Timeline
from scheduler.model import Node, RunningJob
from scheduler.seqdiff import tail_diff

_Part = tuple[int, int, int]  # (CPUs, MiB, GPU mask) one job holds on one node
_Record = tuple[int, tuple[tuple[int, _Part], ...]]  # expected end, (node, part) per node


class _NodeEnds:
    """One node: the distinct expected ends of its running jobs and what each end frees."""

    __slots__ = (
        "cpus",
        "ends",
        "gpu_parts",
        "gpus",
        "held_cpus",
        "held_mem",
        "mem",
        "mem_parts",
        "parts",
        "shrinking",
    )

    def __init__(self) -> None:
        self.ends: list[int] = []
        self.cpus: list[int] = []  # freed at ends[k]
        self.mem: list[int] = []
        self.gpus: list[int] = []  # GPU mask freed at ends[k]
        self.parts: list[list[_Part]] = []  # the parts ending at ends[k]
        self.held_cpus = 0
        self.held_mem = 0
        self.mem_parts = 0  # parts holding memory / GPUs: without any, the line is flat
        self.gpu_parts = 0
        self.shrinking = 0  # parts holding a negative amount: free may then shrink with time

    def add(self, end: int, part: _Part) -> None:
        cpus, mem, mask = part
        self.held_cpus += cpus
        self.held_mem += mem
        self.mem_parts += mem != 0
        self.gpu_parts += mask != 0
        self.shrinking += cpus < 0 or mem < 0
        ends = self.ends
        k = bisect_left(ends, end)
        if k < len(ends) and ends[k] == end:
            self.cpus[k] += cpus
            self.mem[k] += mem
            self.gpus[k] |= mask
            self.parts[k].append(part)
            return
        ends.insert(k, end)
        self.cpus.insert(k, cpus)
        self.mem.insert(k, mem)
        self.gpus.insert(k, mask)
        self.parts.insert(k, [part])

    def remove(self, end: int, part: _Part) -> None:
        cpus, mem, mask = part
        self.held_cpus -= cpus
        self.held_mem -= mem
        self.mem_parts -= mem != 0
        self.gpu_parts -= mask != 0
        self.shrinking -= cpus < 0 or mem < 0
        k = bisect_left(self.ends, end)
        parts = self.parts[k]
        parts.remove(part)
        if not parts:
            for line in (self.ends, self.cpus, self.mem, self.gpus, self.parts):
                del line[k]
            return
        self.cpus[k] -= cpus
        self.mem[k] -= mem
        self.gpus[k] = reduce(or_, (mask for _, _, mask in parts), 0)


class RunningProfile:
    """The release schedule of one cluster's running jobs (see the module docstring)."""

    __slots__ = (
        "_capacity",
        "_ends",
        "_index",
        "_masks",
        "_nodes",
        "_records",
        "_searches",
        "_seen",
    )

    def __init__(
        self, nodes: Sequence[Node], index: dict[str, int], gpu_masks: Sequence[int]
    ) -> None:
        self._index = index
        self._capacity = tuple((node.cpus, node.mem_mb) for node in nodes)
        self._masks = tuple(gpu_masks)
        self._nodes = [_NodeEnds() for _ in nodes]
        self._seen: tuple[RunningJob, ...] = ()  # the running jobs of the last sync
        self._records: list[_Record] = []  # what each of them holds, in the same order
        self._searches: SearchMemo = {}  # kept while the running jobs stay the same
        self._ends: list[int] = []  # every running job's expected end, sorted

    def sync(self, running: Sequence[RunningJob]) -> None:
        """Bring the schedule up to ``running``: by their difference from the jobs of the last
        sync (`scheduler.seqdiff`), or afresh when too much changed."""
        seen = self._seen
        if running is seen:
            return
        found = tail_diff(seen, running, 8 + len(seen) // 4)
        records = self._records
        if found is None:
            self._nodes = [_NodeEnds() for _ in self._capacity]
            records.clear()
            self._ends.clear()
            removed, added = list[int](), 0
        else:
            removed, added = found
        for k in reversed(removed):
            self._drop(records.pop(k))
        records.extend(self._add(job) for job in islice(running, added, None))
        if removed or added < len(running):
            self._searches = {}
        self._seen = tuple(running)

    def _add(self, job: RunningJob) -> _Record:
        end = job.start_time + job.request.time_limit_s
        insort(self._ends, end)
        where = self._index.get
        parts = []
        for part in job.allocation.nodes:
            i = where(part.node)
            if i is None:
                continue  # a node removed from the configuration: nothing to track
            mask = 0
            for gpu in part.gpu_indices:
                mask |= 1 << gpu
            held = (part.cpus, part.mem_mb, mask)
            self._nodes[i].add(end, held)
            parts.append((i, held))
        return end, tuple(parts)

    def _drop(self, record: _Record) -> None:
        end, parts = record
        del self._ends[bisect_left(self._ends, end)]
        for i, held in parts:
            self._nodes[i].remove(end, held)

    def quiet(self, after: int, until: int) -> bool:
        """No running job of the last sync has its expected end in ``(after, until]``."""
        k = bisect_right(self._ends, after)
        return k == len(self._ends) or self._ends[k] > until

    def timeline(self, now: int) -> Callable[[int], Timeline]:
        """What lays out a node's timeline at ``now`` (`Availability.lazily`)."""
        return partial(self._timeline, now)

    def availability(self, now: int) -> Availability:
        """The pass's profile at ``now``: the same breakpoints and values `Availability` builds
        from the running jobs, each node's laid out in fresh lists when the pass first needs
        more than what is free now (`Availability.lazily`)."""
        free: list[Free | None] = []
        for node, (cpus, mem), full in zip(self._nodes, self._capacity, self._masks, strict=True):
            if node.shrinking:
                free.append(None)
            else:
                held = reduce(or_, node.gpus, 0) if node.gpu_parts else 0
                free.append((cpus - node.held_cpus, mem - node.held_mem, full & ~held))
        timeline = partial(self._timeline, now)
        return Availability.lazily(now, self._index, free, timeline, self._searches)

    def _timeline(self, now: int, i: int) -> Timeline:
        """Node ``i``'s breakpoints and free CPUs, MiB and GPU mask from each, at ``now``."""
        node, (cpus, mem), full = self._nodes[i], self._capacity[i], self._masks[i]
        ends = node.ends
        past = bisect_right(ends, now)  # ends already reached: all freed at ``now``
        if past:
            times = [now, now]
            times += ends[past:]
        else:
            times = [now, *ends]
        cpu_line = list(accumulate(node.cpus, initial=cpus - node.held_cpus))
        if past > 1:
            del cpu_line[1:past]
        if node.mem_parts:
            mem_line = list(accumulate(node.mem, initial=mem - node.held_mem))
            if past > 1:
                del mem_line[1:past]
        else:
            mem_line = [mem] * len(times)
        if node.gpu_parts:
            held = reduce(or_, node.gpus, 0)
            gpu_line = list(accumulate(node.gpus, or_, initial=full & ~held))
            if past > 1:
                del gpu_line[1:past]
        else:
            gpu_line = [full] * len(times)
        return times, cpu_line, mem_line, gpu_line
