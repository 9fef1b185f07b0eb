"""The replay's event orders (`sim.driver.EventOrder`) on a hand-computed trace.

A pool of 2 processors, shortest estimate first with kept heads (RLScheduler's SJF, §B):

====  ======  ======  ====  ========
job   submit  procs   run   estimate
====  ======  ======  ====  ========
1     0       2       10    10
2     10      2       5     50
3     10      1       5     20
====  ======  ======  ====  ========

BATCHED (§A): at 10, job 1's end and a pass with nothing pending, then both submits and one
pass: job 3 sorts first and starts; job 2 starts when it ends, at 15.
SINGLY (§B): at 10, job 2's submit and a pass (blocked: the kept head), job 3's and a pass
(behind the head), job 1's end and a pass: the head, job 2, starts at 10; job 3 at 15.
"""

from __future__ import annotations

import pytest

from scheduler import BackfillMode, Cadence, Policy, PriorityWeights, QueueOrder
from sim.driver import EventOrder, Simulation
from sim.mapping import processor_pool
from sim.workloads import TraceJob

FIFO = PriorityWeights(age=0, fairshare=0, job_size=0, partition=0, qos=0, assoc=0)
SJF_KEPT = Policy(
    backfill=BackfillMode.FCFS,
    queue_order=QueueOrder.SHORTEST_FIRST,
    weights=FIFO,
    estimate_starts=False,
    keep_head=True,
)
JOBS = (
    TraceJob(job_id=1, submit=0, run_time=10, estimate=10, procs=2, user="u"),
    TraceJob(job_id=2, submit=10, run_time=5, estimate=50, procs=2, user="u"),
    TraceJob(job_id=3, submit=10, run_time=5, estimate=20, procs=1, user="u"),
)


@pytest.mark.parametrize(
    ("events", "starts", "passes"),
    [
        (EventOrder.BATCHED, {1: 0, 2: 15, 3: 10}, 5),  # 0, 10 (ends), 10 (submits), 15, 20
        (EventOrder.SINGLY, {1: 0, 2: 10, 3: 15}, 6),  # one pass per event: 3 submits, 3 ends
    ],
)
def test_event_orders_give_the_hand_computed_starts(
    events: EventOrder, starts: dict[int, int], passes: int
) -> None:
    cluster, to_request = processor_pool(2)
    result = Simulation(cluster, JOBS, SJF_KEPT, to_request, events=events).run()
    assert {record.job_id: record.start for record in result.records} == starts
    assert result.passes == passes


def test_one_event_at_a_time_needs_the_event_driven_cadence() -> None:
    cluster, to_request = processor_pool(2)
    with pytest.raises(ValueError, match="event-driven cadence"):
        Simulation(cluster, JOBS, SJF_KEPT, to_request, cadence=Cadence(), events=EventOrder.SINGLY)
