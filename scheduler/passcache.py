"""`PassCache`: what a driver may keep between passes to save work, explicitly.

The core keeps no state between calls. Some of what a pass derives changes little or not at all
from one pass to the next, and a driver that replays thousands of passes (the simulator) may
hand `scheduler.schedule` a `PassCache` to keep it:

- facts of the cluster and the limits alone: node masks and indices, which nodes suit a job
  shape, which limit scopes a (QOS, user, account) falls under, whether any cap is set;
- the running jobs' release schedule (`scheduler.runningprofile`), brought up to date by the
  jobs that started and ended since the last pass instead of rebuilt from every running job;
- the pending jobs in queue order (`scheduler.queueindex`) when that order is fixed (FIFO
  priorities, or shortest first), brought up to date by the jobs that arrived and left instead
  of sorted again;
- the state a decisions-only pass ended in, which the next pass resumes when it can prove that
  nothing but the jobs appended behind the queue can decide differently (`scheduler.cycle`).

Each part checks what it was built for (the identity of the cluster and the limits, the order
the policy asks for, the running and pending jobs by identity, jobs being frozen) and follows
or starts afresh when that changes, so a pass with a cache returns exactly the Plan it returns
without one (property tests check this, over one cache shared by many passes). The cache is the
driver's object: the pass reads and updates it, and nothing else outlives the call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scheduler.availability import Availability, Timeline
from scheduler.limits import Limits, ScopeCache, limit_flags
from scheduler.model import Cluster, RunningJob
from scheduler.placement import Placer
from scheduler.policy import Policy
from scheduler.queueindex import QueueIndex, order_kind
from scheduler.runningprofile import RunningProfile
from scheduler.snapshot import Snapshot


class PassCache:
    __slots__ = (
        "_cluster",
        "_flags",
        "_kind",
        "_limits",
        "_placer",
        "_policy",
        "_profile",
        "_queue",
        "_scopes",
        "resume",
    )

    def __init__(self) -> None:
        self._cluster: Cluster | None = None
        self._placer: Placer | None = None
        self._profile: RunningProfile | None = None
        self._limits: Limits | None = None
        self._scopes: ScopeCache = {}
        self._flags = (False, False)
        self._queue: QueueIndex | None = None
        self._policy: Policy | None = None
        self._kind: tuple[str, bool] | None = None
        # The state a decisions-only pass ended in, for the next pass to resume when only jobs
        # were appended behind it (`scheduler.cycle`); every other pass drops it.
        self.resume: object | None = None

    def placer(self, cluster: Cluster) -> Placer:
        if self._placer is None or cluster is not self._cluster:
            self._cluster, self._placer = cluster, Placer(cluster)
            self._profile = self._queue = None
        return self._placer

    def scopes(self, limits: Limits) -> ScopeCache:
        self._check_limits(limits)
        return self._scopes

    def limit_flags(self, limits: Limits) -> tuple[bool, bool]:
        """`scheduler.limits.limit_flags` of ``limits``, computed once per limits object."""
        self._check_limits(limits)
        return self._flags

    def _check_limits(self, limits: Limits) -> None:
        if limits is not self._limits:
            self._limits, self._scopes, self._flags = limits, {}, limit_flags(limits)

    def availability(
        self, cluster: Cluster, running: Sequence[RunningJob], now: int
    ) -> Availability:
        """The profile of ``running`` at ``now``, from the release schedule kept across
        passes."""
        placer = self.placer(cluster)
        if self._profile is None:
            self._profile = RunningProfile(cluster.nodes, placer.index, placer.full_masks)
        self._profile.sync(running)
        return self._profile.availability(now)

    def quiet(self, after: int, until: int) -> bool:
        """No running job of the last `availability` has its expected end in
        ``(after, until]``."""
        return self._profile is not None and self._profile.quiet(after, until)

    def timeline(self, now: int) -> Callable[[int], Timeline]:
        """What lays out a node's timeline of the last `availability`'s running jobs at
        ``now``."""
        assert self._profile is not None
        return self._profile.timeline(now)

    def queue(self, snapshot: Snapshot, policy: Policy) -> QueueIndex | None:
        """The pending jobs in the policy's fixed queue order, or None when the order is not
        fixed (the pass then sorts) or the queue lists a job id twice."""
        if policy is not self._policy:
            self._policy, self._kind = policy, order_kind(policy)
        if self._kind is None:
            return None
        kind, fixed = self._kind
        placer = self.placer(snapshot.cluster)
        queue = self._queue
        if queue is None or queue.kind != kind or queue.fixed != fixed:
            queue = self._queue = QueueIndex(kind, fixed, placer)
        return queue if queue.sync(snapshot.pending) else None
