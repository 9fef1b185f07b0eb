"""LimitTally and per_job_reason: the reason word of each scope, precedence, and what is exempt."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.limits import Caps, JobCaps, Limits, LimitTally, Qos, UserLimits, per_job_reason
from scheduler.model import JobRequest, Resources
from scheduler.plan import PendingReason as R


def job(job_id: int = 1, **values: Any) -> JobRequest:
    fields: dict[str, Any] = {
        "job_id": job_id,
        "user": "ann",
        "submit_time": 0,
        "time_limit_s": 600,
        "partition": "debug",
        "account": "lab",
    }
    fields.update(values)
    return JobRequest(**fields)


def limits_with(scope: str, caps: Caps) -> Limits:
    """Limits where only ``scope`` has ``caps``."""
    if scope == "qos_user":
        return Limits(qos={"normal": Qos(name="normal", per_user=caps)})
    if scope == "qos_group":
        return Limits(qos={"normal": Qos(name="normal", group=caps)})
    if scope == "user":
        return Limits(users={"ann": UserLimits(total=caps)})
    return Limits(accounts={"lab": caps})


TWO = {"gpus": Resources(gpus=2), "cpus": Resources(cpus=2), "mem_mb": Resources(mem_mb=2)}
ONE_MORE = {"gpus": {"gpus_per_node": 1}, "cpus": {"cpus_per_task": 1}, "mem_mb": {"mem_mb": 1}}


@pytest.mark.parametrize(
    ("scope", "resource", "reason"),
    [
        ("qos_user", "gpus", R.QOS_MAX_GRES_PER_USER),  # sacctmgr MaxTRESPerUser=gres/gpu=N
        ("qos_user", "cpus", R.QOS_MAX_CPU_PER_USER),
        ("qos_user", "mem_mb", R.QOS_MAX_MEM_PER_USER),
        ("qos_group", "gpus", R.QOS_GRP_GRES),  # GrpTRES on the QOS
        ("qos_group", "cpus", R.QOS_GRP_CPU),
        ("qos_group", "mem_mb", R.QOS_GRP_MEM),
        ("user", "gpus", R.ASSOC_GRP_GRES),  # GrpTRES on the user's association
        ("user", "cpus", R.ASSOC_GRP_CPU),
        ("user", "mem_mb", R.ASSOC_GRP_MEM),
        ("account", "gpus", R.ASSOC_GRP_GRES),  # GrpTRES on the account
        ("account", "cpus", R.ASSOC_GRP_CPU),
        ("account", "mem_mb", R.ASSOC_GRP_MEM),
    ],
)
def test_each_scope_says_its_reason_when_full(scope: str, resource: str, reason: R) -> None:
    tally = LimitTally(limits_with(scope, Caps(**{resource: 2})))
    tally.charge(job(99), TWO[resource])
    extra = job(**ONE_MORE[resource])
    assert tally.reason(extra) is reason


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        ("qos_user", R.QOS_MAX_JOBS_PER_USER),
        ("qos_group", R.QOS_GRP_JOBS),
        ("user", R.ASSOC_MAX_JOBS),
        ("account", R.ASSOC_GRP_JOBS),
    ],
)
def test_running_job_caps(scope: str, reason: R) -> None:
    tally = LimitTally(limits_with(scope, Caps(running_jobs=2)))
    tally.charge(job(98), Resources(cpus=1))
    assert tally.reason(job()) is None  # one running, room for a second
    tally.charge(job(99), Resources(cpus=1))
    assert tally.reason(job()) is reason


def test_a_cap_may_be_filled_exactly() -> None:
    tally = LimitTally(limits_with("user", Caps(gpus=4)))
    tally.charge(job(99), Resources(gpus=2))
    assert tally.reason(job(gpus_per_node=2)) is None
    assert tally.reason(job(gpus_per_node=3)) is R.ASSOC_GRP_GRES


def test_cpu_only_job_is_not_blocked_by_a_full_gpu_cap() -> None:
    for scope in ("qos_user", "qos_group", "user", "account"):
        tally = LimitTally(limits_with(scope, Caps(gpus=2)))
        tally.charge(job(99), Resources(cpus=1, gpus=2))
        assert tally.reason(job(cpus_per_task=8, mem_mb=1024)) is None
        assert tally.reason(job(gpus_per_node=1)) is not None


def test_qos_is_checked_before_the_association() -> None:
    limits = Limits(
        qos={"normal": Qos(name="normal", per_user=Caps(gpus=2), group=Caps(gpus=2))},
        users={"ann": UserLimits(total=Caps(gpus=2))},
        accounts={"lab": Caps(gpus=2)},
    )
    tally = LimitTally(limits)
    tally.charge(job(99), Resources(gpus=2))
    assert tally.reason(job(gpus_per_node=1)) is R.QOS_MAX_GRES_PER_USER
    # without the per-user QOS cap, the QOS group cap is next, then the user, then the account
    order = [R.QOS_GRP_GRES, R.ASSOC_GRP_GRES, R.ASSOC_GRP_GRES]
    variants = [
        Limits(
            qos={"normal": Qos(name="normal", group=Caps(gpus=2))},
            users=limits.users,
            accounts=limits.accounts,
        ),
        Limits(users=limits.users, accounts=limits.accounts),
        Limits(accounts=limits.accounts),
    ]
    for variant, expected in zip(variants, order, strict=True):
        tally = LimitTally(variant)
        tally.charge(job(99), Resources(gpus=2))
        assert tally.reason(job(gpus_per_node=1)) is expected


def test_qos_per_user_counts_each_user_and_group_counts_everyone() -> None:
    tally = LimitTally(Limits(qos={"normal": Qos(name="normal", per_user=Caps(gpus=2))}))
    tally.charge(job(99, user="bob"), Resources(gpus=2))
    assert tally.reason(job(gpus_per_node=2)) is None  # ann holds nothing
    tally = LimitTally(Limits(qos={"normal": Qos(name="normal", group=Caps(gpus=2))}))
    tally.charge(job(99, user="bob"), Resources(gpus=2))
    assert tally.reason(job(gpus_per_node=1)) is R.QOS_GRP_GRES


def test_other_qos_and_accounts_do_not_count() -> None:
    limits = Limits(
        qos={"normal": Qos(name="normal", group=Caps(gpus=2)), "low": Qos(name="low")},
        accounts={"lab": Caps(gpus=2)},
    )
    tally = LimitTally(limits)
    tally.charge(job(99, qos="low", account="other"), Resources(gpus=4))
    assert tally.reason(job(gpus_per_node=2)) is None


def test_discharge_gives_back_what_charge_took() -> None:
    tally = LimitTally(limits_with("user", Caps(gpus=2, running_jobs=1)))
    running = job(99, gpus_per_node=2)
    tally.charge(running, Resources(gpus=2))
    assert tally.reason(job(gpus_per_node=1)) is R.ASSOC_GRP_GRES
    tally.discharge(running, Resources(gpus=2))
    assert tally.reason(job(gpus_per_node=1)) is None


def test_users_without_their_own_limits_get_the_default_user() -> None:
    tally = LimitTally(Limits(default_user=UserLimits(total=Caps(gpus=1))))
    tally.charge(job(99, user="zoe"), Resources(gpus=1))
    assert tally.reason(job(user="zoe", gpus_per_node=1)) is R.ASSOC_GRP_GRES
    assert tally.reason(job(user="yan", gpus_per_node=1)) is None  # each user has their own


def test_an_unknown_qos_has_no_caps_here() -> None:
    tally = LimitTally(Limits(qos={"normal": Qos(name="normal", per_user=Caps(gpus=0))}))
    assert tally.reason(job(qos="gold", gpus_per_node=1)) is None  # eligibility says InvalidQOS


@pytest.mark.parametrize(
    ("qos_caps", "user_caps", "values", "reason"),
    [
        (JobCaps(gpus=2), JobCaps(), {"gpus_per_node": 3}, R.QOS_MAX_GRES_PER_JOB),
        (JobCaps(cpus=2), JobCaps(), {"cpus_per_task": 3}, R.QOS_MAX_CPU_PER_JOB),
        (JobCaps(mem_mb=2), JobCaps(), {"mem_mb": 3}, R.QOS_MAX_MEM_PER_JOB),
        (JobCaps(wall_s=60), JobCaps(), {"time_limit_s": 61}, R.QOS_MAX_WALL_PER_JOB),
        (JobCaps(), JobCaps(gpus=2), {"gpus_per_node": 3}, R.ASSOC_MAX_GRES_PER_JOB),
        (JobCaps(), JobCaps(cpus=2), {"cpus_per_task": 3}, R.ASSOC_MAX_CPU_PER_JOB),
        (JobCaps(), JobCaps(mem_mb=2), {"mem_mb": 3}, R.ASSOC_MAX_MEM_PER_JOB),
        (JobCaps(), JobCaps(wall_s=60), {"time_limit_s": 61}, R.ASSOC_MAX_WALL_PER_JOB),
        # the QOS before the user's association, GPUs before CPUs before memory before time
        (
            JobCaps(cpus=1),
            JobCaps(gpus=1),
            {"gpus_per_node": 2, "cpus_per_task": 2},
            R.QOS_MAX_CPU_PER_JOB,
        ),
        (
            JobCaps(cpus=1, gpus=1),
            JobCaps(),
            {"gpus_per_node": 2, "cpus_per_task": 2},
            R.QOS_MAX_GRES_PER_JOB,
        ),
        # totals over all nodes: 2 nodes x 2 GPUs = 4 > 3
        (
            JobCaps(gpus=3),
            JobCaps(),
            {"nodes": 2, "tasks": 2, "gpus_per_node": 2},
            R.QOS_MAX_GRES_PER_JOB,
        ),
        (
            JobCaps(gpus=4, cpus=2, mem_mb=2, wall_s=60),
            JobCaps(),
            {"gpus_per_node": 4, "cpus_per_task": 2, "mem_mb": 2, "time_limit_s": 60},
            None,
        ),
    ],
)
def test_per_job_reason(
    qos_caps: JobCaps, user_caps: JobCaps, values: dict[str, Any], reason: R | None
) -> None:
    limits = Limits(
        qos={"normal": Qos(name="normal", per_job=qos_caps)},
        default_user=UserLimits(per_job=user_caps),
    )
    assert per_job_reason(job(**values), limits) is reason
    assert LimitTally(limits).reason(job(**values)) is reason  # the tally says it first


def test_per_job_reason_comes_before_aggregate_caps() -> None:
    limits = Limits(
        qos={"normal": Qos(name="normal", per_job=JobCaps(gpus=1), per_user=Caps(gpus=0))}
    )
    assert LimitTally(limits).reason(job(gpus_per_node=2)) is R.QOS_MAX_GRES_PER_JOB
