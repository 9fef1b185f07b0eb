"""`QueueIndex`: the pending jobs in queue order, kept across passes by a `PassCache`.

A pass takes jobs in a total order. With every priority weight 0 (FIFO, as trace studies rank
jobs) a job's priority depends on the job alone (holds, pins, nice), and with the shortest-first
order the key is the job's own time limit: either way a job's place in the queue never changes
while it waits. Sorting the whole queue and computing every priority each pass is then wasted
work; the index inserts the jobs that arrived since the last pass it saw and removes those that
left (by identity: requests are frozen, the same object is the same job; `scheduler.seqdiff`).

The order is kept as a list of sorted blocks (the layout of ``sortedcontainers.SortedList``),
each with the per-node CPUs of its jobs beside it. A decisions-only EASY or greedy pass skips
every job that surely cannot start (`ResourceStage.skippable`: its partition's head is
blocked and no node has its share free now); `walk` leaves out the jobs asking more CPUs than
any node has free with ``itertools.compress``, in C, so a pass behind a blocked head costs
little per job it skips (five million of them in an EASY replay of HPC2N).

Priority weights other than 0 change priorities with time (age) and with usage: the index then
does not apply (`order_kind` is None) and the pass sorts as before.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Iterator, Sequence
from itertools import compress, islice, repeat
from operator import ge

from scheduler.model import JobRequest
from scheduler.placement import Demand, Placer
from scheduler.policy import Policy, QueueOrder
from scheduler.priority import fixed_priorities, unweighted_priority
from scheduler.seqdiff import tail_diff

_Need = tuple[int, int, int]  # per node: CPUs, MiB, GPUs
# (key, key, job id, job, priority, demand): the first three are the total order of the queue
Entry = tuple[int, int, int, JobRequest, int, Demand]
_LOAD = 64  # a block is split in two when it grows past twice this

FIFO = "fifo"
SHORTEST = "shortest"


def order_kind(policy: Policy) -> tuple[str, bool] | None:
    """Which fixed order the policy's queue follows and whether its priorities are fixed too,
    or None when the order moves with time."""
    fixed = fixed_priorities(policy)
    if policy.queue_order is QueueOrder.SHORTEST_FIRST:
        return SHORTEST, fixed
    return (FIFO, True) if fixed else None


class QueueIndex:
    """Pending jobs in one fixed order (`FIFO` or `SHORTEST`), in blocks (module docstring)."""

    __slots__ = (
        "_blocks",
        "_cpus",
        "_demand",
        "_entries",
        "_ids",
        "_maxes",
        "_seen",
        "appended",
        "fixed",
        "kind",
        "partitions",
        "synced_from",
        "timed",
        "tracking",
    )

    def __init__(self, kind: str, fixed: bool, placer: Placer) -> None:
        """``fixed``: priorities are `unweighted_priority` (else the pass computes them);
        ``placer``: the cluster's, whose `Demand` each entry keeps."""
        self.kind = kind
        self.fixed = fixed
        self._demand = placer.demand
        self._reset()

    def _reset(self) -> None:
        self._blocks: list[list[Entry]] = []
        self._maxes: list[Entry] = []  # the last entry of each block
        self._cpus: list[list[int]] = []  # per block, the per-node CPUs each entry asks
        self._seen: tuple[JobRequest, ...] = ()  # the pending jobs of the last sync
        self._entries: list[Entry] = []  # their entries, in the same order
        self._ids: set[int] = set()  # job ids, to refuse a queue that lists one twice
        self.partitions: dict[str, int] = {}  # partition -> pending jobs in it
        self.tracking = 0  # pending jobs with dependencies or an array throttle (`Gate`)
        self.timed = 0  # pending jobs with a begin time
        # What the last sync did, when it only appended jobs: the jobs it started from and the
        # entries of those appended (None: it removed jobs or rebuilt). `scheduler.cycle`'s
        # resumed passes read it.
        self.synced_from: tuple[JobRequest, ...] = ()
        self.appended: list[Entry] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def sync(self, pending: Sequence[JobRequest]) -> bool:
        """Bring the index up to ``pending``: by their difference from the jobs of the last sync
        (`scheduler.seqdiff`), or afresh when too much changed. False when the queue lists a
        job id twice (the order would not be total): the caller sorts instead."""
        seen = self._seen
        if pending is seen:
            self.synced_from, self.appended = seen, []
            return True
        found = tail_diff(seen, pending, 8 + len(seen) // 4)
        if found is None or (not found[1] and len(pending) > 2 * _LOAD):
            return self._rebuild(pending)
        entries = self._entries
        removed, added = found
        for k in reversed(removed):
            self._remove(entries.pop(k))
        kept = len(entries)
        for job in islice(pending, added, None):
            if job.job_id in self._ids:
                self._reset()
                return False
            entries.append(self._insert(job))
        self.synced_from = seen
        self.appended = None if removed else entries[kept:]
        self._seen = tuple(pending)
        return True

    @property
    def seen(self) -> tuple[JobRequest, ...]:
        """The pending jobs of the last sync."""
        return self._seen

    def last(self) -> Entry | None:
        """The last entry in queue order (None when the queue is empty)."""
        return self._maxes[-1] if self._maxes else None

    def _rebuild(self, pending: Sequence[JobRequest]) -> bool:
        """The index of ``pending`` from scratch: one sort, then blocks of `_LOAD` entries
        (a driver that builds new job objects for every pass comes this way each time)."""
        self._reset()
        if len({job.job_id for job in pending}) < len(pending):
            return False
        entries = self._entries
        for job in pending:
            entries.append(self._entry(job))
            self._count(job, 1)
        order = sorted(entries)
        for at in range(0, len(order), _LOAD):
            block = order[at : at + _LOAD]
            self._blocks.append(block)
            self._cpus.append([entry[5].cpus for entry in block])
            self._maxes.append(block[-1])
        self._ids = {job.job_id for job in pending}
        self._seen = tuple(pending)
        return True

    def _count(self, job: JobRequest, sign: int) -> None:
        """Keep `partitions` and `tracking` up to date for a job coming in (1) or leaving."""
        left = self.partitions.get(job.partition, 0) + sign
        if left:
            self.partitions[job.partition] = left
        else:
            del self.partitions[job.partition]
        if job.dependencies or job.array_throttle is not None:
            self.tracking += sign
        if job.begin_time is not None:
            self.timed += sign

    def walk(
        self, reserved: Collection[str] | None, most_free: Callable[[], _Need]
    ) -> Iterator[Entry]:
        """The entries in queue order. With ``reserved`` (the partitions whose head is blocked,
        filled in as the pass goes), once it holds every pending job's partition the entries
        asking more per-node CPUs than ``most_free()`` are left out in C (``compress``). What is
        free now cannot grow from then on (a pass preempts only before any head is blocked),
        so a value read at the start of a block stays at or above what each of its entries is
        checked against: nothing is left out that the pass would take."""
        if reserved is None:
            for block in self._blocks:
                yield from block
            return
        partitions = self.partitions
        applies = False
        for block, cpus in zip(self._blocks, self._cpus, strict=True):
            start = 0
            if not applies:
                size = len(block)
                while start < size:  # one by one until every partition has its blocked head
                    yield block[start]
                    start += 1
                    if len(reserved) >= len(partitions) and all(
                        partition in reserved for partition in partitions
                    ):
                        applies = True
                        break
            if applies:
                fits = map(ge, repeat(most_free()[0]), islice(cpus, start, None))
                yield from compress(islice(block, start, None), fits)

    def _entry(self, job: JobRequest) -> Entry:
        priority = unweighted_priority(job)
        need = self._demand(job)
        if self.kind == SHORTEST:
            return (job.time_limit_s, job.submit_time, job.job_id, job, priority, need)
        return (-priority, job.submit_time, job.job_id, job, priority, need)

    def _insert(self, job: JobRequest) -> Entry:
        entry = self._entry(job)
        self._ids.add(job.job_id)
        self._count(job, 1)
        blocks, maxes, cpus = self._blocks, self._maxes, self._cpus
        if not blocks:
            blocks.append([entry])
            maxes.append(entry)
            cpus.append([entry[5].cpus])
            return entry
        b = bisect_left(maxes, entry)
        if b == len(maxes):
            b -= 1
        block = blocks[b]
        at = bisect_left(block, entry)
        block.insert(at, entry)
        cpus[b].insert(at, entry[5].cpus)
        maxes[b] = block[-1]
        if len(block) > 2 * _LOAD:
            blocks.insert(b + 1, block[_LOAD:])
            cpus.insert(b + 1, cpus[b][_LOAD:])
            del block[_LOAD:], cpus[b][_LOAD:]
            maxes[b] = block[-1]
            maxes.insert(b + 1, blocks[b + 1][-1])
        return entry

    def _remove(self, entry: Entry) -> None:
        job = entry[3]
        self._ids.discard(job.job_id)
        self._count(job, -1)
        blocks, maxes, cpus = self._blocks, self._maxes, self._cpus
        b = bisect_left(maxes, entry)
        block = blocks[b]
        at = bisect_left(block, entry)
        del block[at], cpus[b][at]
        if not block:
            del blocks[b], maxes[b], cpus[b]
        else:
            maxes[b] = block[-1]
