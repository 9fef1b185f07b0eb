"""berth.toml's [[nodes]] and [[partitions]] -> Cluster: the shipped examples, forms, errors."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from scheduler.clusterconfig import cluster_from_mapping
from scheduler.errors import ConfigError
from scheduler.model import NodeState
from scheduler.policy import BackfillMode, policy_from_mapping

CONFIG = Path(__file__).resolve().parents[2] / "config"
DAY = 86_400


def load(name: str) -> dict[str, Any]:
    with (CONFIG / name).open("rb") as file:
        return tomllib.load(file)


def test_lab_box_example() -> None:
    document = load("berth.toml")
    cluster = cluster_from_mapping(document, source="berth.toml")
    (node,) = cluster.nodes
    assert (node.name, node.cpus, node.mem_mb) == ("labbox", 128, 1024 * 1024)
    assert [gpu.index for gpu in node.gpus] == list(range(8))
    assert [gpu.link_group for gpu in node.gpus] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert {gpu.model for gpu in node.gpus} == {"a100"}
    assert {gpu.memory_mb for gpu in node.gpus} == {80 * 1024}
    assert node.features == ("nvlink",)
    assert node.partitions == ("gpu", "debug")
    gpu, debug = cluster.partitions
    assert cluster.default_partition == gpu
    assert (gpu.max_time_s, gpu.default_time_s, gpu.max_nodes_per_job) == (2 * DAY, 4 * 3600, None)
    assert (debug.max_time_s, debug.default_time_s, debug.max_nodes_per_job) == (1800, 600, 1)
    assert (debug.priority_job_factor, debug.default) == (2, False)
    policy = policy_from_mapping(document["policy"])
    assert policy.backfill is BackfillMode.EASY
    assert policy.bf_max_job_test == 1000


def test_slurm_4x4_example() -> None:
    document = load("examples/cluster-4x4.toml")
    cluster = cluster_from_mapping(document)
    assert [node.name for node in cluster.nodes] == ["n1", "n2", "n3", "n4"]
    assert all(node.cpus == 4 and len(node.gpus) == 4 for node in cluster.nodes)
    assert all(node.partitions == ("debug",) for node in cluster.nodes)
    (debug,) = cluster.partitions
    assert (debug.name, debug.default, debug.max_time_s) == ("debug", True, None)
    assert debug.nodes == ("n1", "n2", "n3", "n4")
    assert debug.default_time_s == 3600  # no max_time and no default_time: one hour
    assert policy_from_mapping(document["policy"]).bf_window_s == DAY


def node(**values: Any) -> dict[str, Any]:
    return {"name": "n1", "cpus": 8, "mem": "32G", **values}


def test_without_partitions_every_node_is_in_main() -> None:
    cluster = cluster_from_mapping({"nodes": [node(), node(name="n2")], "policy": {}})
    (main,) = cluster.partitions
    assert (main.name, main.nodes, main.default) == ("main", ("n1", "n2"), True)
    assert all(n.partitions == ("main",) for n in cluster.nodes)


def test_gpus_listed_one_by_one() -> None:
    gpus = [
        {"index": 3, "uuid": "GPU-b", "model": "l40s", "memory": "48G", "link_group": 1},
        {"uuid": "GPU-a"},  # index defaults to the position, model and memory to the node's
    ]
    cluster = cluster_from_mapping({"nodes": [node(gpus=gpus, gpu_model="a100", gpu_mem="40G")]})
    first, second = cluster.nodes[0].gpus
    assert (first.index, first.uuid, first.model, first.memory_mb, first.link_group) == (
        3,
        "GPU-b",
        "l40s",
        48 * 1024,
        1,
    )
    assert (second.index, second.uuid, second.model, second.memory_mb, second.link_group) == (
        1,
        "GPU-a",
        "a100",
        40 * 1024,
        0,
    )


def test_link_groups_from_group_size_in_list_form() -> None:
    gpus = [{"index": index} for index in range(4)]
    cluster = cluster_from_mapping({"nodes": [node(gpus=gpus, gpu_link_group_size=2)]})
    assert [gpu.link_group for gpu in cluster.nodes[0].gpus] == [0, 0, 1, 1]


def test_hostlists_in_node_names_and_partitions() -> None:
    cluster = cluster_from_mapping(
        {
            "nodes": [node(name="gpu[01-03]", gpus=2), node(name="cpu1")],
            "partitions": [
                {"name": "gpu", "nodes": "gpu[01-02]", "max_time": "1-00:00:00"},
                {"name": "all", "nodes": ["gpu03", "cpu1", "gpu[01-02]"], "default": True},
            ],
        }
    )
    assert [n.name for n in cluster.nodes] == ["gpu01", "gpu02", "gpu03", "cpu1"]
    assert cluster.node("gpu01").partitions == ("gpu", "all")
    assert cluster.node("gpu03").partitions == ("all",)
    gpu, every = cluster.partitions
    assert gpu.nodes == ("gpu01", "gpu02")
    assert gpu.default_time_s == DAY  # default_time defaults to max_time, as Slurm
    assert every.default
    assert not gpu.default
    assert cluster.default_partition == every


def test_first_partition_is_default_when_none_says_so() -> None:
    cluster = cluster_from_mapping(
        {
            "nodes": [node()],
            "partitions": [{"name": "a", "nodes": "ALL"}, {"name": "b", "nodes": ["n1"]}],
        }
    )
    assert [p.default for p in cluster.partitions] == [True, False]


def test_states_and_limits() -> None:
    cluster = cluster_from_mapping(
        {
            "nodes": [node(state="DRAIN", reason="fan", features=["ssd"]), node(name="n2")],
            "partitions": [
                {
                    "name": "p",
                    "nodes": "n[1-2]",
                    "state": "down",
                    "max_nodes": 2,
                    "max_time": 90,  # minutes, as Slurm's MaxTime=90
                    "default_time": "30:00",
                    "priority_job_factor": 5,
                }
            ],
        }
    )
    n1 = cluster.node("n1")
    assert (n1.state, n1.reason, n1.features) == (NodeState.DRAIN, "fan", ("ssd",))
    assert cluster.node("n2").state is NodeState.IDLE
    (p,) = cluster.partitions
    assert (p.up, p.max_nodes_per_job, p.max_time_s, p.default_time_s) == (False, 2, 5400, 1800)
    assert p.priority_job_factor == 5


def test_unlimited_max_nodes_and_memory_as_mib() -> None:
    cluster = cluster_from_mapping(
        {
            "nodes": [node(mem=4096, gpus=0)],
            "partitions": [{"name": "p", "nodes": ["n1"], "max_nodes": "UNLIMITED"}],
        }
    )
    assert cluster.nodes[0].mem_mb == 4096
    assert cluster.partitions[0].max_nodes_per_job is None


def test_input_is_not_mutated() -> None:
    document = load("berth.toml")
    before = copy.deepcopy(document)
    cluster_from_mapping(document)
    assert document == before


def two_nodes(**partition: Any) -> dict[str, Any]:
    return {
        "nodes": [node(), node(name="n2")],
        "partitions": [{"name": "p", "nodes": "ALL", **partition}],
    }


@pytest.mark.parametrize(
    ("document", "table", "key", "fragment"),
    [
        ({"nodes": [node(), node()]}, "nodes.n1", "name", "node 'n1' is declared twice"),
        ({"nodes": [node(name="n[1-2]"), node(name="n2")]}, "nodes.n2", "name", "declared twice"),
        (
            {"nodes": [node()], "partitions": [{"name": "p", "nodes": ["n1", "n7"]}]},
            "partitions.p",
            "nodes",
            "unknown node 'n7'; the nodes are n1",
        ),
        ({"nodes": [node(cpus=0)]}, "nodes.n1", "cpus", "expected a whole number >= 1, got 0"),
        (
            {"nodes": [node(gpus=[{"index": 0}, {"index": 0}])]},
            "nodes.n1.gpus[1]",
            "index",
            "GPU index 0 appears twice",
        ),
        (
            {
                "nodes": [node()],
                "partitions": [
                    {"name": "a", "nodes": "ALL", "default": True},
                    {"name": "b", "nodes": "ALL", "default": True},
                ],
            },
            "partitions.b",
            "default",
            "keep it on one of them",
        ),
        ({"nodes": [node(cpu=4)]}, "nodes.n1", "cpu", "did you mean 'cpus'?"),
        ({"nodes": [{"name": "n1", "cpus": 4}]}, "nodes.n1", "mem", "missing"),
        ({"nodes": [{"cpus": 4, "mem": 1}]}, "nodes[0]", "name", "missing"),
        ({"nodes": [node(mem="lots")]}, "nodes.n1", "mem", "K, M, G or T"),
        ({"nodes": [node(mem=0)]}, "nodes.n1", "mem", "above 0"),
        ({"nodes": [node(mem=1.5)]}, "nodes.n1", "mem", "expected a memory size"),
        ({"nodes": []}, "berth", "nodes", "no [[nodes]] declared"),
        ({}, "berth", "nodes", "no [[nodes]] declared"),
        ({"nodes": {"name": "n1"}}, "berth", "nodes", "expected an array of tables"),
        ({"nodes": ["n1"]}, "nodes", "[0]", "expected a table"),
        ({"nodes": [node(state="mixed")]}, "nodes.n1", "state", "idle, drain, down"),
        ({"nodes": [node(reason=5)]}, "nodes.n1", "reason", "expected a string"),
        ({"nodes": [node(gpus=-1)]}, "nodes.n1", "gpus", ">= 0"),
        (
            {"nodes": [node(gpus=2, gpu_link_group_size=0)]},
            "nodes.n1",
            "gpu_link_group_size",
            ">= 1",
        ),
        ({"nodes": [node(features=[1])]}, "nodes.n1", "features", "list of strings"),
        (
            {"nodes": [node(name="n[1-2]", gpus=[{"uuid": "GPU-x"}])]},
            "nodes.n[1-2]",
            "gpus",
            "GPU uuid 'GPU-x' is on nodes 'n1' and 'n2'",
        ),
        ({"nodes": [node(name="n[1-")]}, "nodes[0]", "name", "unclosed"),
        (two_nodes(nodes=["n1", "n[1-2]"]), "partitions.p", "nodes", "listed twice"),
        (two_nodes(nodes=[]), "partitions.p", "nodes", "at least one node"),
        (two_nodes(max_nodes=0), "partitions.p", "max_nodes", ">= 1"),
        (two_nodes(max_time="forever"), "partitions.p", "max_time", "UNLIMITED"),
        (two_nodes(default_time="UNLIMITED"), "partitions.p", "default_time", "finite"),
        (
            two_nodes(max_time="1:00:00", default_time="2:00:00"),
            "partitions.p",
            "default_time",
            "longer than max_time",
        ),
        (two_nodes(state="drain"), "partitions.p", "state", "up, down"),
        (two_nodes(default="yes"), "partitions.p", "default", "true or false"),
        (two_nodes(maxtime="1:00"), "partitions.p", "maxtime", "did you mean 'max_time'?"),
        (
            {
                "nodes": [node()],
                "partitions": [{"name": "p", "nodes": "n1"}, {"name": "p", "nodes": "n1"}],
            },
            "partitions.p",
            "name",
            "declared twice",
        ),
    ],
)
def test_errors_name_the_table_key_and_fix(
    document: dict[str, Any], table: str, key: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        cluster_from_mapping(document, source="site.toml")
    error = caught.value
    assert (error.table, error.key) == (table, key)
    assert fragment in str(error)
    assert str(error).startswith("site.toml: ")
