"""`PassCache`: what a driver may keep between passes to save work, explicitly.

The core keeps no state between calls. Some of what a pass derives depends only on the cluster
and the limits, not on time or jobs: node masks and indices, which nodes suit a job shape, which
limit scopes a (QOS, user, account) falls under. A driver that replays thousands of passes over
the same cluster (the simulator) may hand `scheduler.schedule` a `PassCache` to keep those. The
cache checks the identity of the cluster and limits it was built for and starts afresh when they
change, so a pass with a cache returns exactly the Plan it returns without one (a property test
checks this).
"""

from __future__ import annotations

from scheduler.limits import Limits, ScopeCache
from scheduler.model import Cluster
from scheduler.placement import Placer


class PassCache:
    __slots__ = ("_cluster", "_limits", "_placer", "_scopes")

    def __init__(self) -> None:
        self._cluster: Cluster | None = None
        self._placer: Placer | None = None
        self._limits: Limits | None = None
        self._scopes: ScopeCache = {}

    def placer(self, cluster: Cluster) -> Placer:
        if self._placer is None or cluster is not self._cluster:
            self._cluster, self._placer = cluster, Placer(cluster)
        return self._placer

    def scopes(self, limits: Limits) -> ScopeCache:
        if limits is not self._limits:
            self._limits, self._scopes = limits, {}
        return self._scopes
