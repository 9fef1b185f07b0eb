"""What one scheduling pass decides: starts, preemptions, and why every other job waits.

``PendingReason`` values are Slurm's own reason words, byte for byte, because users and tools
(``squeue``'s ``NODELIST(REASON)`` column, dashboards, submitit) read them as an API.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scheduler.model import Allocation


class PendingReason(StrEnum):
    """Why a pending job did not start in this pass, in Slurm's words."""

    NONE = "None"
    PRIORITY = "Priority"
    RESOURCES = "Resources"
    DEPENDENCY = "Dependency"
    DEPENDENCY_NEVER_SATISFIED = "DependencyNeverSatisfied"
    BEGIN_TIME = "BeginTime"
    JOB_HELD_USER = "JobHeldUser"
    JOB_HELD_ADMIN = "JobHeldAdmin"
    JOB_ARRAY_TASK_LIMIT = "JobArrayTaskLimit"
    PARTITION_TIME_LIMIT = "PartitionTimeLimit"
    PARTITION_NODE_LIMIT = "PartitionNodeLimit"
    PARTITION_DOWN = "PartitionDown"
    REQ_NODE_NOT_AVAIL = "ReqNodeNotAvail"
    BAD_CONSTRAINTS = "BadConstraints"
    INVALID_QOS = "InvalidQOS"
    # QOS limits, per user and per QOS (group) totals.
    QOS_MAX_GRES_PER_USER = "QOSMaxGRESPerUser"
    QOS_MAX_CPU_PER_USER = "QOSMaxCpuPerUserLimit"
    QOS_MAX_MEM_PER_USER = "QOSMaxMemoryPerUser"
    QOS_MAX_JOBS_PER_USER = "QOSMaxJobsPerUserLimit"
    QOS_MAX_SUBMIT_PER_USER = "QOSMaxSubmitJobPerUserLimit"
    QOS_MAX_GRES_PER_JOB = "QOSMaxGRESPerJob"
    QOS_MAX_CPU_PER_JOB = "QOSMaxCpuPerJobLimit"
    QOS_MAX_MEM_PER_JOB = "QOSMaxMemoryPerJob"
    QOS_MAX_WALL_PER_JOB = "QOSMaxWallDurationPerJobLimit"
    QOS_GRP_GRES = "QOSGrpGRES"
    QOS_GRP_CPU = "QOSGrpCpuLimit"
    QOS_GRP_MEM = "QOSGrpMemLimit"
    QOS_GRP_JOBS = "QOSGrpJobsLimit"
    QOS_GRP_SUBMIT = "QOSGrpSubmitJobsLimit"
    # Association limits: an account (Grp*) or one user's association (Max*).
    ASSOC_GRP_GRES = "AssocGrpGRES"
    ASSOC_GRP_CPU = "AssocGrpCpuLimit"
    ASSOC_GRP_MEM = "AssocGrpMemLimit"
    ASSOC_GRP_JOBS = "AssocGrpJobsLimit"
    ASSOC_GRP_SUBMIT = "AssocGrpSubmitJobsLimit"
    ASSOC_MAX_JOBS = "AssocMaxJobsLimit"
    ASSOC_MAX_SUBMIT = "AssocMaxSubmitJobLimit"
    ASSOC_MAX_GRES_PER_JOB = "AssocMaxGRESPerJob"
    ASSOC_MAX_CPU_PER_JOB = "AssocMaxCpuPerJobLimit"
    ASSOC_MAX_MEM_PER_JOB = "AssocMaxMemPerJob"
    ASSOC_MAX_WALL_PER_JOB = "AssocMaxWallDurationPerJobLimit"


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    """Start ``job_id`` now on ``allocation``.

    ``backfilled`` is Slurm's ``Scheduler=Backfill``: the job started ahead of a higher-priority
    blocked job. ``preempts`` lists running jobs the driver must stop (and requeue) before it
    launches this one, because the allocation uses their resources.
    """

    job_id: int
    allocation: Allocation
    priority: int
    backfilled: bool = False
    preempts: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Preempt:
    """Stop running ``job_id`` (requeue it if it is requeueable) to make room for ``for_job_id``."""

    job_id: int
    for_job_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """A job that stays pending, with Slurm's reason word and, where backfill computed one, the
    time it is expected to start and the nodes it is planned on (``squeue --start``)."""

    job_id: int
    reason: PendingReason
    priority: int
    estimated_start: int | None = None
    planned_nodes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Head:
    """A job kept at the head of its partition's queue under ``Policy.keep_head``: the first job
    a pass found blocked on resources there, and, under GREEDY backfill, the shadow time computed
    when it was first blocked (None otherwise). A pass names its heads in `Plan.heads`; the
    driver hands them to the next pass in `Snapshot.heads`, so the core itself keeps nothing."""

    job_id: int
    partition: str
    shadow: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The decisions of one pass, in the order they were taken (priority order), and under
    ``Policy.keep_head`` the heads the next pass must keep (empty otherwise)."""

    starts: tuple[Start, ...] = ()
    preemptions: tuple[Preempt, ...] = ()
    pending: tuple[Pending, ...] = ()
    heads: tuple[Head, ...] = ()

    def pending_by_id(self) -> dict[int, Pending]:
        return {entry.job_id: entry for entry in self.pending}
