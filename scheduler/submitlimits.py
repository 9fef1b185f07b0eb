"""The limit problems `scheduler.validate` reports at submit, each as a sentence with the fix.

Three kinds, all beginning with Slurm's ``Job violates accounting/QOS policy (job submit limit,
user's size and/or time limits)`` and ending with the reason word a queued job would show:

- per-job caps of the job's QOS, then of its user (the checks of
  `scheduler.limits.per_job_reason`, in its order, every one reported rather than the first);
- aggregate caps (QOS per user, QOS in all, user, account) smaller than the job alone, which no
  amount of waiting can satisfy; a cap on running jobs of 0 is one of them;
- submit caps (``submitted_jobs``: pending plus running jobs) already reached by ``active``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scheduler.limits import Caps, JobCaps, Limits
from scheduler.model import JobRequest
from scheduler.plan import PendingReason as R
from scheduler.units import format_memory_mb, format_slurm_time

POLICY = "Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)"
QOS_GRP_SUBMIT = "QOSGrpSubmitJobsLimit"  # Slurm's word; a queued job never shows it

_QOS_JOB = (
    R.QOS_MAX_GRES_PER_JOB,
    R.QOS_MAX_CPU_PER_JOB,
    R.QOS_MAX_MEM_PER_JOB,
    R.QOS_MAX_WALL_PER_JOB,
)
_USER_JOB = (
    R.ASSOC_MAX_GRES_PER_JOB,
    R.ASSOC_MAX_CPU_PER_JOB,
    R.ASSOC_MAX_MEM_PER_JOB,
    R.ASSOC_MAX_WALL_PER_JOB,
)
_QOS_USER = (R.QOS_MAX_GRES_PER_USER, R.QOS_MAX_CPU_PER_USER, R.QOS_MAX_MEM_PER_USER)
_QOS_GROUP = (R.QOS_GRP_GRES, R.QOS_GRP_CPU, R.QOS_GRP_MEM)
_ASSOC = (R.ASSOC_GRP_GRES, R.ASSOC_GRP_CPU, R.ASSOC_GRP_MEM)


def plural(count: int, noun: str) -> str:
    """``plural(1, "GPU")`` -> ``"1 GPU"``, ``plural(2, "GPU")`` -> ``"2 GPUs"``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _gpus(count: int) -> str:
    return plural(count, "GPU")


def _cpus(count: int) -> str:
    return plural(count, "CPU")


def _memory(mb: int) -> str:
    return f"{format_memory_mb(mb)} of memory"


def _spread(job: JobRequest, per_node: int, say: Callable[[int], str]) -> str:
    return f" ({say(per_node)} per node on {job.nodes} nodes)" if job.nodes > 1 else ""


def job_cap_problems(job: JobRequest, limits: Limits) -> list[str]:
    """Every per-job cap of the job's QOS and user that the job exceeds."""
    scopes: list[tuple[str, JobCaps, tuple[R, R, R, R]]] = []
    qos = limits.qos.get(job.qos)
    if qos is not None:
        scopes.append((f"QOS {job.qos!r}", qos.per_job, _QOS_JOB))
    scopes.append((f"user {job.user!r}", limits.for_user(job.user).per_job, _USER_JOB))
    total = job.total
    problems = []
    for label, caps, (gres, cpu, mem, wall) in scopes:
        sized = (
            (caps.gpus, total.gpus, job.gpus_per_node, _gpus, gres),
            (caps.cpus, total.cpus, job.cpus_per_node, _cpus, cpu),
            (caps.mem_mb, total.mem_mb, job.mem_mb, _memory, mem),
        )
        for cap, asked, per_node, say, reason in sized:
            if cap is not None and asked > cap:
                problems.append(
                    f"{POLICY}: {label} allows at most {say(cap)} per job, the job asks "
                    f"{say(asked)}{_spread(job, per_node, say)}; ask for at most {say(cap)} "
                    f"in all ({reason.value})"
                )
        if caps.wall_s is not None and job.time_limit_s > caps.wall_s:
            limit = format_slurm_time(caps.wall_s)
            problems.append(
                f"{POLICY}: {label} allows a time limit of at most {limit}, the job asks "
                f"{format_slurm_time(job.time_limit_s)}; ask for -t {limit} or less "
                f"({wall.value})"
            )
    return problems


