"""validate(): every check's problem, the wording users act on, and requests that are fine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.clusterconfig import cluster_from_mapping
from scheduler.errors import InvalidRequest
from scheduler.limits import per_job_reason
from scheduler.model import JobRequest, Partition
from scheduler.quotas import limits_from_mapping
from scheduler.submitlimits import job_cap_problems
from scheduler.validate import check, validate

HOUR = 3600
GIB = 1024

CLUSTER = cluster_from_mapping(
    {
        "nodes": [
            {"name": "c[1-2]", "cpus": 16, "mem": "64G", "features": ["ssd"]},
            {
                "name": "g1",
                "cpus": 32,
                "mem": "256G",
                "gpus": 8,
                "gpu_model": "a100",
                "features": ["nvlink"],
            },
            {"name": "g2", "cpus": 32, "mem": "256G", "gpus": 8, "gpu_model": "l40s"},
        ],
        "partitions": [
            {"name": "cpu", "nodes": "c[1-2]", "max_time": "1-00:00:00"},
            {"name": "gpu", "nodes": "g[1-2]", "max_time": "2-00:00:00", "max_nodes": 2},
        ],
    }
)
DOWN_G2 = replace(
    CLUSTER,
    nodes=tuple(
        replace(node, state=node.state.DOWN) if node.name == "g2" else node
        for node in CLUSTER.nodes
    ),
)
LIMITS = limits_from_mapping(
    {
        "qos": {
            "normal": {"max_gpus_per_job": 12, "max_wall": "3-00:00:00"},
            "short": {
                "max_gpus_per_user": 2,
                "max_submit_per_user": 2,
                "grp_submit": 3,
                "max_cpus_per_job": 8,
                "grp_cpus": 64,
            },
            "zero": {"max_jobs_per_user": 0},
        },
        "accounts": {"lab": {"max_gpus": 10, "max_submit": 4}, "tiny": {"max_mem": "1G"}},
        "defaults": {"max_gpus": 16, "max_submit": 10},
        "users": {
            "sam": {
                "max_gpus": 2,
                "max_cpus_per_job": 4,
                "max_mem_per_job": "8G",
                "max_wall": "2:00:00",
            }
        },
    }
)


def job(**values: Any) -> JobRequest:
    fields: dict[str, Any] = {
        "job_id": 1,
        "user": "ann",
        "submit_time": 0,
        "time_limit_s": HOUR,
        "partition": "gpu",
        "account": "lab",
    }
    fields.update(values)
    return JobRequest(**fields)


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"partition": ""},  # the default partition (the first, "cpu") takes it
        {"partition": "cpu", "tasks": 16, "features": ("ssd",), "mem_mb": 64 * GIB},
        {"gpus_per_node": 8, "gpu_model": "a100", "tasks": 32},
        {"gpus_per_node": 4, "gpu_model": "l40s"},
        {"nodes": 2, "tasks": 2, "gpus_per_node": 4},  # both GPU nodes have 4
        {"time_limit_s": 2 * 86_400},  # exactly the partition's max_time
        {"user": "sam", "gpus_per_node": 2, "tasks": 4, "mem_mb": 8 * GIB, "time_limit_s": 7200},
        {"qos": "short", "gpus_per_node": 2, "cpus_per_task": 8},
        {"gpu_model": "h100"},  # a type matters only when GPUs are asked
        {"account": "nolimits"},
    ],
)
def test_requests_that_can_run(values: dict[str, Any]) -> None:
    assert validate(job(**values), CLUSTER, LIMITS) == ()
    check(job(**values), CLUSTER, LIMITS)


def test_a_down_node_may_come_back() -> None:
    assert validate(job(gpus_per_node=4, gpu_model="l40s"), DOWN_G2, LIMITS) == ()


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ({"nodes": 0}, ["Invalid node count: the job asks 0 nodes; ask for -N 1 or more"]),
        ({"nodes": 2, "tasks": 1}, ["Invalid task count: 1 task on 2 nodes leaves a node"]),
        ({"cpus_per_task": 0}, ["Invalid CPU count: 0 CPUs per task; ask for --cpus-per-task=1"]),
        ({"time_limit_s": 0}, ["Requested time limit is invalid (missing or exceeds some limit)"]),
        ({"mem_mb": -1}, ["Invalid memory request: -1 MiB; ask for --mem=0 or more"]),
        ({"gpus_per_node": -1}, ["Invalid generic resource (gres) specification"]),
        (
            {"partition": "nope"},
            ["Invalid partition name specified: 'nope'; the partitions are cpu, gpu"],
        ),
        ({"qos": "gold"}, ["Invalid qos specification: 'gold'; the QOS are normal, short, zero"]),
        (
            {"time_limit_s": 3 * 86_400},
            [
                (
                    "Requested time limit is invalid (missing or exceeds some limit): the job asks "
                    "3-00:00:00, partition 'gpu' allows at most 2-00:00:00; ask for -t 2-00:00:00 "
                    "or less"
                )
            ],
        ),
        (
            {"nodes": 3, "tasks": 3},
            [
                (
                    "Node count specification invalid: the job asks 3 nodes, partition 'gpu' "
                    "allows at most 2 per job; ask for -N 2 or fewer"
                )
            ],
        ),
        (
            {"gpus_per_node": 16},
            [
                (
                    "Requested node configuration is not available: the job asks 16 GPUs per node, "
                    "the largest node in partition 'gpu' has 8; ask for at most 8 GPUs per node or "
                    "more nodes"
                ),
                "QOS 'normal' allows at most 12 GPUs per job, the job asks 16 GPUs",
                "account 'lab' may hold at most 10 GPUs at once and this job alone asks 16 GPUs",
            ],
        ),
        (
            {"gpus_per_node": 9, "gpu_model": "l40s"},
            [
                (
                    "the job asks 9 GPUs of type 'l40s' per node, the largest node in partition "
                    "'gpu' has 8;"
                )
            ],
        ),
        (
            {"gpus_per_node": 1, "gpu_model": "h100"},
            [
                (
                    "the job asks GPUs of type 'h100', partition 'gpu' has GPUs of type a100, "
                    "l40s; ask for one of those types"
                )
            ],
        ),
        (
            {"partition": "cpu", "gpus_per_node": 1},
            [
                (
                    "the job asks 1 GPU per node, the nodes of partition 'cpu' have no GPUs; "
                    "submit to a partition with GPUs; partition 'gpu' has such nodes"
                )
            ],
        ),
        (
            {"tasks": 40},
            [
                (
                    "the job asks 40 CPUs per node (40 tasks x 1 CPU per task), the largest node "
                    "in partition 'gpu' has 32; ask for at most 32 CPUs per node or spread the "
                    "tasks"
                )
            ],
        ),
        (
            {"mem_mb": 512 * GIB},
            [
                (
                    "the job asks 512G of memory per node, the largest node in partition 'gpu' has "
                    "256G; ask for --mem=256G or less"
                )
            ],
        ),
        (
            {"features": ("ssd", "ib")},
            [
                (
                    "the job asks features ssd, ib, which no node in partition 'gpu' has (its "
                    "features: nvlink); drop them from --constraint"
                )
            ],
        ),
        (
            {"partition": "cpu", "features": ("ib",)},
            ["the job asks features ib, which no node in partition 'cpu' has (its features: ssd)"],
        ),
        (
            {"nodes": 2, "tasks": 2, "gpus_per_node": 5, "gpu_model": "a100", "mem_mb": GIB},
            [
                (
                    "Requested node configuration is not available: the job asks 2 nodes with "
                    "1 CPU, 1G of memory, 5 GPUs of type 'a100' each, only 1 of the 2 nodes of "
                    "partition 'gpu' has that much (g1); ask for fewer nodes or less per node"
                )
            ],
        ),
        (
            {"nodes": 2, "tasks": 4, "features": ("nvlink",)},
            [
                (
                    "the job asks 2 nodes with 2 CPUs, features nvlink each, only 1 of the 2 "
                    "nodes of partition 'gpu' has that much (g1)"
                )
            ],
        ),
        (
            {"partition": "cpu", "nodes": 3, "tasks": 3},
            [
                "the job asks 3 nodes, partition 'cpu' has 2; ask for -N 2 or fewer",
            ],
        ),
        (
            {"partition": "cpu", "nodes": 2, "tasks": 2, "cpus_per_task": 20},
            ["partition 'gpu' has such nodes"],
        ),
    ],
)
def test_problems(values: dict[str, Any], fragments: list[str]) -> None:
    problems = validate(job(**values), CLUSTER, LIMITS)
    text = "\n".join(problems)
    for fragment in fragments:
        assert fragment in text
    assert len(problems) == len(fragments)
    with pytest.raises(InvalidRequest) as caught:
        check(job(**values), CLUSTER, LIMITS)
    assert caught.value.problems == problems


POLICY = "Job violates accounting/QOS policy (job submit limit, user's size and/or time limits): "


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (
            {"qos": "short", "tasks": 16},
            (
                "QOS 'short' allows at most 8 CPUs per job, the job asks 16 CPUs; ask for at most "
                "8 CPUs in all (QOSMaxCpuPerJobLimit)"
            ),
        ),
        (
            {"nodes": 2, "tasks": 2, "gpus_per_node": 8, "account": "other"},
            (
                "QOS 'normal' allows at most 12 GPUs per job, the job asks 16 GPUs (8 GPUs per "
                "node on 2 nodes); ask for at most 12 GPUs in all (QOSMaxGRESPerJob)"
            ),
        ),
        (
            {"user": "sam", "mem_mb": 16 * GIB},
            (
                "user 'sam' allows at most 8G of memory per job, the job asks 16G of memory; ask "
                "for at most 8G of memory in all (AssocMaxMemPerJob)"
            ),
        ),
        (
            {"user": "sam", "time_limit_s": 3 * HOUR},
            (
                "user 'sam' allows a time limit of at most 2:00:00, the job asks 3:00:00; ask for "
                "-t 2:00:00 or less (AssocMaxWallDurationPerJobLimit)"
            ),
        ),
        (
            {"time_limit_s": 4 * 86_400, "partition": "big"},
            (
                "QOS 'normal' allows a time limit of at most 3-00:00:00, the job asks 4-00:00:00; "
                "ask for -t 3-00:00:00 or less (QOSMaxWallDurationPerJobLimit)"
            ),
        ),
        (
            {"user": "sam", "gpus_per_node": 1, "tasks": 5},
            (
                "user 'sam' allows at most 4 CPUs per job, the job asks 5 CPUs; ask for at most "
                "4 CPUs in all (AssocMaxCpuPerJobLimit)"
            ),
        ),
        (
            {"user": "sam", "gpus_per_node": 4},
            (
                "user 'sam' may hold at most 2 GPUs at once and this job alone asks 4 GPUs, so it "
                "could never start; ask for at most 2 GPUs (AssocGrpGRES)"
            ),
        ),
        (
            {"qos": "short", "gpus_per_node": 3},
            (
                "QOS 'short' lets one user hold at most 2 GPUs at once and this job alone asks "
                "3 GPUs, so it could never start; ask for at most 2 GPUs (QOSMaxGRESPerUser)"
            ),
        ),
        (
            {"account": "tiny", "mem_mb": 2 * GIB},
            (
                "account 'tiny' may hold at most 1G of memory at once and this job alone asks 2G "
                "of memory, so it could never start; ask for at most 1G of memory "
                "(AssocGrpMemLimit)"
            ),
        ),
        (
            {"nodes": 2, "tasks": 2, "gpus_per_node": 6, "partition": "big"},
            (
                "account 'lab' may hold at most 10 GPUs at once and this job alone asks 12 GPUs, "
                "so it could never start; ask for at most 10 GPUs (AssocGrpGRES)"
            ),
        ),
        (
            {"qos": "zero"},
            (
                "QOS 'zero' lets one user hold no running jobs (its cap is 0), so this job could "
                "never start; use another QOS or account, or ask an administrator "
                "(QOSMaxJobsPerUserLimit)"
            ),
        ),
    ],
)
def test_limit_problems(values: dict[str, Any], problem: str) -> None:
    big = replace(
        CLUSTER,
        partitions=(
            *CLUSTER.partitions,
            replace(CLUSTER.partitions[1], name="big", max_time_s=None),
        ),
    )
    assert validate(job(**values), big, LIMITS) == (POLICY + problem,)


def others(count: int, **values: Any) -> list[JobRequest]:
    return [job(job_id=100 + i, **values) for i in range(count)]


@pytest.mark.parametrize(
    ("values", "active", "problem"),
    [
        (
            {"account": ""},
            others(10, account=""),
            (
                "user 'ann' may have at most 10 jobs pending or running and has 10 already; wait "
                "for some to end or cancel some (AssocMaxSubmitJobLimit)"
            ),
        ),
        (
            {},
            others(4, user="bob"),
            (
                "account 'lab' may have at most 4 jobs pending or running and has 4 already; wait "
                "for some to end or cancel some (AssocGrpSubmitJobsLimit)"
            ),
        ),
        (
            {"qos": "short", "account": ""},
            others(2, qos="short", account=""),
            (
                "user 'ann' may have in QOS 'short' at most 2 jobs pending or running and has 2 "
                "already; wait for some to end or cancel some (QOSMaxSubmitJobPerUserLimit)"
            ),
        ),
        (
            {"qos": "short", "account": ""},
            others(3, qos="short", user="bob", account=""),
            (
                "QOS 'short' takes at most 3 jobs pending or running and has 3 already; wait for "
                "some to end or cancel some (QOSGrpSubmitJobsLimit)"
            ),
        ),
    ],
)
def test_submit_limits(values: dict[str, Any], active: Sequence[JobRequest], problem: str) -> None:
    assert validate(job(**values), CLUSTER, LIMITS, active=active) == (POLICY + problem,)
    # one job fewer leaves room for this one
    assert validate(job(**values), CLUSTER, LIMITS, active=active[1:]) == ()


def test_the_request_itself_is_not_counted_among_active_jobs() -> None:
    active = [*others(3), job()]  # job() has the request's own id
    assert validate(job(), CLUSTER, LIMITS, active=active) == ()


def test_a_submit_cap_of_zero_refuses_every_job() -> None:
    limits = limits_from_mapping({"defaults": {"max_submit": 0}})
    (problem,) = validate(job(account=""), CLUSTER, limits)
    assert "may have at most 0 jobs pending or running and has 0 already" in problem


def test_cpu_only_job_is_not_refused_by_a_gpu_cap() -> None:
    limits = limits_from_mapping({"defaults": {"max_gpus": 0}})
    assert validate(job(tasks=4), CLUSTER, limits) == ()
    assert "AssocGrpGRES" in validate(job(gpus_per_node=1), CLUSTER, limits)[0]


def test_shape_problems_skip_the_checks_that_need_a_shape() -> None:
    problems = validate(job(nodes=0, partition="nope", qos="gold"), CLUSTER, LIMITS)
    assert [problem.split(":")[0] for problem in problems] == [
        "Invalid node count",
        "Invalid partition name specified",
        "Invalid qos specification",
    ]


def test_a_cluster_without_partitions() -> None:
    empty = replace(CLUSTER, partitions=())
    (problem,) = validate(job(partition=""), empty, LIMITS)
    assert problem.startswith("No partition specified or system default partition")
    (problem,) = validate(job(), empty, LIMITS)
    assert "the partitions are none" in problem


_CAPS = st.none() | st.integers(min_value=0, max_value=8)


@given(
    qos_caps=st.tuples(_CAPS, _CAPS, _CAPS, _CAPS),
    user_caps=st.tuples(_CAPS, _CAPS, _CAPS, _CAPS),
    nodes=st.integers(min_value=1, max_value=3),
    gpus=st.integers(min_value=0, max_value=4),
    tasks=st.integers(min_value=1, max_value=4),
    mem=st.integers(min_value=0, max_value=4),
    minutes=st.integers(min_value=1, max_value=8),
)
def test_job_cap_problems_agree_with_per_job_reason(
    qos_caps: tuple[int | None, ...],
    user_caps: tuple[int | None, ...],
    nodes: int,
    gpus: int,
    tasks: int,
    mem: int,
    minutes: int,
) -> None:
    def table(caps: tuple[int | None, ...]) -> dict[str, Any]:
        wall = None if caps[3] is None else caps[3] + 1  # minutes, >= 1
        return {
            "max_gpus_per_job": caps[0],
            "max_cpus_per_job": caps[1],
            "max_mem_per_job": caps[2],
            "max_wall": wall,
        }

    limits = limits_from_mapping({"qos": {"normal": table(qos_caps)}, "defaults": table(user_caps)})
    request = job(
        nodes=nodes,
        tasks=tasks * nodes,
        gpus_per_node=gpus,
        mem_mb=mem,
        time_limit_s=minutes * 60,
    )
    problems = job_cap_problems(request, limits)
    reason = per_job_reason(request, limits)
    if reason is None:
        assert problems == []
    else:
        assert problems[0].endswith(f"({reason.value})")


def test_a_partition_without_nodes() -> None:
    empty = replace(CLUSTER, partitions=(Partition(name="empty", nodes=()),))
    (problem,) = validate(job(partition="empty"), empty, LIMITS)
    assert problem == (
        "Requested node configuration is not available: partition 'empty' has no nodes; "
        "submit to another partition"
    )
