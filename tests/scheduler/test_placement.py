"""Placement: best-fit node choice and exact GPU indices that keep link groups whole."""

from __future__ import annotations

import dataclasses

import pytest

from scheduler import NodeState, Policy, Resources, Snapshot, schedule
from scheduler.placement import select_gpus
from tests.scheduler.builders import cluster_of, gpu_node, job, running

GROUP_A, GROUP_B = 0b00001111, 0b11110000  # two NVLink groups of four on an 8-GPU node


@pytest.mark.parametrize(
    ("usable", "count", "expected"),
    [
        # Everything free: one GPU goes to the first group, lowest index.
        (0b11111111, 1, 0b00000001),
        # Group A has 1 free, B has 4: a 1-GPU job finishes off A and leaves B whole.
        (0b11111000, 1, 0b00001000),
        # A 4-GPU job takes the one whole group rather than splitting two.
        (0b11111000, 4, 0b11110000),
        # 2 GPUs: A has 2 free, B 4 -> the fullest group that can hold both (A).
        (0b11111100, 2, 0b00001100),
        # 6 GPUs across groups: the emptiest group whole (ties: the first, A), then the rest
        # from the best-fitting group.
        (0b11111111, 6, 0b00111111),
        # 5 GPUs with A 2 free and B 4 free: B whole, then one from A.
        (0b11110011, 5, 0b11110001),
        (0, 0, 0),
    ],
)
def test_select_gpus_keeps_whole_link_groups_free(usable: int, count: int, expected: int) -> None:
    assert select_gpus((GROUP_A, GROUP_B), usable, count) == expected


def test_best_fit_prefers_the_node_left_with_fewest_free_gpus() -> None:
    nodes = (gpu_node("n1", gpus=4), gpu_node("n2", gpus=4))
    busy = running(job(1, gpus=3), 0, ("n2", 1, (0, 1, 2)))
    plan = schedule(
        Snapshot(cluster=cluster_of(*nodes), running=(busy,), pending=(job(2, gpus=1),)),
        10,
        Policy(),
    )
    [start] = plan.starts
    assert start.allocation.nodes[0].node == "n2"
    assert start.allocation.nodes[0].gpu_indices == (3,)


def test_cpu_only_job_keeps_off_the_gpu_node() -> None:
    nodes = (gpu_node("gpu1", gpus=4, cpus=8), gpu_node("cpu1", gpus=0, cpus=8))
    plan = schedule(Snapshot(cluster=cluster_of(*nodes), pending=(job(1, cpus=2),)), 10, Policy())
    assert plan.starts[0].allocation.nodes[0].node == "cpu1"


def test_link_groups_steer_the_node_choice_between_equal_free_counts() -> None:
    # n1: groups of 2, with one GPU used in each group (2 free, no whole group);
    # n2: groups of 2, group 0 fully used (2 free as one whole group). A 1-GPU job goes to n1.
    nodes = (gpu_node("n1", gpus=4, group_size=2), gpu_node("n2", gpus=4, group_size=2))
    busy = (
        running(job(1, gpus=2), 0, ("n1", 1, (0, 2))),
        running(job(2, gpus=2), 0, ("n2", 1, (0, 1))),
    )
    plan = schedule(
        Snapshot(cluster=cluster_of(*nodes), running=busy, pending=(job(3, gpus=1),)), 10, Policy()
    )
    assert plan.starts[0].allocation.nodes[0].node == "n1"


def test_gpu_model_constraint_selects_matching_devices_only() -> None:
    nodes = (gpu_node("old", gpus=4, model="v100"), gpu_node("new", gpus=4, model="h100"))
    plan = schedule(
        Snapshot(cluster=cluster_of(*nodes), pending=(job(1, gpus=2, gpu_model="h100"),)),
        10,
        Policy(),
    )
    assert plan.starts[0].allocation.nodes[0].node == "new"


def test_multi_node_job_gets_one_share_per_node() -> None:
    nodes = tuple(gpu_node(f"n{i}") for i in range(3))
    plan = schedule(
        Snapshot(cluster=cluster_of(*nodes), pending=(job(1, nodes=2, gpus=4, cpus=2),)),
        10,
        Policy(),
    )
    parts = plan.starts[0].allocation.nodes
    assert [p.node for p in parts] == ["n0", "n1"]
    assert all(p.gpu_indices == (0, 1, 2, 3) and p.cpus == 2 for p in parts)


@pytest.mark.parametrize(
    ("state", "cpus", "gpus", "expected"),
    [
        (NodeState.IDLE, 0, 0, NodeState.IDLE),
        (NodeState.IDLE, 1, 0, NodeState.MIXED),
        (NodeState.MIXED, 0, 1, NodeState.MIXED),
        (NodeState.IDLE, 4, 0, NodeState.ALLOCATED),  # every CPU taken, GPUs free: Slurm's alloc
        (NodeState.DRAIN, 4, 4, NodeState.DRAIN),
        (NodeState.DOWN, 0, 0, NodeState.DOWN),
    ],
)
def test_usage_state_as_sinfo_shows_it(
    state: NodeState, cpus: int, gpus: int, expected: NodeState
) -> None:
    node = dataclasses.replace(gpu_node("n1", cpus=4), state=state)
    assert node.usage_state(Resources(cpus=cpus, gpus=gpus)) is expected
