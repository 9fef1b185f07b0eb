"""The pass cadence rule and the fragmentation measure."""

from __future__ import annotations

import pytest

from scheduler import Cadence, fragmentation, next_pass_at
from tests.scheduler.builders import cluster_of, gpu_node, job, running


@pytest.mark.parametrize(
    ("last_pass", "event", "cadence", "expected"),
    [
        (100, None, Cadence(debounce_s=1, interval_s=30), 130),  # nothing happened: periodic
        (100, 105, Cadence(debounce_s=1, interval_s=30), 106),  # debounced after the event
        (100, 129, Cadence(debounce_s=5, interval_s=30), 130),  # the periodic pass comes first
        (100, 100, Cadence(debounce_s=0, interval_s=30), 100),  # no debounce: at once
        (100, 90, Cadence(debounce_s=1, interval_s=30), 100),  # never before the last pass
        (100, None, Cadence(debounce_s=1, interval_s=None), None),  # no periodic pass
        (100, 150, Cadence(debounce_s=0, interval_s=None), 150),
    ],
)
def test_next_pass_at(
    last_pass: int, event: int | None, cadence: Cadence, expected: int | None
) -> None:
    assert next_pass_at(last_pass, event, cadence) == expected


def test_fragmentation_counts_gpus_no_pending_shape_can_use() -> None:
    # Two 4-GPU nodes; 3 GPUs busy on each, so 1 free on each (2 free). Pending jobs want 2 GPUs
    # on one node: both free GPUs are stranded.
    cluster = cluster_of(gpu_node("n1"), gpu_node("n2"))
    busy = (
        running(job(1, gpus=3), 0, ("n1", 1, (0, 1, 2))),
        running(job(2, gpus=3), 0, ("n2", 1, (0, 1, 2))),
    )
    found = fragmentation(cluster, busy, (job(3, gpus=2),), 10)
    assert (found.free_gpus, found.stranded_gpus, found.ratio) == (2, 2, 1.0)
    # A 1-GPU job could use both.
    assert fragmentation(cluster, busy, (job(4, gpus=1),), 10).stranded_gpus == 0


def test_fragmentation_counts_gpus_stranded_by_exhausted_cpus() -> None:
    cluster = cluster_of(gpu_node("n1", cpus=4))
    busy = (running(job(1, cpus=4, gpus=1), 0, ("n1", 4, (0,))),)
    found = fragmentation(cluster, busy, (), 10)  # reference shape: 1 GPU + 1 CPU
    assert (found.free_gpus, found.stranded_gpus) == (3, 3)
    assert fragmentation(cluster, (), (), 10).ratio == 0.0
