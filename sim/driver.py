"""The simulator's driver: replays a workload through `scheduler.schedule` on a virtual clock.

It follows the daemon's triggering rule, `scheduler.next_pass_at`: a pass after submits and job
ends (debounced) and, unless the cadence has none, a periodic pass. At one instant, job ends
come first and the pass they call for runs before that instant's submits are queued; the
submits then call for a pass of their own (the event order of VALIDATION.md §A). A started job
ends after its actual run time, or is killed at its time limit when ``kill_at_limit``.

The only difference from the daemon is who moves the clock, as in SimPy's ``Environment``
versus ``RealtimeEnvironment``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scheduler import (
    Cadence,
    Cluster,
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
    ) -> None:
        self.cluster = cluster
        self.policy = policy
        self.cadence = cadence
        self.kill_at_limit = kill_at_limit
        self.keep_plans = keep_plans
        self.on_pass = on_pass
        self.engine = Engine(min((job.submit for job in jobs), default=0))
        self._trace = {job.job_id: job for job in jobs}
        self._requests = {job.job_id: to_request(job) for job in jobs}
        self._pending: dict[int, JobRequest] = {}
        self._running: dict[int, RunningJob] = {}
        self._records: list[JobRecord] = []
        self._plans: list[tuple[int, Plan]] = []
        self._due: tuple[int, int] | None = None  # the pass already in the heap
        self._last_pass = self.engine.now
        self._passes = 0
        self._cache = PassCache()  # cluster-derived facts kept between passes (same Plans)
        for job in jobs:
            self.engine.at(job.submit, Order.SUBMIT, self._submit, job.job_id)

    def run(self) -> SimResult:
        self.engine.run()
        return SimResult(
            records=tuple(sorted(self._records, key=lambda r: r.job_id)),
            passes=self._passes,
            unfinished=tuple(sorted(self._pending)),
            plans=tuple(self._plans),
        )

    def _submit(self, now: int, job_id: object) -> None:
        assert isinstance(job_id, int)
        self._pending[job_id] = self._requests[job_id]
        self._call_pass(now, after_ends=False)

    def _end(self, now: int, job_id: object) -> None:
        assert isinstance(job_id, int)
        running = self._running.pop(job_id)
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
        self._call_pass(now, after_ends=True)

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
        snapshot = Snapshot(
            cluster=self.cluster,
            running=tuple(self._running.values()),
            pending=tuple(self._pending.values()),
        )
        plan = schedule(snapshot, now, self.policy, cache=self._cache, explain=self.keep_plans)
        if self.keep_plans:
            self._plans.append((now, plan))
        for start in plan.starts:
            request = self._pending.pop(start.job_id)
            self._running[start.job_id] = RunningJob(
                request=request, allocation=start.allocation, start_time=now
            )
            run_time = self._trace[start.job_id].run_time
            if self.kill_at_limit:
                run_time = min(run_time, request.time_limit_s)
            self.engine.at(now + run_time, Order.END, self._end, start.job_id)
        if self.on_pass is not None:
            self.on_pass(now, len(self._pending))
        periodic = next_pass_at(now, None, self.cadence)
        if periodic is not None and (self._pending or self._running):
            self._request(periodic, Order.PASS)
