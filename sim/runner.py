"""One simulation run from a `RunSpec`: read the trace, map it onto a machine, replay, measure.

The machine is, first match wins: a site's ``berth.toml`` (``cluster``: its ``[[nodes]]`` and
``[[partitions]]``, and its ``[policy]`` as the base of the named policy); ``nodes`` x ``cores``
(`sim.mapping.node_cluster`); a pool of ``procs`` processors; else the trace's own machine, a
pool of its ``MaxProcs`` (``MaxNodes`` when absent) processors (DESIGN §8, VALIDATION.md §A).
On a site cluster a job of P processors asks for ``ceil(P / C)`` nodes of the default partition,
C the most CPUs of its nodes, with P one-CPU tasks spread over them.

Jobs that can never run on the machine (`scheduler.validate` refuses them: too many processors,
an estimate over the partition's ``max_time``) are dropped before the run and counted in the
report under `DROP_NEVER_FITS`, as a queue would refuse them at submit.

Jobs run for their actual run time: ``kill_at_limit`` is off by default, as §A defines the
replay (475 KTH-SP2 jobs ran past their estimate and finish late, not killed). Cadence REPLAY: a
pass at once after each instant's events, none periodic.

``sim_wall_s`` is the wall time of the whole run: reading and cleaning the trace, mapping,
simulating and computing the metrics; ``jobs_per_s`` = simulated jobs / ``sim_wall_s``.
"""

from __future__ import annotations

import gc
import os
import time
import tomllib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from scheduler import (
    Cluster,
    ConfigError,
    JobRequest,
    Limits,
    Policy,
    cluster_from_mapping,
    policy_from_mapping,
    validate,
)
from sim.driver import REPLAY, EventOrder, SimResult, Simulation
from sim.mapping import node_cluster, processor_pool, trace_request
from sim.metrics import Summary, summarize
from sim.policies import TRACE_BASE, parse_policy
from sim.workloads import PWA_POOL, RLSCHEDULER, Report, TraceJob, first, read_swf, window

Progress = Callable[[int, int], None]  # (jobs started so far, jobs in the run)
Mapper = Callable[[TraceJob], JobRequest]
RULES = {"pwa": PWA_POOL, "rlscheduler": RLSCHEDULER}
DROP_NEVER_FITS = "dropped: can never run on this machine"
DEMO_TRACE = "kth-sp2-first2000.swf.gz"
PROGRESS_EVERY_S = 0.2


class SpecError(ValueError):
    """A run that cannot be set up: a missing file, contradictory or out-of-range options."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """What to simulate. ``policy``: a name or ``name:key=value,...`` (`sim.policies`), or a
    `Policy`; ``window``: (0-based first index, size); ``rules``: a key of `RULES`."""

    trace: str
    policy: str | Policy = "easy"
    label: str = ""
    cluster: str | None = None
    procs: int | None = None
    nodes: int | None = None
    cores: int | None = None
    whole_nodes: bool = False
    first: int | None = None
    window: tuple[int, int] | None = None
    rules: str = "pwa"
    kill_at_limit: bool = False
    events: str = "batched"  # a value of `sim.driver.EventOrder`

    @property
    def name(self) -> str:
        """The label shown in tables and file names: ``label``, else the policy text."""
        if self.label:
            return self.label
        return self.policy if isinstance(self.policy, str) else "custom"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RunResult:
    """A finished run. ``queue_times``/``queue_lengths``: pending jobs after each pass where the
    count changed, a step function of virtual time."""

    label: str
    trace: str
    policy: Policy
    machine: str
    capacity: int
    gpu_capacity: int
    kill_at_limit: bool
    report: Report
    summary: Summary
    sim: SimResult
    sim_wall_s: float
    queue_times: array[int]
    queue_lengths: array[int]

    @property
    def jobs_per_s(self) -> float:
        simulated = self.summary.jobs + len(self.sim.unfinished)
        return simulated / self.sim_wall_s if self.sim_wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of ``berth sim --json``: DESIGN §8's keys and then some."""
        metrics = self.summary.as_dict()
        return {
            "jobs": metrics.pop("jobs"),
            "policy": self.label,
            **metrics,
            "sim_wall_s": round(self.sim_wall_s, 3),
            "jobs_per_s": round(self.jobs_per_s, 1),
            "trace": self.trace,
            "machine": self.machine,
            "capacity": self.capacity,
            "backfill": self.policy.backfill.value,
            "queue_order": self.policy.queue_order.value,
            "kill_at_limit": self.kill_at_limit,
            "passes": self.sim.passes,
            "unfinished": len(self.sim.unfinished),
            "trace_report": dict(self.report),
        }


