"""The controller: submissions in, scheduling passes, starts out to the executor, ends back.

A pass is: snapshot of the mirror -> `scheduler.schedule()` (on a worker thread, so the API
keeps answering) -> one transaction that records every start as RUNNING -> launches. A job is
in the store as RUNNING before its launch begins, and launches are idempotent, so a crash at any
point between the two is repaired on restart by `Controller.recover` (the executor says which
runs are alive, which ended unseen and which never started) and no job runs twice.

Passes follow `scheduler.next_pass_at`: a debounced pass after submissions and job ends, and a
periodic one, the same rule the simulator replays.

User operations (cancel, hold, update, ...) live in `daemon.operations`; they change records
through `Controller.change`, which writes through to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from daemon.clock import Clock
from daemon.ending import outcome
from daemon.executors.base import EndCause, Executor, Reconciled, RunEnd, RunKey
from daemon.launching import launch_spec
from daemon.mirror import Mirror
from daemon.records import JobRecord
from daemon.site import Site
from daemon.store import repository as repo
from daemon.store.database import Database
from daemon.store.repository import Event
from daemon.submission import Draft
from scheduler import (
    Cadence,
    FinishedJob,
    JobState,
    PassCache,
    Plan,
    billing_rate,
    next_pass_at,
    schedule,
)

log = logging.getLogger("berth.controller")


@dataclass(slots=True)
class PassStats:
    passes: int = 0
    last_duration_s: float = 0.0
    total_duration_s: float = 0.0
    starts: int = 0
    backfill_starts: int = 0


class Controller:
    def __init__(
        self, site: Site, db: Database, executors: Executor | Mapping[str, Executor], clock: Clock
    ) -> None:
        """``executors``: one per node name (this host's executor, and a `RemoteExecutor` per
        node served by ``berth node``), or one executor for every node."""
        self.site = site
        self.settings = site.settings
        self.db = db
        if isinstance(executors, Mapping):
            self.executors: dict[str, Executor] = dict(executors)
            self._default_executor: Executor | None = None
        else:
            self.executors = {}
            self._default_executor = executors
        self.clock = clock
        self.mirror = Mirror(site.cluster, tuple(sorted(site.limits.accounts)))
        self.cadence = Cadence(
            debounce_s=self.settings.pass_debounce_s, interval_s=self.settings.pass_interval_s
        )
        self.stats = PassStats()
        self.next_id = 1
        self._cache = PassCache()
        self._last_pass = 0
        self._first_event_since: int | None = None
        self._wake = asyncio.Event()
        self.launching: set[int] = set()
        self._users: set[str] = set()
        self.local_nodes: set[str] = set()  # nodes whose executor runs on this host
        self.gpu_checks: dict[str, Any] = {}  # node -> daemon.gpus.GpuCheck, for /metrics
        self._inserts: list[tuple[tuple[list[JobRecord], str, str], asyncio.Future[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.last_plan = Plan()

    # -- executors --------------------------------------------------------------------------

    def all_executors(self) -> list[Executor]:
        found = list(self.executors.values())
        if self._default_executor is not None:
            found.append(self._default_executor)
        return found

    def executor_for(self, record: JobRecord) -> Executor:
        """The executor of the node that runs the job's batch script (its first node)."""
        node = record.allocation.nodes[0].node if record.allocation else ""
        executor = self.executors.get(node, self._default_executor)
        if executor is None:
            raise LookupError(f"no executor serves node {node!r} (is its `berth node` running?)")
        return executor

    async def kill(self, record: JobRecord) -> None:
        await self.executor_for(record).kill(_key(record))

    # -- start-up ---------------------------------------------------------------------------

    def load(self) -> None:
        """Rebuild the mirror from the store (blocking: before the API serves)."""
        now = self.clock.now()
        records = self.db.read_now(lambda c: repo.load_active(c, now - self.settings.min_job_age_s))
        for record in records:
            self.mirror.put(record)
        self.next_id = self.db.read_now(repo.max_job_id) + 1
        for name, (state, reason) in self.db.read_now(repo.node_states).items():
            if state:
                self.mirror.set_node_admin(name, state, reason)
        usage = self.db.read_now(repo.load_usage)
        if usage:
            self.mirror.usage_time = min(row[3] for row in usage)
            for user, account, value, updated in usage:
                self.mirror.usage[(user, account)] = value
                del updated
        else:
            self.mirror.usage_time = now
        self._load_dependency_targets()
        self._last_pass = now
        self._users = {row["name"] for row in self.db.read_now(repo.users)}
        accounts = sorted(self.site.limits.accounts)
        self.db.write_now(lambda c: repo.save_inventory(c, self.site.cluster, accounts))

    def _load_dependency_targets(self) -> None:
        wanted = {
            d.job_id
            for r in self.mirror.pending.values()
            for d in r.request.dependencies
            if d.job_id is not None and d.job_id not in self.mirror.jobs
        }
        if wanted:
            for record in self.db.read_now(lambda c: repo.load_jobs(c, sorted(wanted))):
                self.remember_target(record)

    def remember_target(self, record: JobRecord) -> None:
        if not record.active:
            self.mirror.finished_targets[record.job_id] = FinishedJob(
                job_id=record.job_id, state=record.state, exit_code=record.exit_code
            )

    async def recover(self) -> None:
        """Reconcile the store's RUNNING jobs with what the executor really has."""
        by_executor: dict[int, tuple[Executor, list[RunKey]]] = {}
        for record in self.mirror.running.values():
            executor = self.executor_for(record)
            by_executor.setdefault(id(executor), (executor, []))[1].append(_key(record))
        for executor, keys in by_executor.values():
            await self.reconciled(await executor.reconcile(keys))

    async def reconciled(self, found: Reconciled) -> None:
        """Act on what an executor found: record the ends, relaunch what never started."""
        for end in found.ended:
            await self.on_end(end)
        for key in found.unknown:
            record = self.mirror.running.get(key.job_id)
            if record is None or record.restart_count != key.restart_count:
                continue
            if record.intent:  # asked to stop before it ever started: end it now
                await self.on_end(RunEnd(key=key, cause=EndCause.KILLED, end_time=self.clock.now()))
            else:
                await self._launch([record])
        log.info(
            "reconciled: %d running adopted, %d ended unseen, %d launched again",
            len(found.running), len(found.ended), len(found.unknown),
        )  # fmt: skip

    # -- events -----------------------------------------------------------------------------

    def notify(self) -> None:
        """Something happened that may let a job start: schedule a (debounced) pass."""
        if self._first_event_since is None:
            self._first_event_since = self.clock.now()
        self._wake.set()

    def spawn(self, coroutine: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def change(
        self,
        records: Sequence[JobRecord],
        events: Sequence[Event],
        also: Callable[[Connection], object] | None = None,
    ) -> None:
        """Write the records' new state (already changed in memory) and their events, with
        ``also`` in the same transaction."""
        for record in records:
            record.version += 1
            self.mirror.put(record)

        def write(connection: Connection) -> None:
            repo.save_jobs(connection, records)
            repo.add_events(connection, events)
            if also is not None:
                also(connection)

        await self.db.write(write)

    # -- submission -------------------------------------------------------------------------

    async def insert(self, records: list[JobRecord], draft: Draft) -> None:
        """Store a submission, then add it to the mirror. Submissions that arrive while the
        writer is busy share one multi-row INSERT (see `daemon.store.database`)."""
        environment = json.dumps(dict(draft.environment), separators=(",", ":"))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inserts.append(((records, draft.script, environment), future))
        first = records[0]
        if first.user not in self._users:  # the users table learns who submits
            self._users.add(first.user)
            user, uid, account = first.user, first.uid, first.request.account
            self.spawn(self.db.write(lambda c: repo.remember_user(c, user, uid, account)))
        if len(self._inserts) == 1:
            self.spawn(self._flush_inserts())
        await future
        for record in records:
            self.mirror.put(record)
        self.notify()

    async def _flush_inserts(self) -> None:
        await asyncio.sleep(0)  # let the submissions already read from sockets join
        batch, self._inserts = self._inserts, []
        submissions = [submission for submission, _ in batch]
        try:
            await self.db.write(lambda c: repo.insert_jobs(c, submissions))
        except Exception as err:  # noqa: BLE001 - every submitter gets it; none is half stored
            for _, future in batch:
                future.set_exception(err)
        else:
            for _, future in batch:
                future.set_result(None)

    # -- the pass ---------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while True:
            now = self.clock.now()
            due = next_pass_at(self._last_pass, self._first_event_since, self.cadence)
            if due is not None and due <= now:
                try:
                    await self.run_pass()
                except Exception:  # a failing pass must not stop the daemon
                    log.exception("scheduling pass failed")
                    self._last_pass = self.clock.now()
                continue
            self._wake.clear()
            timeout = None if due is None else due - now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def run_pass(self) -> Plan:
        now = self.clock.now()
        self._first_event_since = None
        self._last_pass = now
        snapshot, versions = self.mirror.snapshot(now, self.site.policy.half_life_s)
        if self.last_plan.heads:  # Policy.keep_head: what the last pass kept (lost on restart)
            snapshot = replace(snapshot, heads=self.last_plan.heads)
        began = self.clock.monotonic()
        plan = await asyncio.to_thread(schedule, snapshot, now, self.site.policy, cache=self._cache)
        duration = self.clock.monotonic() - began
        self.stats.passes += 1
        self.stats.last_duration_s = duration
        self.stats.total_duration_s += duration
        self.last_plan = plan
        await self._apply(plan, versions, now)
        return plan

    async def _apply(self, plan: Plan, versions: dict[int, int], now: int) -> None:
        for entry in plan.pending:
            record = self.mirror.pending.get(entry.job_id)
            if record is not None:
                record.reason = entry.reason.value
                record.priority = entry.priority
                record.estimated_start = entry.estimated_start
                record.planned_nodes = entry.planned_nodes
        started: list[JobRecord] = []
        victims: list[JobRecord] = []
        events: list[Event] = []
        for start in plan.starts:
            record = self.mirror.pending.get(start.job_id)
            if record is None or record.version != versions.get(start.job_id):
                continue  # cancelled, held or updated while the pass ran: next pass decides
            record.state = JobState.RUNNING
            record.reason = "None"
            record.priority = start.priority
            record.start_time = now
            record.end_time = None
            record.allocation = start.allocation
            record.backfilled = start.backfilled
            record.estimated_start = None
            started.append(record)
            how = "backfill" if start.backfilled else "main"
            events.append(Event(record.job_id, now, "RUNNING", f"started by the {how} scheduler"))
        for preempt in plan.preemptions:
            victim = self.mirror.running.get(preempt.job_id)
            if victim is not None and not victim.intent:
                victim.intent = "preempt"
                why = f"preempted by {preempt.for_job_id}"
                events.append(Event(victim.job_id, now, victim.state.value, why))
                victims.append(victim)
        if not started and not victims:
            return
        await self.change(started + victims, events)
        self.stats.starts += len(started)
        self.stats.backfill_starts += sum(1 for r in started if r.backfilled)
        for victim in victims:
            await self.kill(victim)
        await self._launch(started)

    async def _launch(self, records: Iterable[JobRecord]) -> None:
        records = list(records)
        if not records:
            return
        ids = [r.job_id for r in records]
        inputs = await self.db.read(
            lambda c: {job_id: repo.load_launch_inputs(c, job_id) for job_id in ids}
        )
        for record in records:
            key = _key(record)
            if record.intent:  # cancelled or requeued after it was recorded RUNNING, before
                # it was launched: it never runs, and its end is recorded now
                await self.on_end(RunEnd(key=key, cause=EndCause.KILLED, end_time=self.clock.now()))
                continue
            script, environment = inputs[record.job_id]
            spec = launch_spec(record, script, environment, self.site)
            self.launching.add(record.job_id)
            try:
                await self.executor_for(record).launch(spec)
            finally:
                self.launching.discard(record.job_id)
            if record.intent and record.restart_count == key.restart_count:
                await self.kill(record)  # cancelled while it was being launched

    # -- ends -------------------------------------------------------------------------------

    async def on_end(self, end: RunEnd) -> None:
        record = self.mirror.running.get(end.key.job_id)
        if record is None or record.restart_count != end.key.restart_count:
            return  # an end already recorded (reported twice across a restart)
        now = self.clock.now()
        result = outcome(record, end)
        start = record.start_time if record.start_time is not None else now
        end_time = end.end_time or now
        if record.allocation is not None:
            rate = billing_rate(record.allocation.total, self.site.policy.billing)
            self.mirror.charge(
                record.user, record.request.account, rate * max(0, end_time - start), now,
                self.site.policy.half_life_s,
            )  # fmt: skip
        record.exit_code = end.exit_code
        record.exit_signal = end.signal
        if result.state is JobState.FAILED and end.cause is EndCause.LAUNCH_FAILED:
            record.exit_code = end.exit_code or 1
        record.message = result.message or end.message
        record.intent = ""
        if result.requeue:
            self.requeue_record(record, now)
        else:
            record.state = result.state
            record.end_time = end_time
        event = Event(record.job_id, now, record.state.value, end.cause.value, record.message)
        final = "CANCELLED" if result.requeue else record.state.value
        job_id = record.job_id
        await self.change([record], [event], also=lambda c: repo.close_steps(c, job_id, final, now))
        self.notify()

    def requeue_record(self, record: JobRecord, now: int) -> None:
        """Back to PENDING under the same id; eligible after ``requeue_delay`` (Slurm: BeginTime,
        about 120 s), output appended from now on."""
        record.state = JobState.PENDING
        record.signal_sent = False
        record.restart_count += 1
        record.start_time = None
        record.end_time = None
        record.allocation = None
        record.append = True
        begin = now + self.settings.requeue_delay_s
        record.eligible_time = begin
        record.request = replace(record.request, begin_time=begin)
        record.reason = "BeginTime" if self.settings.requeue_delay_s else "None"


def _key(record: JobRecord) -> RunKey:
    return RunKey(job_id=record.job_id, restart_count=record.restart_count)
