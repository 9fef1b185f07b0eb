"""Slices and load scaling of a job sequence; each function returns a tuple, never mutating.

Jobs are taken in the order given (the readers return submit order, or job-id order for the
RLScheduler preset); nothing here sorts. Rebasing shifts every submit time by the same amount so
that the earliest submit of the result becomes ``origin`` (0 by default); run times, estimates and
everything else are unchanged.

- `first`: the first ``n`` jobs (all of them when there are fewer).
- `window`: jobs ``[start, start + size)`` by 0-based index, as RLScheduler's evaluation windows
  (``window(jobs, 1981, 1024)``); a window reaching past the end is an error, not a short window.
- `time_window`: jobs with ``begin <= submit < end``.
- `scale_load`: multiply every inter-arrival gap by ``1 / factor``: factor 2 submits the same
  jobs twice as densely (about twice the offered load), 0.5 half as densely. Computed on the
  offsets from the earliest submit, ``s0 + floor((s - s0) / factor + 0.5)``, so rounding never
  accumulates along the trace, order is preserved, and ``factor`` 1 changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from sim.workloads.swf import TraceJob

Jobs = Sequence[TraceJob]


def rebase(jobs: Jobs, origin: int = 0) -> tuple[TraceJob, ...]:
    """Shift all submit times so that the earliest becomes ``origin``."""
    if not jobs:
        return ()
    shift = origin - min(job.submit for job in jobs)
    if shift == 0:
        return tuple(jobs)
    return tuple(replace(job, submit=job.submit + shift) for job in jobs)


def first(jobs: Jobs, n: int, *, rebased: bool = False) -> tuple[TraceJob, ...]:
    """The first ``n`` jobs (all when fewer), rebased to 0 when ``rebased``.

    :raises ValueError: when ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}")
    return _done(jobs[:n], rebased)


def window(jobs: Jobs, start: int, size: int, *, rebased: bool = False) -> tuple[TraceJob, ...]:
    """Jobs ``[start, start + size)`` by 0-based index, rebased to 0 when ``rebased``.

    :raises ValueError: when ``start`` or ``size`` is negative or the window passes the end.
    """
    if start < 0 or size < 0:
        raise ValueError(f"start and size must be >= 0, not {start} and {size}")
    if start + size > len(jobs):
        raise ValueError(f"window [{start}, {start + size}) passes the end ({len(jobs)} jobs)")
    return _done(jobs[start : start + size], rebased)


def time_window(jobs: Jobs, begin: int, end: int, *, rebased: bool = False) -> tuple[TraceJob, ...]:
    """Jobs submitted in ``[begin, end)``, rebased to 0 when ``rebased``."""
    return _done([job for job in jobs if begin <= job.submit < end], rebased)


def scale_load(jobs: Jobs, factor: float) -> tuple[TraceJob, ...]:
    """Jobs with every inter-arrival gap multiplied by ``1 / factor`` (see the module docstring).

    :raises ValueError: when ``factor`` is not a finite number > 0.
    """
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError(f"factor must be a finite number > 0, not {factor}")
    if not jobs:
        return ()
    origin = min(job.submit for job in jobs)
    return tuple(
        replace(job, submit=origin + math.floor((job.submit - origin) / factor + 0.5))
        for job in jobs
    )


def _done(jobs: Jobs, rebased: bool) -> tuple[TraceJob, ...]:
    return rebase(jobs) if rebased else tuple(jobs)
