"""GPU fragmentation over the time of a finished run, rebuilt from its plans and records.

The driver tells ``on_pass`` only ``(now, pending count)``, not where jobs run, and
`sim/driver.py` stays as it is; so the series is computed after the run. Run the `Simulation`
with ``keep_plans=True``: each job's allocation and start time come from the `Plan` that
started it, its end from its `JobRecord`, its request from ``to_request``.

Samples are taken on a regular grid, ``t_k = first submit + k * interval_s`` for every ``t_k``
up to the last end (or the last submit, if later), so the plain mean of the samples is a time
average. At a sample instant ``t`` the state is the one after every event at ``t``: running =
started at or before ``t`` and ending after ``t``; pending = submitted at or before ``t`` and not
started by then (a job never started stays pending to the end). Each sample is
`scheduler.fragmentation` of that state -- the core's definition: free GPUs, and those of them
that no pending job shape can use where they are -- at ``t``.

``mean_stranded_ratio`` is the mean over the samples of stranded / free (0 for a sample with no
free GPU, as `scheduler.Fragmentation.ratio`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scheduler import Allocation, Cluster, JobRequest, RunningJob, fragmentation
from sim.driver import SimResult
from sim.workloads import TraceJob

Sample = tuple[int, int, int]  # (time, free GPUs, stranded GPUs)


@dataclass(frozen=True, slots=True, kw_only=True)
class FragmentationSeries:
    interval_s: int
    samples: tuple[Sample, ...]

    @property
    def mean_stranded_ratio(self) -> float:
        """Mean over the samples of stranded / free GPUs (0.0 with no samples)."""
        if not self.samples:
            return 0.0
        ratios = (stranded / free if free else 0.0 for _, free, stranded in self.samples)
        return math.fsum(ratios) / len(self.samples)


def starts_of(result: SimResult) -> dict[int, tuple[int, Allocation]]:
    """Each started job's start time and allocation, from the kept plans.

    :raises ValueError: when a finished job has no start in the plans (run with keep_plans=True).
    """
    starts = {
        start.job_id: (now, start.allocation) for now, plan in result.plans for start in plan.starts
    }
    for record in result.records:
        found = starts.get(record.job_id)
        if found is None:
            raise ValueError(
                f"job {record.job_id} finished but no kept plan started it; "
                "run the Simulation with keep_plans=True"
            )
        if found[0] != record.start:
            raise ValueError(
                f"job {record.job_id} started at {found[0]} in the plans, {record.start} in "
                "the records: the plans are not from this run"
            )
    return starts


def fragmentation_series(
    cluster: Cluster,
    jobs: Sequence[TraceJob],
    to_request: Callable[[TraceJob], JobRequest],
    result: SimResult,
    *,
    interval_s: int = 3600,
) -> FragmentationSeries:
    """Fragmentation every ``interval_s`` of virtual time over the run (module docstring).

    ``jobs`` and ``to_request`` are those the `Simulation` was given.

    :raises ValueError: when ``interval_s`` < 1, or the plans are missing or not from this run.
    """
    if interval_s < 1:
        raise ValueError(f"interval_s must be at least 1, got {interval_s}")
    if not jobs:
        return FragmentationSeries(interval_s=interval_s, samples=())
    starts = starts_of(result)
    ends = {record.job_id: record.end for record in result.records}
    requests = {job.job_id: to_request(job) for job in jobs}
    submits = sorted((job.submit, job.job_id) for job in jobs)
    started = sorted((now, job_id) for job_id, (now, _) in starts.items())
    ended = sorted((end, job_id) for job_id, end in ends.items())
    first = submits[0][0]
    last = max(submits[-1][0], ended[-1][0] if ended else first)
    pending: dict[int, JobRequest] = {}
    running: dict[int, RunningJob] = {}
    cursors = [0, 0, 0]
    samples: list[Sample] = []
    for now in range(first, last + 1, interval_s):
        for job_id in _due(submits, cursors, 0, now):
            pending[job_id] = requests[job_id]
        for job_id in _due(started, cursors, 1, now):
            start, allocation = starts[job_id]
            running[job_id] = RunningJob(
                request=pending.pop(job_id), allocation=allocation, start_time=start
            )
        for job_id in _due(ended, cursors, 2, now):
            del running[job_id]
        found = fragmentation(cluster, tuple(running.values()), tuple(pending.values()), now)
        samples.append((now, found.free_gpus, found.stranded_gpus))
    return FragmentationSeries(interval_s=interval_s, samples=tuple(samples))


def _due(events: list[tuple[int, int]], cursors: list[int], which: int, now: int) -> list[int]:
    """The job ids of ``events`` (sorted by time) at or before ``now`` not yet taken."""
    k = cursors[which]
    taken = []
    while k < len(events) and events[k][0] <= now:
        taken.append(events[k][1])
        k += 1
    cursors[which] = k
    return taken
