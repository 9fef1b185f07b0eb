"""The RLScheduler heuristics table (Zhang et al., SC20), replayed with Berth's simulator.

The protocol is ``shared/traces/VALIDATION.md`` §B:

- Jobs: `read_swf` with the `RLSCHEDULER` cleaning preset (job-id order). Only the first
  `ELIGIBLE` (10,000) jobs are eligible; a window is `WINDOW_SIZE` (1,024) consecutive jobs from
  a 0-based index of `WINDOW_STARTS`.
- Machine: ``MaxNodes`` nodes of ``MaxProcs / MaxNodes`` processors; a job takes ``ceil(procs /
  ppn)`` whole nodes. Without a ``MaxProcs`` line (the Lublin files) ``MaxProcs = MaxNodes``,
  one processor per node: RLScheduler's ``Workloads`` reader sets ``max_procs = max_nodes`` when
  the header has no ``MaxProcs`` and builds ``Cluster(max_nodes, max_procs / max_nodes)`` (its
  ``job.py`` and ``HPCSimPickJobs.my_init``; `SwfHeader.processors` does the same). All three
  traces of the table have one processor per node (HPC2N's header says 240 nodes, 240 procs).
- Each window starts on an empty machine and each job arrives at its own trace submit time, the
  first job of the window first; jobs run their actual run time (never killed at the
  estimate). Times are not rebased: the replay has no periodic pass and every priority weight
  is 0, so a shift of all submit times shifts every start by the same amount.
- Metrics per window: the mean bounded slowdown (tau 10 s) of its jobs, and the utilization
  ``sum(run * procs) / ((last start - first job's submit) * MaxProcs)``; the table cell is the
  mean over the ten windows.

`pooled_cluster` models the machine as one node whose CPUs are the machine's nodes, each job
asking its node count in CPUs. Whole nodes are identical and exclusive and carry no memory or
GPUs, so only the number of free nodes can matter: every decision is that of the literal
`cluster` (the tests compare the records), and the whole table takes about 20 s instead of
200 s (placement over 256 one-CPU nodes dominates otherwise).

Variants (`VARIANTS`): "FCFS" and "SJF" without backfilling (`BackfillMode.FCFS`), and with the
authors' greedy backfilling (`BackfillMode.GREEDY`); FCFS is the priority order with every
weight 0, i.e. (submit, job id); SJF is `QueueOrder.SHORTEST_FIRST`, (estimate, submit, job id).
Each keeps the authors' loop: ``keep_head`` (the first blocked job stays at the head until it
starts, with the shadow time computed when it first blocked), ``backfill_order`` FCFS (the jobs
behind the head are tried in submit order, even under SJF), and `run_window` replays one event
at a time, an instant's submits before its ends (`EventOrder.SINGLY`). With these every cell of
the table is reproduced (``sim/README.md``, "The RLScheduler table").
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from scheduler import (
    Cluster,
    JobRequest,
    Policy,
)
from sim.driver import EventOrder, Simulation
from sim.mapping import PARTITION, node_cluster, processor_pool, trace_request
from sim.metrics import JobRecord, bounded_slowdown
from sim.policies import policy_named
from sim.workloads import RLSCHEDULER, SwfTrace, TraceJob, read_swf, window

WINDOW_STARTS = (1981, 2756, 4299, 8850, 3316, 2714, 5228, 7762, 4022, 7085)
WINDOW_SIZE = 1024
ELIGIBLE = 10_000

# The authors' loop as the named policies of `sim.policies` (kept heads, FCFS behind the head).
VARIANTS: Mapping[str, Policy] = {
    "FCFS": policy_named("rl-fcfs"),
    "SJF": policy_named("rl-sjf"),
    "FCFS+greedy": policy_named("rl-fcfs-greedy"),
    "SJF+greedy": policy_named("rl-sjf-greedy"),
}

Mapper = Callable[[TraceJob], JobRequest]


@dataclass(frozen=True, slots=True)
class Machine:
    """``nodes`` whole nodes sharing ``processors`` processors evenly (§B)."""

    nodes: int
    processors: int

    def nodes_for(self, procs: int) -> int:
        """``ceil(procs / ppn)`` with ``ppn = processors / nodes``, in exact integers."""
        return -(-procs * self.nodes // self.processors)


def machine(trace: SwfTrace) -> Machine:
    """The trace's machine from its header: ``MaxNodes``, and ``MaxProcs`` or else ``MaxNodes``.

    :raises ValueError: when the header has no ``MaxNodes``.
    """
    nodes = trace.header.max_nodes
    if nodes is None or nodes < 1:
        raise ValueError(f"{trace.source}: the RLScheduler protocol needs a MaxNodes header line")
    return Machine(nodes=nodes, processors=trace.header.max_procs or nodes)


def window_jobs(trace: SwfTrace, start: int, size: int = WINDOW_SIZE) -> tuple[TraceJob, ...]:
    """Jobs ``[start, start + size)`` of the trace's first `ELIGIBLE` jobs (job-id order).

    :raises ValueError: when the window passes the eligible jobs, or a job is wider than the
        machine (it could never start).
    """
    jobs = window(trace.jobs[:ELIGIBLE], start, size)
    shape = machine(trace)
    for job in jobs:
        if shape.nodes_for(job.procs) > shape.nodes:
            raise ValueError(f"job {job.job_id} needs more than the {shape.nodes} nodes")
    return jobs


def cluster(trace: SwfTrace) -> tuple[Cluster, Mapper]:
    """§B's machine as written: ``MaxNodes`` nodes of ``ppn`` CPUs, whole nodes per job.

    :raises ValueError: when ``MaxProcs`` is not a multiple of ``MaxNodes``.
    """
    shape = machine(trace)
    ppn, rest = divmod(shape.processors, shape.nodes)
    if rest or ppn < 1:
        raise ValueError(f"{shape.processors} processors do not split evenly over {shape.nodes}")
    return node_cluster(shape.nodes, ppn, whole_nodes=True)


def pooled_cluster(trace: SwfTrace) -> tuple[Cluster, Mapper]:
    """The same machine as one node with a CPU per node; a job asks its node count in CPUs."""
    shape = machine(trace)
    pool, _ = processor_pool(shape.nodes)

    def to_request(job: TraceJob) -> JobRequest:
        return trace_request(job, PARTITION, cpus_per_task=shape.nodes_for(job.procs))

    return pool, to_request


def window_metrics(
    jobs: Sequence[TraceJob], records: Sequence[JobRecord], processors: int
) -> tuple[float, float]:
    """(mean bounded slowdown, utilization) of a window's schedule, as defined in §B."""
    slowdown = math.fsum(bounded_slowdown(r.wait, r.run) for r in records) / len(records)
    work = sum(r.run * r.procs for r in records)
    span = max(r.start for r in records) - jobs[0].submit
    return slowdown, work / (span * processors) if span else 0.0


def run_window(
    trace: SwfTrace, start: int, policy: Policy, *, pooled: bool = True
) -> tuple[float, float]:
    """Replay one window from an empty machine: (mean bounded slowdown, utilization)."""
    jobs = window_jobs(trace, start)
    nodes, to_request = pooled_cluster(trace) if pooled else cluster(trace)
    result = Simulation(
        nodes, jobs, policy, to_request, kill_at_limit=False, events=EventOrder.SINGLY
    ).run()
    return window_metrics(jobs, result.records, machine(trace).processors)


def table(
    trace_path: str | os.PathLike[str], policies: Mapping[str, Policy] = VARIANTS
) -> dict[str, tuple[float, float]]:
    """Per policy name: (mean over `WINDOW_STARTS` of the mean bounded slowdown, mean
    utilization)."""
    trace = read_swf(trace_path, rules=RLSCHEDULER)
    cells: dict[str, tuple[float, float]] = {}
    for name, policy in policies.items():
        runs = [run_window(trace, start, policy) for start in WINDOW_STARTS]
        cells[name] = (
            math.fsum(slowdown for slowdown, _ in runs) / len(runs),
            math.fsum(utilization for _, utilization in runs) / len(runs),
        )
    return cells