@contextmanager
def demo_trace() -> Iterator[str]:
    """The path of the bundled KTH-SP2 slice (``sim/data/README.md``), while in the block."""
    with resources.as_file(resources.files("sim") / "data" / DEMO_TRACE) as path:
        yield str(path)


def resolve_policy(spec: RunSpec) -> Policy:
    """The spec's policy on its base (the site's ``[policy]`` when the cluster file has one).

    :raises PolicyError: unknown name or bad override. :raises SpecError: unreadable cluster file.
    """
    if isinstance(spec.policy, Policy):
        return spec.policy
    base = _site(spec)[2] if spec.cluster else TRACE_BASE
    return parse_policy(spec.policy, base)


def check(spec: RunSpec) -> None:
    """Everything about ``spec`` that can be checked without reading the trace.

    :raises SpecError, PolicyError, scheduler.ConfigError: saying what is wrong.
    """
    if not Path(spec.trace).is_file():
        raise SpecError(f"trace file not found: {spec.trace}")
    if spec.rules not in RULES:
        raise SpecError(f"unknown cleaning rules {spec.rules!r}; choose from {', '.join(RULES)}")
    _events(spec.events)
    counts = {"procs": spec.procs, "nodes": spec.nodes, "cores": spec.cores, "first": spec.first}
    for key, value in counts.items():
        if value is not None and value < 1:
            raise SpecError(f"--{key} must be at least 1, got {value}")
    if (spec.nodes is None) != (spec.cores is None):
        raise SpecError("--nodes and --cores go together")
    machines = [spec.cluster is not None, spec.nodes is not None, spec.procs is not None]
    if sum(machines) > 1:
        raise SpecError("give one machine: --cluster, --nodes/--cores or --procs")
    if spec.first is not None and spec.window is not None:
        raise SpecError("give --first or --window, not both")
    if spec.window is not None and min(spec.window) < 0:
        raise SpecError(f"--window START SIZE must not be negative, got {spec.window}")
    resolve_policy(spec)


def run_spec(spec: RunSpec, progress: Progress | None = None) -> RunResult:
    """Run ``spec``; ``progress(started, total)`` is called at most every 0.2 s of wall time.

    :raises SpecError, PolicyError, ConfigError, TraceFormatError, OSError: bad input.
    """
    began = time.perf_counter()
    check(spec)
    policy = resolve_policy(spec)
    with _fewer_collections():
        trace = read_swf(spec.trace, rules=RULES[spec.rules])
        jobs = _slice(trace.jobs, spec)
        cluster, to_request, machine = _machine(spec, trace.header.processors)
        jobs, dropped = _runnable(jobs, cluster, to_request)
        report = trace.report + (((DROP_NEVER_FITS, dropped),) if dropped else ())
        tracker = _Tracker(jobs, progress)
        sim = Simulation(
            cluster, jobs, policy, to_request, cadence=REPLAY, kill_at_limit=spec.kill_at_limit,
            on_pass=tracker, events=_events(spec.events),
        ).run()  # fmt: skip
    capacity = sum(node.cpus for node in cluster.nodes)
    gpu_capacity = sum(len(node.gpus) for node in cluster.nodes)
    summary = summarize(sim.records, capacity=capacity, gpu_capacity=gpu_capacity)
    if progress is not None:
        progress(len(jobs) - len(sim.unfinished), len(jobs))
    return RunResult(
        label=spec.name,
        trace=os.path.basename(spec.trace),
        policy=policy,
        machine=machine,
        capacity=capacity,
        gpu_capacity=gpu_capacity,
        kill_at_limit=spec.kill_at_limit,
        report=tuple(sorted(report)),
        summary=summary,
        sim=sim,
        sim_wall_s=time.perf_counter() - began,
        queue_times=tracker.times,
        queue_lengths=tracker.lengths,
    )


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A replay allocates hundreds of thousands of small objects that live for the whole run
    (trace jobs, requests, records); with the default threshold of 700 the cyclic collector
    runs over a thousand times and walks them again and again (0.9 s of a 13 s HPC2N run).
    Reference counting frees almost everything a pass makes, so the first generation may wait
    for 50,000 allocations; the thresholds are put back afterwards."""
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 50_000), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class _Tracker:
    """The driver's ``on_pass``: samples the queue length and reports progress, throttled."""

    def __init__(self, jobs: Sequence[TraceJob], progress: Progress | None) -> None:
        # Only progress reports read the submit times (sorting them is 15 ms on HPC2N).
        self.submits = sorted(job.submit for job in jobs) if progress is not None else []
        self.progress = progress
        self.times: array[int] = array("q")
        self.lengths: array[int] = array("q")
        self.next_report = time.perf_counter() + PROGRESS_EVERY_S

    def __call__(self, now: int, pending: int) -> None:
        if not self.lengths or self.lengths[-1] != pending:
            self.times.append(now)
            self.lengths.append(pending)
        if self.progress is not None and time.perf_counter() >= self.next_report:
            started = bisect_right(self.submits, now) - pending
            self.progress(max(started, 0), len(self.submits))
            self.next_report = time.perf_counter() + PROGRESS_EVERY_S