def aggregate_cap_problems(job: JobRequest, limits: Limits) -> list[str]:
    """Caps on what a user, a QOS or an account may hold at once that the job alone exceeds."""
    scopes: list[tuple[str, Caps, tuple[R, R, R], R]] = []
    qos = limits.qos.get(job.qos)
    if qos is not None:
        scopes.append(
            (
                f"QOS {job.qos!r} lets one user hold",
                qos.per_user,
                _QOS_USER,
                R.QOS_MAX_JOBS_PER_USER,
            )
        )
        scopes.append(
            (
                f"all jobs of QOS {job.qos!r} together may hold",
                qos.group,
                _QOS_GROUP,
                R.QOS_GRP_JOBS,
            )
        )
    user = limits.for_user(job.user).total
    scopes.append((f"user {job.user!r} may hold", user, _ASSOC, R.ASSOC_MAX_JOBS))
    account = limits.accounts.get(job.account)
    if account is not None:
        scopes.append((f"account {job.account!r} may hold", account, _ASSOC, R.ASSOC_GRP_JOBS))
    total = job.total
    problems = []
    for label, caps, (gres, cpu, mem), jobs in scopes:
        sized = (
            (caps.gpus, total.gpus, _gpus, gres),
            (caps.cpus, total.cpus, _cpus, cpu),
            (caps.mem_mb, total.mem_mb, _memory, mem),
        )
        for cap, asked, say, reason in sized:
            if cap is not None and asked > 0 and asked > cap:
                problems.append(
                    f"{POLICY}: {label} at most {say(cap)} at once and this job alone asks "
                    f"{say(asked)}, so it could never start; ask for at most {say(cap)} "
                    f"({reason.value})"
                )
        if caps.running_jobs == 0:
            problems.append(
                f"{POLICY}: {label} no running jobs (its cap is 0), so this job could never "
                f"start; use another QOS or account, or ask an administrator ({jobs.value})"
            )
    return problems


def submit_problems(job: JobRequest, limits: Limits, active: Sequence[JobRequest]) -> list[str]:
    """Submit caps (pending + running jobs) that ``active`` already fills."""
    others = [other for other in active if other.job_id != job.job_id]
    scopes: list[tuple[int | None, str, Callable[[JobRequest], bool], str]] = []
    qos = limits.qos.get(job.qos)
    if qos is not None:
        scopes.append(
            (
                qos.per_user.submitted_jobs,
                f"user {job.user!r} may have in QOS {job.qos!r}",
                lambda other: other.qos == job.qos and other.user == job.user,
                R.QOS_MAX_SUBMIT_PER_USER.value,
            )
        )
        scopes.append(
            (
                qos.group.submitted_jobs,
                f"QOS {job.qos!r} takes",
                lambda other: other.qos == job.qos,
                QOS_GRP_SUBMIT,
            )
        )
    scopes.append(
        (
            limits.for_user(job.user).total.submitted_jobs,
            f"user {job.user!r} may have",
            lambda other: other.user == job.user,
            R.ASSOC_MAX_SUBMIT.value,
        )
    )
    account = limits.accounts.get(job.account)
    if account is not None:
        scopes.append(
            (
                account.submitted_jobs,
                f"account {job.account!r} may have",
                lambda other: other.account == job.account,
                R.ASSOC_GRP_SUBMIT.value,
            )
        )
    problems = []
    for cap, label, counts, reason in scopes:
        if cap is None:
            continue
        held = sum(1 for other in others if counts(other))
        if held + 1 > cap:
            problems.append(
                f"{POLICY}: {label} at most {cap} jobs pending or running and has {held} "
                f"already; wait for some to end or cancel some ({reason})"
            )
    return problems
