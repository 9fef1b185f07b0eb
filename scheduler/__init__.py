"""Berth's policy core: ``schedule(snapshot, now, policy) -> Plan`` and everything it is made of.

Pure: standard library only, no clock, no I/O, no randomness, no hidden state, inputs never
mutated. The daemon and the simulator import from this package, not from its modules.
"""

from scheduler.cadence import Cadence, next_pass_at
from scheduler.clusterconfig import cluster_from_mapping
from scheduler.cycle import schedule
from scheduler.errors import BerthError, ConfigError, InvalidRequest
from scheduler.fairshare import (
    AccountShare,
    ShareReport,
    ShareTree,
    UsageRecord,
    UserShare,
    billing_rate,
    charge,
    decay,
    decay_usage,
    fairshare_factors,
    share_report,
)
from scheduler.fragmentation import Fragmentation, fragmentation
from scheduler.hostlist import compress_hostlist, expand_hostlist
from scheduler.limits import Caps, JobCaps, Limits, Qos, UserLimits
from scheduler.model import (
    Allocation,
    Cluster,
    Dependency,
    DependencyKind,
    FinishedJob,
    GpuDevice,
    Hold,
    JobRequest,
    JobState,
    Node,
    NodeAllocation,
    NodeState,
    Partition,
    Resources,
    RunningJob,
)
from scheduler.passcache import PassCache
from scheduler.plan import Head, Pending, PendingReason, Plan, Preempt, Start
from scheduler.policy import (
    BackfillMode,
    BillingWeights,
    FairshareAlgorithm,
    Policy,
    PriorityWeights,
    QueueOrder,
    policy_from_mapping,
)
from scheduler.priority import PriorityFactors, job_priorities, priority_factors
from scheduler.quotas import limits_from_mapping
from scheduler.snapshot import Snapshot
from scheduler.units import (
    format_memory_mb,
    format_slurm_time,
    parse_memory_mb,
    parse_slurm_time_s,
)
from scheduler.validate import check, validate

__all__ = [
    "AccountShare",
    "Allocation",
    "BackfillMode",
    "BerthError",
    "BillingWeights",
    "Cadence",
    "Caps",
    "Cluster",
    "ConfigError",
    "Dependency",
    "DependencyKind",
    "FairshareAlgorithm",
    "FinishedJob",
    "Fragmentation",
    "GpuDevice",
    "Head",
    "Hold",
    "InvalidRequest",
    "JobCaps",
    "JobRequest",
    "JobState",
    "Limits",
    "Node",
    "NodeAllocation",
    "NodeState",
    "Partition",
    "PassCache",
    "Pending",
    "PendingReason",
    "Plan",
    "Policy",
    "Preempt",
    "PriorityFactors",
    "PriorityWeights",
    "Qos",
    "QueueOrder",
    "Resources",
    "RunningJob",
    "ShareReport",
    "ShareTree",
    "Snapshot",
    "Start",
    "UsageRecord",
    "UserLimits",
    "UserShare",
    "billing_rate",
    "charge",
    "check",
    "cluster_from_mapping",
    "compress_hostlist",
    "decay",
    "decay_usage",
    "expand_hostlist",
    "fairshare_factors",
    "format_memory_mb",
    "format_slurm_time",
    "fragmentation",
    "job_priorities",
    "limits_from_mapping",
    "next_pass_at",
    "parse_memory_mb",
    "parse_slurm_time_s",
    "policy_from_mapping",
    "priority_factors",
    "schedule",
    "share_report",
    "validate",
]