def _events(name: str) -> EventOrder:
    try:
        return EventOrder(name)
    except ValueError:
        choices = ", ".join(order.value for order in EventOrder)
        raise SpecError(f"unknown event order {name!r}; choose from {choices}") from None


def _slice(jobs: tuple[TraceJob, ...], spec: RunSpec) -> tuple[TraceJob, ...]:
    if spec.first is not None:
        return first(jobs, spec.first)
    if spec.window is not None:
        try:
            return window(jobs, *spec.window)
        except ValueError as err:
            raise SpecError(f"--window: {err}") from None
    return jobs


def _machine(spec: RunSpec, header_procs: int | None) -> tuple[Cluster, Mapper, str]:
    if spec.cluster is not None:
        cluster, to_request, _ = _site(spec)
        count = len(cluster.nodes)
        return cluster, to_request, f"{spec.cluster} ({count} node{'' if count == 1 else 's'})"
    if spec.nodes is not None and spec.cores is not None:
        cluster, to_request = node_cluster(spec.nodes, spec.cores, whole_nodes=spec.whole_nodes)
        whole = ", whole nodes" if spec.whole_nodes else ""
        return cluster, to_request, f"{spec.nodes} nodes x {spec.cores} cores{whole}"
    procs = spec.procs if spec.procs is not None else header_procs
    if procs is None or procs < 1:
        raise SpecError(f"{spec.trace} has no MaxProcs or MaxNodes header line; give --procs N")
    cluster, to_request = processor_pool(procs)
    return cluster, to_request, f"pool of {procs} processors"


def _site(spec: RunSpec) -> tuple[Cluster, Mapper, Policy]:
    """The cluster file's machine, its job mapping and its ``[policy]`` (else `TRACE_BASE`)."""
    assert spec.cluster is not None
    try:
        with open(spec.cluster, "rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise SpecError(f"cluster file not found: {spec.cluster}") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{spec.cluster}: not valid TOML: {err}") from None
    cluster = cluster_from_mapping(data, source=spec.cluster)
    base = TRACE_BASE
    if "policy" in data:
        base = _policy_table(data["policy"], spec.cluster)
    return cluster, _site_requests(cluster), base


def _policy_table(table: Any, source: str) -> Policy:
    """A site's ``[policy]`` table; ``limits`` stay the default (the simulator has no users)."""
    if not isinstance(table, dict):
        raise SpecError(f"{source}: [policy] must be a table")
    try:
        return policy_from_mapping(table)
    except ConfigError as err:
        raise SpecError(f"{source}: {err}") from None


def _site_requests(cluster: Cluster) -> Mapper:
    partition = cluster.default_partition
    if partition is None or not partition.nodes:
        raise SpecError("the cluster file has no partition with nodes")
    cores = max(cluster.node(name).cpus for name in partition.nodes)

    def to_request(job: TraceJob) -> JobRequest:
        count = -(-job.procs // cores)
        return trace_request(
            job,
            partition.name,
            nodes=count,
            tasks=job.procs,
            gpus_per_node=-(-job.gpus // count),
        )

    return to_request


def _runnable(
    jobs: tuple[TraceJob, ...], cluster: Cluster, to_request: Mapper
) -> tuple[tuple[TraceJob, ...], int]:
    """The jobs `scheduler.validate` accepts (checked once per shape), and how many it refused."""
    limits = Limits()
    verdicts: dict[tuple[int, int, int, int], bool] = {}
    kept: list[TraceJob] = []
    for job in jobs:
        shape = (job.procs, job.gpus, job.mem_mb, job.estimate)
        fits = verdicts.get(shape)
        if fits is None:
            fits = verdicts[shape] = not validate(to_request(job), cluster, limits)
        if fits:
            kept.append(job)
    return (tuple(kept) if len(kept) < len(jobs) else jobs), len(jobs) - len(kept)
