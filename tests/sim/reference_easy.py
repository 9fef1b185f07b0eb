"""An independent, literal replay of VALIDATION.md §A (FCFS and textbook EASY on one pool of
processors), written for the tests as an oracle: it shares no code with `scheduler/` or
`sim/driver.py`. ``merge_ties`` switches the one rule where Berth differs on purpose: the
extra processors at the shadow time count every job expected to end at that instant, not only
those up to the first that lets the head fit."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from sim.workloads import TraceJob


class _Replay:
    def __init__(self, processors: int, *, easy: bool, merge_ties: bool) -> None:
        self.free = processors
        self.easy, self.merge_ties = easy, merge_ties
        self.queue: list[TraceJob] = []
        self.running: dict[int, tuple[int, int, int]] = {}  # id -> (start, estimate, procs)
        self.starts: dict[int, int] = {}
        self.events: list[tuple[int, int, int, TraceJob]] = []  # (time, 0 end/1 submit, seq, job)
        self.seq = 0

    def push(self, time: int, kind: int, job: TraceJob) -> None:
        heapq.heappush(self.events, (time, kind, self.seq, job))
        self.seq += 1

    def launch(self, job: TraceJob, now: int) -> None:
        self.free -= job.procs
        self.starts[job.job_id] = now
        self.running[job.job_id] = (now, max(1, job.estimate), job.procs)
        self.push(now + job.run_time, 0, job)

    def shadow(self, head: TraceJob, now: int) -> tuple[int, int]:
        ends = sorted((max(now, s + e), p) for s, e, p in self.running.values())
        available = self.free
        for k, (end, procs) in enumerate(ends):
            available += procs
            if available >= head.procs:
                if self.merge_ties:
                    available += sum(p for e, p in ends[k + 1 :] if e == end)
                return end, available - head.procs
        raise AssertionError("the head never fits")

    def one_pass(self, now: int) -> None:
        queue = self.queue
        while queue and queue[0].procs <= self.free:
            self.launch(queue.pop(0), now)
        if not queue or not self.easy:
            return
        shadow, extra = self.shadow(queue[0], now)
        i = 1
        while i < len(queue):
            job = queue[i]
            fits = job.procs <= self.free
            if fits and now + max(1, job.estimate) <= shadow:
                self.launch(queue.pop(i), now)
            elif fits and job.procs <= extra:
                extra -= job.procs
                self.launch(queue.pop(i), now)
            else:
                i += 1

    def run(self) -> dict[int, int]:
        events = self.events
        while events:
            now = events[0][0]
            for kind in (0, 1):  # ends, then a pass; submits, then a pass
                touched = False
                while events and events[0][0] == now and events[0][1] == kind:
                    job = heapq.heappop(events)[3]
                    if kind == 0:
                        self.free += job.procs
                        del self.running[job.job_id]
                    else:
                        self.queue.append(job)
                    touched = True
                if touched:
                    self.one_pass(now)
        return self.starts


def replay(
    jobs: Sequence[TraceJob], processors: int, *, easy: bool, merge_ties: bool
) -> dict[int, int]:
    """Start time of every job."""
    run = _Replay(processors, easy=easy, merge_ties=merge_ties)
    for job in sorted(jobs, key=lambda job: (job.submit, job.job_id)):
        run.push(job.submit, 1, job)
    return run.run()
