"""RLScheduler's heuristic loop as pass orders (``Policy.keep_head``, ``Policy.backfill_order``).

The authors' loop (VALIDATION.md §B) picks the first job of the sorted queue and keeps it until
it fits, while later arrivals queue behind it whatever their order says; under greedy backfill
it computes that job's shadow time once and tries the other jobs in FCFS order. A pass has no
memory, so the kept heads come in through `Snapshot.heads` (the previous Plan's `heads`) and are
taken first; and once a job is blocked on resources, the jobs behind it can be taken in another
order than the queue's. Slurm does neither: it re-sorts the whole queue every pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from scheduler.backfill import ResourceStage
from scheduler.plan import Head
from scheduler.policy import QueueOrder
from scheduler.queueindex import Entry


def kept_first(entries: Iterable[Entry], heads: tuple[Head, ...]) -> Iterator[Entry]:
    """The kept heads still pending, in queue order among themselves, then every other job in
    queue order. A head that is no longer pending is simply gone."""
    if not heads:
        yield from entries
        return
    kept = {head.job_id for head in heads}
    rest = []
    for entry in entries:
        if entry[2] in kept:
            yield entry
        else:
            rest.append(entry)
    yield from rest


def behind_the_head(
    entries: Iterable[Entry], stage: ResourceStage, order: QueueOrder | None
) -> Iterator[Entry]:
    """``entries`` in their order until the pass has blocked a job on resources, then the rest
    in ``order`` (None: unchanged). The stage is read before each job is handed out, so the
    switch comes right after the job that blocked."""
    if order is None:
        yield from entries
        return
    remaining = iter(entries)
    for entry in remaining:
        yield entry
        if stage.anything_blocked:
            yield from sorted(remaining, key=_ORDER_KEYS[order])
            return


def _by_priority(entry: Entry) -> tuple[int, int, int]:
    return (-entry[4], entry[3].submit_time, entry[2])


def _by_length(entry: Entry) -> tuple[int, int, int]:
    return (entry[3].time_limit_s, entry[3].submit_time, entry[2])


_ORDER_KEYS: dict[QueueOrder, Callable[[Entry], tuple[int, int, int]]] = {
    QueueOrder.PRIORITY: _by_priority,
    QueueOrder.SHORTEST_FIRST: _by_length,
}
