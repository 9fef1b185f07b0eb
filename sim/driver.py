"""The simulator's driver: replays a workload through `scheduler.schedule` on a virtual clock.

It follows the daemon's triggering rule, `scheduler.next_pass_at`: a pass after submits and job
ends (debounced) and, unless the cadence has none, a periodic pass. At one instant, job ends
come first and the pass they call for runs before that instant's submits are queued; the
submits then call for a pass of their own (the event order of VALIDATION.md §A). A started job
ends after its actual run time, or is killed at its time limit when ``kill_at_limit``.
`EventOrder.SINGLY` replays RLScheduler's loop instead (§B): one event at a time with a pass
after each, an instant's submits before its ends. Under ``Policy.keep_head`` each pass gets the
previous one's `Plan.heads`, as the daemon's passes do.

The only difference from the daemon is who moves the clock, as in SimPy's ``Environment``
versus ``RealtimeEnvironment``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from heapq import heappop, heappush
from itertools import count

from scheduler import (
    Cadence,
    Cluster,
    Head,
    JobRequest,
    PassCache,
    Plan,
    Policy,
    RunningJob,
    Snapshot,
    next_pass_at,
    schedule,
)
from sim.engine import Engine, Order
from sim.metrics import JobRecord
from sim.workloads import TraceJob

# Trace replays are event driven: a pass at once after each batch of events, no periodic pass.
REPLAY = Cadence(debounce_s=0, interval_s=None)


class EventOrder(StrEnum):
    """How a replay (the `REPLAY` cadence) takes the events of one instant."""

    BATCHED = "batched"  # every end, a pass, then every submit, a pass (VALIDATION.md §A)
    SINGLY = "singly"  # one event, then a pass; submits before ends (RLScheduler, §B)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimResult:
    records: tuple[JobRecord, ...]
    passes: int
    unfinished: tuple[int, ...] = ()  # jobs still pending when the events ran out
    plans: tuple[tuple[int, Plan], ...] = ()  # kept only when asked for


class Simulation:
    """One run: a cluster, trace jobs mapped to requests, a policy and a cadence."""

    def __init__(
        self,
        cluster: Cluster,
        jobs: Sequence[TraceJob],
        policy: Policy,
        to_request: Callable[[TraceJob], JobRequest],
        *,
        cadence: Cadence = REPLAY,
        kill_at_limit: bool = True,
        keep_plans: bool = False,
        on_pass: Callable[[int, int], None] | None = None,
        events: EventOrder = EventOrder.BATCHED,
    ) -> None:
        """:raises ValueError: for `EventOrder.SINGLY` with a cadence other than `REPLAY`'s."""
        if events is EventOrder.SINGLY and not _replays(cadence):
            raise ValueError("one event at a time needs the event-driven cadence (REPLAY)")
        self.events = events
        self.cluster = cluster
        self.policy = policy
        self.cadence = cadence
        self.kill_at_limit = kill_at_limit
        self.keep_plans = keep_plans
        self.on_pass = on_pass
        self.engine = Engine(min((job.submit for job in jobs), default=0))
        self._jobs = jobs
        self._trace = {job.job_id: job for job in jobs}
        self._requests = {job.job_id: to_request(job) for job in jobs}
        self._pending: dict[int, JobRequest] = {}
        self._running: dict[int, RunningJob] = {}
        # The snapshot's tuples of the last pass, kept while nothing changed (None: rebuild).
        self._pending_view: tuple[JobRequest, ...] | None = None
        self._running_view: tuple[RunningJob, ...] | None = None
        self._records: list[JobRecord] = []
        self._plans: list[tuple[int, Plan]] = []
        self._due: tuple[int, int] | None = None  # the pass already in the heap
        self._last_pass = self.engine.now
        self._passes = 0
        self._ends: list[tuple[int, int, int]] = []  # replay: (time, seq, job id), a heap
        self._seq = count()
        # Kept between passes: cluster facts, the running jobs' release schedule and the queue
        # in order (same Plans as without it, `scheduler.PassCache`).
        self._cache = PassCache()
        self._heads: tuple[Head, ...] = ()  # the last Plan's kept heads (Policy.keep_head)

    def run(self) -> SimResult:
        if _replays(self.cadence):
            self._replay()
        else:
            for job in self._jobs:
                self.engine.at(job.submit, Order.SUBMIT, self._submit, job.job_id)
            self.engine.run()
        return SimResult(
            records=tuple(sorted(self._records, key=lambda r: r.job_id)),
            passes=self._passes,
            unfinished=tuple(sorted(self._pending)),
            plans=tuple(self._plans),
        )

    def _replay(self) -> None:
        """The event loop of an event-driven cadence (a pass at once after each instant's
        events, none periodic), without the general heap: submits come in order from the trace
        and only job ends go through a heap. The order is the engine's (`Order`): at one
        instant, the ends and then a pass, again while that pass started jobs that end at once,
        then the submits and a pass, then the ends of the jobs that pass started with no run
        time, and so on; the passes are those `next_pass_at` gives for a debounce of 0 (or,
        `EventOrder.SINGLY`, one event per pass). The pass itself is `_pass` inlined: this loop
        runs some 365,000 times on HPC2N."""
        jobs = sorted(self._jobs, key=lambda job: job.submit)  # stable: trace order at ties
        ends, pending, running = self._ends, self._pending, self._running
        trace = self._trace
        cluster, policy, cache, cadence = self.cluster, self.policy, self._cache, self.cadence
        keep_plans, on_pass, kill = self.keep_plans, self.on_pass, self.kill_at_limit
        seq = self._seq
        events = self._single_events if self.events is EventOrder.SINGLY else self._batches
        pending_view: tuple[JobRequest, ...] = ()
        running_view: tuple[RunningJob, ...] = ()
        for now, submitted in events(jobs):
            if submitted:
                pending_view = tuple(pending.values())
            else:
                running_view = tuple(running.values())
            assert next_pass_at(self._last_pass, now, cadence) == now, "passes come at once"
            self.engine.now = self._last_pass = now
            self._passes += 1
            snapshot = Snapshot(
                cluster=cluster, running=running_view, pending=pending_view, heads=self._heads
            )
            plan = schedule(snapshot, now, policy, cache=cache, explain=keep_plans)
            self._heads = plan.heads
            if keep_plans:
                self._plans.append((now, plan))
            if plan.starts:
                for start in plan.starts:
                    job_id = start.job_id
                    request = pending.pop(job_id)
                    running[job_id] = RunningJob(
                        request=request, allocation=start.allocation, start_time=now
                    )
                    run_time = trace[job_id].run_time
                    if kill and run_time > request.time_limit_s:
                        run_time = request.time_limit_s
                    heappush(ends, (now + run_time, next(seq), job_id))
                pending_view = tuple(pending.values())
                running_view = tuple(running.values())
            if on_pass is not None:
                on_pass(now, len(pending))

    def _batches(self, jobs: Sequence[TraceJob]) -> Iterator[tuple[int, bool]]:
        """Applies the next instant's ends, or else its submits, and yields (that instant,
        whether they were submits), until no event is left (§A's order)."""
        ends, pending, requests, finish = self._ends, self._pending, self._requests, self._finish
        count_jobs, i = len(jobs), 0
        while True:
            next_submit = jobs[i].submit if i < count_jobs else None
            if ends and (next_submit is None or ends[0][0] <= next_submit):
                now = ends[0][0]
                while ends and ends[0][0] == now:
                    finish(now, heappop(ends)[2])
                yield now, False
            elif next_submit is not None:
                now = next_submit
                while i < count_jobs and jobs[i].submit == now:
                    job_id = jobs[i].job_id
                    pending[job_id] = requests[job_id]
                    i += 1
                yield now, True
            else:
                return

    def _single_events(self, jobs: Sequence[TraceJob]) -> Iterator[tuple[int, bool]]:
        """Applies one event, a submit at or before the next end or else that end, and yields
        (its time, whether it was a submit), until none is left (RLScheduler's loop, §B)."""
        ends, pending, requests, finish = self._ends, self._pending, self._requests, self._finish
        for job in jobs:
            while ends and ends[0][0] < job.submit:
                now = ends[0][0]
                finish(now, heappop(ends)[2])
                yield now, False
            pending[job.job_id] = requests[job.job_id]
            yield job.submit, True
        while ends:
            now = ends[0][0]
            finish(now, heappop(ends)[2])
            yield now, False

    def _submit(self, now: int, job_id: object) -> None:
        assert isinstance(job_id, int)
        self._pending[job_id] = self._requests[job_id]
        self._pending_view = None
        self._call_pass(now, after_ends=False)

    def _end(self, now: int, job_id: object) -> None:
        assert isinstance(job_id, int)
        self._finish(now, job_id)
        self._call_pass(now, after_ends=True)

    def _finish(self, now: int, job_id: int) -> None:
        running = self._running.pop(job_id)
        self._running_view = None
        job = self._trace[job_id]
        self._records.append(
            JobRecord(
                job_id=job_id,
                user=job.user,
                submit=job.submit,
                start=running.start_time,
                end=now,
                procs=job.procs,
                gpus=job.gpus,
            )
        )

    def _call_pass(self, now: int, *, after_ends: bool) -> None:
        when = next_pass_at(self._last_pass, now, self.cadence)
        if when is None:
            return
        order = Order.PASS_AFTER_ENDS if after_ends and when == now else Order.PASS
        self._request(when, order)

    def _request(self, when: int, order: Order) -> None:
        if self._due is not None and (when, order) >= self._due:
            return  # an earlier (or the same) pass is already due
        self._due = (when, order)
        self.engine.at(when, order, self._pass, (when, order))

    def _pass(self, now: int, token: object) -> None:
        if token != self._due:
            return  # superseded by an earlier pass
        self._due = None
        self._last_pass = now
        self._passes += 1
        if self._pending_view is None:
            self._pending_view = tuple(self._pending.values())
        if self._running_view is None:
            self._running_view = tuple(self._running.values())
        snapshot = Snapshot(
            cluster=self.cluster,
            running=self._running_view,
            pending=self._pending_view,
            heads=self._heads,
        )
        plan = schedule(snapshot, now, self.policy, cache=self._cache, explain=self.keep_plans)
        self._heads = plan.heads
        if self.keep_plans:
            self._plans.append((now, plan))
        if plan.starts:
            self._start(now, plan)
        if self.on_pass is not None:
            self.on_pass(now, len(self._pending))
        if self.cadence.interval_s is not None:  # else next_pass_at(now, None, ...) is None
            periodic = next_pass_at(now, None, self.cadence)
            if periodic is not None and (self._pending or self._running):
                self._request(periodic, Order.PASS)

    def _start(self, now: int, plan: Plan) -> None:
        self._pending_view = self._running_view = None
        for start in plan.starts:
            request = self._pending.pop(start.job_id)
            self._running[start.job_id] = RunningJob(
                request=request, allocation=start.allocation, start_time=now
            )
            run_time = self._trace[start.job_id].run_time
            if self.kill_at_limit:
                run_time = min(run_time, request.time_limit_s)
            self.engine.at(now + run_time, Order.END, self._end, start.job_id)


def _replays(cadence: Cadence) -> bool:
    """An event-driven cadence: a pass at once after events, none periodic."""
    return cadence.debounce_s == 0 and cadence.interval_s is None
