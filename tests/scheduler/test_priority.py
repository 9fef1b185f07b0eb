"""Tables for `scheduler.priority`: one test per multifactor factor, the formula cited with each
row, holds, nice, the floor, the sprio golden of SLURM-BEHAVIOUR.md, determinism and purity."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from scheduler.fairshare import AccountShare, ShareTree, UsageRecord, UserShare
from scheduler.limits import Limits, Qos, UserLimits
from scheduler.model import (
    Allocation,
    Cluster,
    GpuDevice,
    Hold,
    JobRequest,
    Node,
    NodeAllocation,
    Partition,
    RunningJob,
)
from scheduler.policy import FairshareAlgorithm, Policy, PriorityWeights
from scheduler.priority import PriorityFactors, job_priorities, priority_factors
from scheduler.snapshot import Snapshot

DAY = 24 * 3600


def _node(name: str, cpus: int, gpus: int, partition: str) -> Node:
    devices = tuple(GpuDevice(index=i) for i in range(gpus))
    return Node(name=name, cpus=cpus, mem_mb=cpus * 2048, gpus=devices, partitions=(partition,))


# batch: n1 + n2 (16 CPUs, 32768 MiB, 4 GPUs), factor 1, default; gpu: n3 (16, 32768, 4), factor 4.
# The whole cluster: 32 CPUs, 65536 MiB, 8 GPUs -> billing rate 32 + 64 * 0.25 + 8 * 10 = 128.
CLUSTER = Cluster(
    nodes=(_node("n1", 8, 2, "batch"), _node("n2", 8, 2, "batch"), _node("n3", 16, 4, "gpu")),
    partitions=(
        Partition(name="batch", nodes=("n1", "n2"), default=True),
        Partition(name="gpu", nodes=("n3",), priority_job_factor=4),
    ),
)


_BASE = JobRequest(job_id=1, user="alice", account="lab", submit_time=0, time_limit_s=3600)
_ZERO = PriorityWeights(age=0, fairshare=0, job_size=0, partition=0, qos=0, assoc=0)


def _job(job_id: int = 1, **fields: Any) -> JobRequest:
    return replace(_BASE, job_id=job_id, **{"partition": "batch", **fields})


def _only(**weights: Any) -> Policy:
    """A policy whose weights are all 0 except those given."""
    return Policy(weights=replace(_ZERO, **weights))


def _factors(job: JobRequest, policy: Policy, now: int = 0, **snapshot: Any) -> PriorityFactors:
    snap = replace(Snapshot(cluster=CLUSTER, pending=(job,)), **snapshot)
    return priority_factors(snap, now, policy)[job.job_id]


# age = min(1, max(0, now - max(submit, begin)) / max_age); priority = int(1000 * age), >= 1
@pytest.mark.parametrize(
    ("submit", "begin", "now", "age", "priority"),
    [
        (0, None, 0, 0.0, 1),
        (0, None, DAY // 2, 0.5, 500),
        (0, None, DAY, 1.0, 1000),
        (0, None, 10 * DAY, 1.0, 1000),
        (0, DAY // 4, DAY // 2, 0.25, 250),  # eligible at begin
        (DAY // 2, 0, DAY, 0.5, 500),  # begin before submit: eligible at submit
        (0, DAY, DAY // 2, 0.0, 1),  # begin in the future
        (DAY, None, 0, 0.0, 1),  # submitted "after" now: no age
    ],
)
def test_age_factor(submit: int, begin: int | None, now: int, age: float, priority: int) -> None:
    policy = _only(age=1000, max_age_s=DAY)
    factors = _factors(_job(submit_time=submit, begin_time=begin), policy, now)
    assert factors.age == pytest.approx(age)
    assert factors.priority == priority


def test_fairshare_factor_golden_sprio_slurm_22_05() -> None:
    # sprio: bench2 FAIRSHARE 10000 (priority 10000), bench 3333 (priority 3333); age stayed 0.
    shares = ShareTree(
        accounts=(AccountShare(name="lab_a"), AccountShare(name="lab_b")),
        users=(
            UserShare(user="root", account="root"),
            UserShare(user="bench", account="lab_a"),
            UserShare(user="bench2", account="lab_b"),
        ),
    )
    usage = (UsageRecord(user="bench", account="lab_a", usage=638.0),)
    jobs = (
        _job(1, user="bench", account="lab_a", cpus_per_task=4, submit_time=75),
        _job(2, user="bench2", account="lab_b", cpus_per_task=4, submit_time=75),
    )
    policy = _only(age=1000, fairshare=10000, max_age_s=7 * DAY)
    snap = Snapshot(cluster=CLUSTER, pending=jobs, shares=shares, usage=usage)
    factors = priority_factors(snap, 76, policy)
    assert factors[1].fairshare == pytest.approx(1 / 3)
    assert factors[2].fairshare == 1.0
    assert job_priorities(snap, 76, policy) == {1: 3333, 2: 10000}


@pytest.mark.parametrize("algorithm", list(FairshareAlgorithm))
def test_fairshare_factor_for_a_user_without_association(algorithm: FairshareAlgorithm) -> None:
    # Nobody has usage: the implicit association gets the top factor under both algorithms.
    policy = Policy(fairshare=algorithm, weights=_only(fairshare=100).weights)
    factors = _factors(_job(user="newcomer", account="nolab"), policy)
    assert (factors.fairshare, factors.priority) == (1.0, 100)


def test_fairshare_counts_the_users_of_running_jobs() -> None:
    # carol (account "other", no usage) only runs: she still counts as a user association, so
    # alice (lab, all usage; lab LevelFS (1/2)/1 below other's inf) ranks 1 of 2, not 1 of 1.
    carol = _job(9, user="carol", account="other")
    running = RunningJob(
        request=carol,
        allocation=Allocation(nodes=(NodeAllocation(node="n1", cpus=1, mem_mb=0),)),
        start_time=0,
    )
    usage = (UsageRecord(user="alice", account="lab", usage=100.0),)
    assert _factors(_job(), _only(fairshare=100), usage=usage).fairshare == 1.0
    factors = _factors(_job(), _only(fairshare=100), running=(running,), usage=usage)
    assert (factors.fairshare, factors.priority) == (0.5, 50)


# job_size = min(1, billing_rate(job total) / billing_rate(cluster) = 128); favor_small: 1 - that
@pytest.mark.parametrize(
    ("fields", "size"),
    [
        ({"cpus_per_task": 4}, 4 / 128),
        ({"mem_mb": 4096}, (1 + 1) / 128),
        ({"gpus_per_node": 1}, (1 + 10) / 128),
        ({"nodes": 2, "tasks": 4, "gpus_per_node": 2}, (4 + 40) / 128),
        ({"nodes": 4, "cpus_per_task": 8, "gpus_per_node": 4}, 1.0),  # more than the cluster
    ],
)
def test_job_size_factor(fields: dict[str, int], size: float) -> None:
    big = _factors(_job(**fields), _only(job_size=1000))
    small = _factors(_job(**fields), _only(job_size=1000, favor_small=True))
    assert big.job_size == pytest.approx(size)
    assert small.job_size == pytest.approx(1 - size)
    assert big.priority == max(1, int(1000 * big.job_size))


# partition = priority_job_factor / max over partitions (4)
@pytest.mark.parametrize(
    ("partition", "factor"), [("batch", 0.25), ("gpu", 1.0), ("", 0.25), ("nowhere", 0.0)]
)
def test_partition_factor(partition: str, factor: float) -> None:
    factors = _factors(_job(partition=partition), _only(partition=1000))
    assert (factors.partition, factors.priority) == (factor, max(1, int(1000 * factor)))


def test_partition_factor_is_zero_when_every_factor_is_zero() -> None:
    flat = Cluster(
        nodes=CLUSTER.nodes,
        partitions=(Partition(name="batch", nodes=("n1",), priority_job_factor=0),),
    )
    snap = Snapshot(cluster=flat, pending=(_job(),))
    assert priority_factors(snap, 0, _only(partition=1000))[1].partition == 0.0


QOS_LIMITS = Limits(
    qos={"normal": Qos(name="normal", priority=10), "high": Qos(name="high", priority=40)}
)


# qos = QOS priority / max QOS priority (40); unknown QOS or max 0 -> 0
@pytest.mark.parametrize(
    ("limits", "qos", "factor"),
    [
        (QOS_LIMITS, "normal", 0.25),
        (QOS_LIMITS, "high", 1.0),
        (QOS_LIMITS, "missing", 0.0),
        (Limits(), "normal", 0.0),
    ],
)
def test_qos_factor(limits: Limits, qos: str, factor: float) -> None:
    policy = Policy(weights=_only(qos=2000).weights, limits=limits)
    factors = _factors(_job(qos=qos), policy)
    assert (factors.qos, factors.priority) == (factor, max(1, int(2000 * factor)))


# assoc = for_user(user).priority / max(users' priorities, default user's priority)
@pytest.mark.parametrize(
    ("limits", "user", "factor"),
    [
        (
            Limits(users={"alice": UserLimits(priority=50)}, default_user=UserLimits(priority=25)),
            "alice",
            1.0,
        ),
        (
            Limits(users={"alice": UserLimits(priority=50)}, default_user=UserLimits(priority=25)),
            "bob",
            0.5,
        ),
        (
            Limits(users={"alice": UserLimits(priority=10)}, default_user=UserLimits(priority=40)),
            "alice",
            0.25,
        ),
        (Limits(users={"alice": UserLimits(priority=0)}), "alice", 0.0),
        (Limits(), "bob", 0.0),
    ],
)
def test_assoc_factor(limits: Limits, user: str, factor: float) -> None:
    policy = Policy(weights=_only(assoc=1000).weights, limits=limits)
    factors = _factors(_job(user=user), policy)
    assert (factors.assoc, factors.priority) == (factor, max(1, int(1000 * factor)))


# tres[k] = min(1, job total of k / total of k over the partition's nodes); sorted by name
@pytest.mark.parametrize(
    ("fields", "tres"),
    [
        # gpu partition: 16 CPUs, 32768 MiB, 4 GPUs
        (
            {"partition": "gpu", "cpus_per_task": 4, "gpus_per_node": 2},
            (("cpu", 0.25), ("gpu", 0.5)),
        ),
        ({"partition": "gpu", "mem_mb": 8192}, (("cpu", 1 / 16), ("gpu", 0.0))),
        # batch partition: 16 CPUs over n1 + n2; 2 nodes x 8 CPUs = all of them
        ({"nodes": 2, "tasks": 2, "cpus_per_task": 8}, (("cpu", 1.0), ("gpu", 0.0))),
        ({"nodes": 2, "tasks": 2, "cpus_per_task": 16}, (("cpu", 1.0), ("gpu", 0.0))),  # capped
        ({"partition": "nowhere", "cpus_per_task": 4}, (("cpu", 0.0), ("gpu", 0.0))),
    ],
)
def test_tres_factor(fields: dict[str, Any], tres: tuple[tuple[str, float], ...]) -> None:
    factors = _factors(_job(**fields), _only(tres={"gpu": 2000, "cpu": 1000}))
    assert factors.tres == tres
    expected = int(1000 * tres[0][1] + 2000 * tres[1][1])
    assert factors.priority == max(1, expected)


def test_tres_factor_for_memory_and_unweighted_names() -> None:
    # mem: 8192 of 32768 MiB in gpu = 0.25; only weighted names appear
    factors = _factors(_job(partition="gpu", mem_mb=8192), _only(tres={"mem": 400}))
    assert (factors.tres, factors.priority) == ((("mem", 0.25),), 100)
    assert _factors(_job(), _only()).tres == ()


def test_partition_nodes_include_nodes_naming_the_partition_once() -> None:
    # "gpu" lists n3; n4 names "gpu" itself; n3 counted once: 16 + 16 CPUs.
    extra = _node("n4", 16, 0, "gpu")
    cluster = Cluster(nodes=(*CLUSTER.nodes, extra), partitions=CLUSTER.partitions)
    snap = Snapshot(cluster=cluster, pending=(_job(partition="gpu", cpus_per_task=8),))
    assert priority_factors(snap, 0, _only(tres={"cpu": 1}))[1].tres == (("cpu", 0.25),)


def test_priority_is_the_weighted_sum_truncated_minus_nice() -> None:
    # age 0.5 * 1000 + fairshare 1.0 * 10000 + size (4/128) * 500 + partition 1.0 * 1000
    # + qos 0.25 * 2000 + assoc 0 + tres cpu (4/16) * 100 = 500 + 10000 + 15.625 + 1000 + 500 + 25
    policy = Policy(weights=PriorityWeights(max_age_s=DAY, tres={"cpu": 100}), limits=QOS_LIMITS)
    factors = _factors(_job(partition="gpu", cpus_per_task=4, nice=40), policy, now=DAY // 2)
    assert factors.priority == int(500 + 10000 + 15.625 + 1000 + 500 + 25) - 40 == 12000
    assert factors.nice == 40


@pytest.mark.parametrize(
    ("nice", "priority"), [(0, 1000), (100, 900), (-100, 1100), (999, 1), (5000, 1)]
)
def test_nice_lowers_priority_down_to_the_floor_of_one(nice: int, priority: int) -> None:
    assert _factors(_job(partition="gpu", nice=nice), _only(partition=1000)).priority == priority


def test_priority_is_at_least_one_even_with_no_weight() -> None:
    assert _factors(_job(), _only()).priority == 1


@pytest.mark.parametrize("hold", [Hold.USER, Hold.ADMIN])
def test_a_held_job_has_priority_zero(hold: Hold) -> None:
    factors = _factors(_job(hold=hold, partition="gpu"), _only(partition=1000))
    assert (factors.partition, factors.priority) == (1.0, 0)
    assert _factors(_job(hold=hold, admin_priority=777), _only()).priority == 0


@pytest.mark.parametrize("admin", [0, 5, 123456])
def test_admin_priority_pins_the_value(admin: int) -> None:
    job = _job(admin_priority=admin, nice=50, partition="gpu")
    assert _factors(job, _only(partition=1000)).priority == admin


def test_jobs_of_one_shape_still_differ_by_age_nice_and_user() -> None:
    policy = Policy(
        weights=_only(age=1000, fairshare=1000, max_age_s=100).weights,
    )
    usage = (UsageRecord(user="bob", account="lab", usage=10.0),)
    jobs = (
        _job(1, submit_time=0),
        _job(2, submit_time=50),
        _job(3, submit_time=0, nice=10),
        _job(4, submit_time=0, user="bob"),
    )
    snap = Snapshot(cluster=CLUSTER, pending=jobs, usage=usage)
    # alice (no usage) ranks 2 of 2 -> 1.0; bob 1 of 2 -> 0.5
    assert job_priorities(snap, 100, policy) == {1: 2000, 2: 1500, 3: 1990, 4: 1500}


def _busy_snapshot() -> Snapshot:
    jobs = tuple(
        _job(
            i,
            user=f"u{i % 7}",
            account=f"lab{i % 3}",
            partition=("batch", "gpu", "")[i % 3],
            submit_time=i * 10,
            cpus_per_task=1 + i % 4,
            gpus_per_node=i % 3,
            nice=i % 5,
            hold=Hold.USER if i % 11 == 0 else Hold.NONE,
        )
        for i in range(1, 60)
    )
    usage = tuple(UsageRecord(user=f"u{i}", account=f"lab{i % 3}", usage=i * 7.0) for i in range(7))
    shares = ShareTree(accounts=(AccountShare(name="lab0", shares=3),))
    return Snapshot(cluster=CLUSTER, pending=jobs, usage=usage, shares=shares)


@pytest.mark.parametrize("algorithm", list(FairshareAlgorithm))
def test_same_input_same_priorities_in_any_order(algorithm: FairshareAlgorithm) -> None:
    snap = _busy_snapshot()
    policy = Policy(fairshare=algorithm, weights=PriorityWeights(tres={"gpu": 500}))
    first = priority_factors(snap, 1000, policy)
    reversed_snap = Snapshot(
        cluster=snap.cluster, pending=snap.pending[::-1], usage=snap.usage, shares=snap.shares
    )
    assert priority_factors(reversed_snap, 1000, policy) == first
    assert job_priorities(snap, 1000, policy) == {i: f.priority for i, f in first.items()}
    assert set(first) == {job.job_id for job in snap.pending}


def test_factors_lie_in_zero_to_one_and_inputs_are_not_mutated() -> None:
    snap, policy = _busy_snapshot(), Policy(weights=PriorityWeights(tres={"cpu": 1, "gpu": 1}))
    before = copy.deepcopy((snap, policy))
    for factors in priority_factors(snap, 10**6, policy).values():
        values: tuple[float, ...] = (
            factors.age,
            factors.fairshare,
            factors.job_size,
            factors.partition,
        )
        values += (factors.qos, factors.assoc, *(v for _, v in factors.tres))
        assert all(0.0 <= value <= 1.0 for value in values)
    assert (snap, policy) == before


def test_no_pending_jobs_no_priorities() -> None:
    assert job_priorities(Snapshot(cluster=CLUSTER), 0, Policy()) == {}
