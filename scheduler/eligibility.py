"""Whether a pending job may be considered at all this pass, before limits and resources.

Reasons are checked in Slurm's order: a hold first (``JobHeldUser`` / ``JobHeldAdmin``), then
dependencies (``Dependency`` / ``DependencyNeverSatisfied``), then the begin time
(``BeginTime``), then partition and QOS sanity (``PartitionDown``, ``PartitionTimeLimit``,
``PartitionNodeLimit``, ``InvalidQOS``), then the array throttle (``JobArrayTaskLimit``).

Dependency rules:

- ``after:X`` holds once X has started (or ended); ``afterany:X`` once X has ended;
  ``afterok:X`` once X completed with exit code 0 and can never hold if X ended otherwise;
  ``afternotok:X`` is the mirror image (any end but success: failed, cancelled, timed out, ...).
- ``singleton`` holds while no other job of the same user and name is running.
- A dependency on a job the snapshot does not know (purged after ``MinJobAge``) holds, as Slurm
  lifts a dependency whose job record is gone.
- Dependencies joined by ``,`` must all hold; joined by ``?`` (``dependency_any``) one suffices.
"""

from __future__ import annotations

from collections.abc import Mapping

from scheduler.limits import Limits
from scheduler.model import DependencyKind, FinishedJob, Hold, JobRequest, Partition
from scheduler.plan import PendingReason as R
from scheduler.snapshot import Snapshot

_PENDING = "pending"
_RUNNING = "running"
_HOLDS, _WAITS, _NEVER = 0, 1, 2


class Gate:
    """The per-pass facts the checks need, kept current as the pass starts jobs."""

    __slots__ = (
        "_array_running",
        "_finished",
        "_limits",
        "_partitions",
        "_singletons",
        "_status",
        "_tracking",
        "now",
    )

    def __init__(
        self,
        snapshot: Snapshot,
        now: int,
        limits: Limits,
        *,
        tracking: bool | None = None,
        partitions: Mapping[str, Partition] | None = None,
    ) -> None:
        """``tracking``: whether any pending job has dependencies or an array throttle, and
        ``partitions``: the cluster's partitions by name (the last of a name), when the caller
        knows them already (`scheduler.passcache`)."""
        self.now = now
        self._limits = limits
        if partitions is None:
            partitions = {p.name: p for p in snapshot.cluster.partitions}
        self._partitions = partitions
        # Who runs matters only to dependencies and array throttles: skip the bookkeeping
        # when no pending job has either (most passes of a trace replay).
        if tracking is None:
            tracking = any(
                job.dependencies or job.array_throttle is not None for job in snapshot.pending
            )
        self._tracking = tracking
        self._status: dict[int, str] = {}
        self._finished: Mapping[int, FinishedJob] = {}
        self._singletons: set[tuple[str, str]] = set()
        self._array_running: dict[int, int] = {}
        if self._tracking:
            self._status = {job.job_id: _PENDING for job in snapshot.pending}
            self._finished = {job.job_id: job for job in snapshot.finished}
            for running in snapshot.running:
                self.started(running.request)

    def started(self, job: JobRequest) -> None:
        """Record that ``job`` runs (at the start of the pass, or started by this pass)."""
        if not self._tracking:
            return
        self._status[job.job_id] = _RUNNING
        self._singletons.add((job.user, job.name))
        if job.array_job_id is not None:
            self._array_running[job.array_job_id] = self._array_running.get(job.array_job_id, 0) + 1

    def reason(self, job: JobRequest) -> R | None:
        if job.hold is Hold.ADMIN:
            return R.JOB_HELD_ADMIN
        if job.hold is Hold.USER:
            return R.JOB_HELD_USER
        if job.dependencies:
            verdict = self._dependencies(job)
            if verdict == _NEVER:
                return R.DEPENDENCY_NEVER_SATISFIED
            if verdict == _WAITS:
                return R.DEPENDENCY
        if job.begin_time is not None and job.begin_time > self.now:
            return R.BEGIN_TIME
        partition = self._partitions.get(job.partition)
        if partition is None or not partition.up:
            return R.PARTITION_DOWN
        if partition.max_time_s is not None and job.time_limit_s > partition.max_time_s:
            return R.PARTITION_TIME_LIMIT
        if partition.max_nodes_per_job is not None and job.nodes > partition.max_nodes_per_job:
            return R.PARTITION_NODE_LIMIT
        if job.qos not in self._limits.qos:
            return R.INVALID_QOS
        if (
            job.array_job_id is not None
            and job.array_throttle is not None
            and self._array_running.get(job.array_job_id, 0) >= job.array_throttle
        ):
            return R.JOB_ARRAY_TASK_LIMIT
        return None

    def _dependencies(self, job: JobRequest) -> int:
        verdicts = [self._one(job, dep.kind, dep.job_id) for dep in job.dependencies]
        if job.dependency_any:
            if _HOLDS in verdicts:
                return _HOLDS
            return _NEVER if all(v == _NEVER for v in verdicts) else _WAITS
        if _NEVER in verdicts:
            return _NEVER
        return _WAITS if _WAITS in verdicts else _HOLDS

    def _one(self, job: JobRequest, kind: DependencyKind, other: int | None) -> int:
        if kind is DependencyKind.SINGLETON:
            return _WAITS if (job.user, job.name) in self._singletons else _HOLDS
        if other is None:
            return _HOLDS
        finished = self._finished.get(other)
        if finished is None:
            status = self._status.get(other)
            if status is None:
                return _HOLDS  # the job record is gone: Slurm lifts the dependency
            if kind is DependencyKind.AFTER and status == _RUNNING:
                return _HOLDS
            return _WAITS
        if kind is DependencyKind.AFTEROK:
            return _HOLDS if finished.succeeded else _NEVER
        if kind is DependencyKind.AFTERNOTOK:
            return _NEVER if finished.succeeded else _HOLDS
        return _HOLDS  # after / afterany: it has ended
