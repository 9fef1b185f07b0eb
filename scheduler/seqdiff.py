"""`tail_diff`: how a sequence of jobs changed since the last pass, found in C-speed steps.

The caches of `scheduler.passcache` keep what they derived from the running and the pending
jobs of the last pass, and need the difference with this pass's. Drivers keep these jobs in
insertion order (a dict's values), so the new sequence is usually the old one with a few jobs
taken out anywhere and a few appended: a walk that matches runs of identical objects (`is`,
compared with ``map`` and ``compress``, which run in C) finds that difference in a few steps,
where a set or dict of every job each pass costs microseconds per pass of Python-level hashing.

Whatever the sequences, the answer is right: every old element the walk does not match with a
new one at the same step is reported removed, and every new element after the last match is
reported added, so old - removed + added is the new sequence as a multiset. Only its cost
depends on the drivers' order; past ``max_removed`` removals it gives up (None) and the caller
starts afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress, count, islice
from operator import is_, is_not


def tail_diff(
    old: Sequence[object], new: Sequence[object], max_removed: int
) -> tuple[list[int], int] | None:
    """The positions in ``old`` of the elements no longer in ``new`` (ascending), and where the
    elements appended to ``new`` begin; None past ``max_removed`` removals. Elements match by
    identity only (``==`` on two equal frozen jobs would compare every field)."""
    size, new_size = len(old), len(new)
    first = next(compress(count(), map(is_not, old, new)), None)
    if first is None:  # one is a beginning of the other
        if new_size >= size:
            return [], size
        return (list(range(new_size, size)), new_size) if size - new_size <= max_removed else None
    # The common case next: one element taken out (and maybe some appended).
    kept = size - first - 1
    if new_size >= first + kept and all(map(is_, old[first + 1 :], new[first : first + kept])):
        return [first], first + kept
    removed = [first]
    i, j = first + 1, first
    while i < size:
        mismatch = _mismatch(old, new, i, j)
        if mismatch is None:  # one ran out: the rest of old is gone, the rest of new is added
            matched = min(size - i, new_size - j)
            i, j = i + matched, j + matched
            removed.extend(range(i, size))
            break
        removed.append(i + mismatch)
        if len(removed) > max_removed:
            return None
        i += mismatch + 1
        j += mismatch
    if len(removed) > max_removed:
        return None
    return removed, j


def _mismatch(
    old: Sequence[object], new: Sequence[object], i: int, j: int, length: int | None = None
) -> int | None:
    """The first ``k`` (below ``length``) where ``old[i + k] is not new[j + k]``, or None."""
    stop_old = None if length is None else i + length
    stop_new = None if length is None else j + length
    pairs = map(is_not, islice(old, i, stop_old), islice(new, j, stop_new))
    return next(compress(count(), pairs), None)
