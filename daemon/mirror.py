"""The controller's in-memory mirror of the store, and the one conversion to `scheduler.Snapshot`.

Every write goes to the store first and then here (write-through), so the mirror is what the
store says, minus what nobody needs every pass: finished jobs older than ``MinJobAge`` and the
jobs' scripts and environments. On start the controller rebuilds it from the store.
"""

from __future__ import annotations

from dataclasses import replace

from daemon.records import JobRecord
from scheduler import (
    Cluster,
    FinishedJob,
    JobRequest,
    JobState,
    NodeState,
    RunningJob,
    ShareTree,
    Snapshot,
    UsageRecord,
    decay,
)
from scheduler.fairshare import AccountShare

_ADMIN_STATES = {"drain": NodeState.DRAIN, "down": NodeState.DOWN}


class Mirror:
    def __init__(self, cluster: Cluster, account_names: tuple[str, ...] = ()) -> None:
        self.cluster = cluster
        self.jobs: dict[int, JobRecord] = {}  # active, and finished within MinJobAge
        self.pending: dict[int, JobRecord] = {}
        self.running: dict[int, JobRecord] = {}  # RUNNING and COMPLETING: they hold resources
        self.active_by_user: dict[str, dict[int, JobRecord]] = {}  # for submit limits
        self.arrays: dict[int, dict[int, JobRecord]] = {}  # array job id -> its tasks here
        self._running_views: dict[int, RunningJob] = {}
        # Final states of jobs that left the mirror but that a pending job depends on.
        self.finished_targets: dict[int, FinishedJob] = {}
        self.node_admin: dict[str, tuple[str, str]] = {}  # name -> ("drain"/"down", reason)
        self.usage: dict[tuple[str, str], float] = {}  # (user, account) -> decayed usage
        self.usage_time = 0  # the instant `usage` is decayed to
        self.shares = ShareTree(accounts=tuple(AccountShare(name=a) for a in account_names))
        self._cluster_view: Cluster | None = None

    # -- membership -------------------------------------------------------------------------

    def put(self, record: JobRecord) -> None:
        """Add or re-file a record after its state changed."""
        job_id = record.job_id
        self.jobs[job_id] = record
        if record.request.array_job_id is not None:
            self.arrays.setdefault(record.request.array_job_id, {})[job_id] = record
        self.pending.pop(job_id, None)
        if self.running.pop(job_id, None) is not None:
            self._running_views.pop(job_id, None)
        mine = self.active_by_user.setdefault(record.user, {})
        if record.active:
            mine[job_id] = record
        else:
            mine.pop(job_id, None)
        if record.state is JobState.PENDING:
            self.pending[job_id] = record
        elif record.state in (JobState.RUNNING, JobState.COMPLETING):
            self.running[job_id] = record

    def forget(self, job_id: int) -> None:
        record = self.jobs.pop(job_id, None)
        if record is None:
            return
        array_id = record.request.array_job_id
        if array_id is not None:
            tasks = self.arrays.get(array_id, {})
            tasks.pop(job_id, None)
            if not tasks:
                self.arrays.pop(array_id, None)

    def find(self, text: str) -> list[JobRecord]:
        """The records a user's job id names: ``123`` (a job, or every task of array 123) or
        ``123_4`` (one task); ``[]`` when none is in the mirror."""
        head, _, task = text.partition("_")
        if not head.isdigit() or (task and not task.isdigit()):
            return []
        job_id = int(head)
        if task:
            return [
                r for r in self.arrays.get(job_id, {}).values()
                if r.request.array_task_id == int(task)
            ]  # fmt: skip
        if job_id in self.arrays:
            return sorted(self.arrays[job_id].values(), key=lambda r: r.job_id)
        record = self.jobs.get(job_id)
        return [record] if record is not None else []

    # -- nodes ------------------------------------------------------------------------------

    def set_node_admin(self, name: str, state: str, reason: str) -> None:
        if state:
            self.node_admin[name] = (state, reason)
        else:
            self.node_admin.pop(name, None)
        self._cluster_view = None

    def cluster_view(self) -> Cluster:
        """The configured cluster with drained and down nodes marked (cached until a change,
        so the core's placer cache stays valid between passes)."""
        if self._cluster_view is None:
            nodes = tuple(
                replace(node, state=_ADMIN_STATES[self.node_admin[node.name][0]],
                        reason=self.node_admin[node.name][1])
                if node.name in self.node_admin
                else node
                for node in self.cluster.nodes
            )  # fmt: skip
            self._cluster_view = replace(self.cluster, nodes=nodes)
        return self._cluster_view

    # -- fair share -------------------------------------------------------------------------

    def decayed_usage(self, now: int, half_life_s: int) -> tuple[UsageRecord, ...]:
        elapsed = now - self.usage_time
        return tuple(
            UsageRecord(user=user, account=account, usage=decay(value, elapsed, half_life_s))
            for (user, account), value in sorted(self.usage.items())
        )

    def decay_to(self, now: int, half_life_s: int) -> None:
        elapsed = now - self.usage_time
        if elapsed > 0:
            self.usage = {k: decay(v, elapsed, half_life_s) for k, v in self.usage.items()}
            self.usage_time = now

    def charge(self, user: str, account: str, amount: float, now: int, half_life_s: int) -> None:
        self.decay_to(now, half_life_s)
        key = (user, account)
        self.usage[key] = self.usage.get(key, 0.0) + amount

    # -- the snapshot -----------------------------------------------------------------------

    def running_view(self, record: JobRecord) -> RunningJob:
        view = self._running_views.get(record.job_id)
        if view is None or view.request is not record.request:
            assert record.allocation is not None
            assert record.start_time is not None
            view = RunningJob(
                request=record.request, allocation=record.allocation, start_time=record.start_time
            )
            self._running_views[record.job_id] = view
        return view

    def snapshot(self, now: int, half_life_s: int) -> tuple[Snapshot, dict[int, int]]:
        """The view one pass decides on, and each pending job's version at this instant (a
        start is applied only if the job did not change while the pass ran)."""
        pending: list[JobRequest] = []
        versions: dict[int, int] = {}
        wanted: set[int] = set()
        for record in self.pending.values():
            pending.append(record.request)
            versions[record.job_id] = record.version
            for dependency in record.request.dependencies:
                if dependency.job_id is not None:
                    wanted.add(dependency.job_id)
        finished = []
        for job_id in sorted(wanted):
            target = self.jobs.get(job_id)
            if target is not None and not target.active:
                finished.append(
                    FinishedJob(job_id=job_id, state=target.state, exit_code=target.exit_code)
                )
            elif target is None and job_id in self.finished_targets:
                finished.append(self.finished_targets[job_id])
        snapshot = Snapshot(
            cluster=self.cluster_view(),
            running=tuple(self.running_view(r) for r in self.running.values()),
            pending=tuple(pending),
            finished=tuple(finished),
            shares=self.shares,
            usage=self.decayed_usage(now, half_life_s),
        )
        return snapshot, versions
