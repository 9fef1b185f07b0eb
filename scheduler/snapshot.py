"""The immutable view of the site that one scheduling pass decides on.

The daemon builds it from its in-memory mirror of the store (``daemon/snapshot.py``), the
simulator from its event state; `scheduler.schedule` reads it and never changes it. Everything a
pass depends on is in here or in the `Policy`: the core keeps no state between calls
(what a policy carries from one pass to the next, such as kept heads, comes back in here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.fairshare import ShareTree, UsageRecord
from scheduler.model import Cluster, FinishedJob, JobRequest, RunningJob
from scheduler.plan import Head


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Nodes and partitions, running allocations (with expected ends), pending jobs, the final
    states of jobs that pending jobs depend on, and fair-share shares and decayed usage.

    ``pending`` may be in any order: the pass sorts by priority with a total order.
    ``finished`` needs only the jobs named in a pending job's dependencies; a dependency on a job
    that is in none of ``running``, ``pending`` or ``finished`` is treated as satisfied, as Slurm
    does once the other job has been purged.
    ``usage`` must already be decayed to ``now`` (`scheduler.decay_usage`): the core does not
    know when it was last decayed, and both drivers decay before every pass.
    ``heads`` are the previous pass's `Plan.heads`, read only under ``Policy.keep_head``.
    """

    cluster: Cluster
    running: tuple[RunningJob, ...] = ()
    pending: tuple[JobRequest, ...] = ()
    finished: tuple[FinishedJob, ...] = ()
    shares: ShareTree = field(default_factory=ShareTree)
    usage: tuple[UsageRecord, ...] = ()
    heads: tuple[Head, ...] = ()
