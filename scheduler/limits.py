"""Per-user, per-account and per-QOS caps, and the Slurm reason a job over one of them shows.

Scopes, checked in Slurm's order (the job's QOS first, then its associations):

===================  ==========================================  ===============================
scope                caps                                        reason words
===================  ==========================================  ===============================
QOS, per job         GPUs, CPUs, MiB, wall time of one job       QOSMaxGRESPerJob, ...
user, per job        the same, from the user's association       AssocMaxGRESPerJob, ...
QOS, per user        what one user may hold in that QOS          QOSMaxGRESPerUser, QOSMaxJobs...
QOS, group           what all jobs of that QOS may hold          QOSGrpGRES, QOSGrpJobsLimit, ...
user association     what one user may hold in all               AssocGrpGRES, AssocMaxJobsLimit
account              what all users of an account may hold       AssocGrpGRES, AssocGrpJobsLimit
===================  ==========================================  ===============================

Per-job caps and submit counts can never be met by waiting, so `scheduler.validate` refuses such a
request at submit; `limit_reason` still reports them for jobs queued before a limit was lowered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from scheduler.model import JobRequest, Resources
from scheduler.plan import PendingReason as R


@dataclass(frozen=True, slots=True, kw_only=True)
class Caps:
    """What a scope may hold at once (running jobs); ``None`` means no cap."""

    gpus: int | None = None
    cpus: int | None = None
    mem_mb: int | None = None
    running_jobs: int | None = None
    submitted_jobs: int | None = None  # pending + running; checked at submit

    @property
    def empty(self) -> bool:
        return all(
            cap is None
            for cap in (self.gpus, self.cpus, self.mem_mb, self.running_jobs, self.submitted_jobs)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class JobCaps:
    """The most one job may ask for; ``None`` means no cap."""

    gpus: int | None = None
    cpus: int | None = None
    mem_mb: int | None = None
    wall_s: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserLimits:
    """A user's association: caps over all their jobs, per-job caps, and a priority (Slurm's
    association ``Priority``, DS01's ``priority``) that feeds the ``assoc`` priority factor."""

    total: Caps = field(default_factory=Caps)
    per_job: JobCaps = field(default_factory=JobCaps)
    priority: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Qos:
    """A quality of service: a priority, caps, and which QOS it may preempt."""

    name: str
    priority: int = 0
    per_user: Caps = field(default_factory=Caps)
    per_job: JobCaps = field(default_factory=JobCaps)
    group: Caps = field(default_factory=Caps)
    preempt: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Every cap the site configured. ``unenforced`` lists configuration keys that were read but
    that Berth does not enforce (for example DS01's idle time-outs), so the loader can say so."""

    qos: Mapping[str, Qos] = field(default_factory=lambda: {"normal": Qos(name="normal")})
    users: Mapping[str, UserLimits] = field(default_factory=dict)
    default_user: UserLimits = field(default_factory=UserLimits)
    accounts: Mapping[str, Caps] = field(default_factory=dict)
    unenforced: tuple[str, ...] = ()

    def for_user(self, user: str) -> UserLimits:
        return self.users.get(user, self.default_user)


_HELD_REASONS = {
    "gpus": (R.QOS_MAX_GRES_PER_USER, R.QOS_GRP_GRES, R.ASSOC_GRP_GRES, R.ASSOC_GRP_GRES),
    "cpus": (R.QOS_MAX_CPU_PER_USER, R.QOS_GRP_CPU, R.ASSOC_GRP_CPU, R.ASSOC_GRP_CPU),
    "mem_mb": (R.QOS_MAX_MEM_PER_USER, R.QOS_GRP_MEM, R.ASSOC_GRP_MEM, R.ASSOC_GRP_MEM),
    "running_jobs": (R.QOS_MAX_JOBS_PER_USER, R.QOS_GRP_JOBS, R.ASSOC_MAX_JOBS, R.ASSOC_GRP_JOBS),
}
_QOS_USER, _QOS_GROUP, _USER, _ACCOUNT = range(4)


@dataclass(slots=True)
class _Held:
    """What one scope holds right now (mutable: a pass's private tally)."""

    gpus: int = 0
    cpus: int = 0
    mem_mb: int = 0
    running_jobs: int = 0

    def add(self, amount: Resources, sign: int) -> None:
        self.gpus += sign * amount.gpus
        self.cpus += sign * amount.cpus
        self.mem_mb += sign * amount.mem_mb
        self.running_jobs += sign


def per_job_reason(job: JobRequest, limits: Limits) -> R | None:
    """The reason a single job exceeds a per-job cap of its QOS or its user, else None."""
    total = job.total
    qos = limits.qos.get(job.qos)
    scopes: list[tuple[JobCaps, tuple[R, R, R, R]]] = []
    if qos is not None:
        scopes.append(
            (
                qos.per_job,
                (
                    R.QOS_MAX_GRES_PER_JOB,
                    R.QOS_MAX_CPU_PER_JOB,
                    R.QOS_MAX_MEM_PER_JOB,
                    R.QOS_MAX_WALL_PER_JOB,
                ),
            )
        )
    scopes.append(
        (
            limits.for_user(job.user).per_job,
            (
                R.ASSOC_MAX_GRES_PER_JOB,
                R.ASSOC_MAX_CPU_PER_JOB,
                R.ASSOC_MAX_MEM_PER_JOB,
                R.ASSOC_MAX_WALL_PER_JOB,
            ),
        )
    )
    for caps, (gres, cpu, mem, wall) in scopes:
        if caps.gpus is not None and total.gpus > caps.gpus:
            return gres
        if caps.cpus is not None and total.cpus > caps.cpus:
            return cpu
        if caps.mem_mb is not None and total.mem_mb > caps.mem_mb:
            return mem
        if caps.wall_s is not None and job.time_limit_s > caps.wall_s:
            return wall
    return None


def limit_flags(limits: Limits) -> tuple[bool, bool]:
    """Whether any per-job cap is set, and whether any cap on what a scope holds is."""
    return _has_per_job_caps(limits), _has_held_caps(limits)


def _has_held_caps(limits: Limits) -> bool:
    every = [caps for qos in limits.qos.values() for caps in (qos.per_user, qos.group)]
    every += [user.total for user in limits.users.values()]
    every += [limits.default_user.total, *limits.accounts.values()]
    return not all(caps.empty for caps in every)


def _has_per_job_caps(limits: Limits) -> bool:
    every = [qos.per_job for qos in limits.qos.values()]
    every += [user.per_job for user in limits.users.values()]
    every.append(limits.default_user.per_job)
    return any(caps != JobCaps() for caps in every)


_Scope = tuple[int, tuple[int, str, str], Caps]
ScopeCache = dict[tuple[str, str, str], list[_Scope]]


class LimitTally:
    """Running totals per scope during one pass: built from the running jobs, then charged with
    every job the pass starts, so a pass never starts two jobs that together break a cap."""

    __slots__ = ("_held", "_limits", "_per_job", "_scope_cache", "active")

    def __init__(
        self,
        limits: Limits,
        scopes: ScopeCache | None = None,
        flags: tuple[bool, bool] | None = None,
    ) -> None:
        """``scopes`` may carry the scope lists of earlier passes over the same ``limits``, and
        ``flags`` their `limit_flags`."""
        self._limits = limits
        self._held: dict[tuple[int, str, str], _Held] = {}
        self._per_job, self.active = limit_flags(limits) if flags is None else flags
        # active False: nothing to count, `charge` may be skipped
        self._scope_cache: ScopeCache = {} if scopes is None else scopes

    def _scopes(self, job: JobRequest) -> list[_Scope]:
        cache_key = (job.qos, job.user, job.account)
        cached = self._scope_cache.get(cache_key)
        if cached is not None:
            return cached
        limits = self._limits
        scopes: list[_Scope] = []
        qos = limits.qos.get(job.qos)
        if qos is not None:
            if not qos.per_user.empty:
                scopes.append((_QOS_USER, (_QOS_USER, job.qos, job.user), qos.per_user))
            if not qos.group.empty:
                scopes.append((_QOS_GROUP, (_QOS_GROUP, job.qos, ""), qos.group))
        user_caps = limits.for_user(job.user).total
        if not user_caps.empty:
            scopes.append((_USER, (_USER, job.user, ""), user_caps))
        account_caps = limits.accounts.get(job.account)
        if account_caps is not None and not account_caps.empty:
            scopes.append((_ACCOUNT, (_ACCOUNT, job.account, ""), account_caps))
        self._scope_cache[cache_key] = scopes
        return scopes

    def charge(self, job: JobRequest, amount: Resources) -> None:
        """Count ``amount`` (a running or just started job's resources) against every scope."""
        for _, key, _caps in self._scopes(job):
            held = self._held.get(key)
            if held is None:
                held = self._held[key] = _Held()
            held.add(amount, 1)

    def discharge(self, job: JobRequest, amount: Resources) -> None:
        """Take back what `charge` counted (a job preempted by this pass)."""
        for _, key, _caps in self._scopes(job):
            held = self._held.get(key)
            if held is not None:
                held.add(amount, -1)

    def reason(self, job: JobRequest) -> R | None:
        """The reason ``job`` may not start now because of a cap, or None if no cap stops it."""
        if self._per_job:
            per_job = per_job_reason(job, self._limits)
            if per_job is not None:
                return per_job
        if not self.active:
            return None
        scopes = self._scopes(job)
        if not scopes:
            return None
        need = job.total
        for scope, key, caps in scopes:
            held = self._held.get(key) or _Held()
            wants = (
                ("gpus", caps.gpus, held.gpus + need.gpus, need.gpus),
                ("cpus", caps.cpus, held.cpus + need.cpus, need.cpus),
                ("mem_mb", caps.mem_mb, held.mem_mb + need.mem_mb, need.mem_mb),
                ("running_jobs", caps.running_jobs, held.running_jobs + 1, 1),
            )
            for name, cap, after, asked in wants:
                if cap is not None and asked > 0 and after > cap:
                    return _HELD_REASONS[name][scope]
        return None
