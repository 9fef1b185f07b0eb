"""The GPU trace end to end: `sim.gpucluster` (node list -> cluster, task -> request, jobs that
can never fit) and `sim.fragmentation_log` (fragmentation over time), on a hand-made workload
with hand-computed starts and on a slice of the Alibaba v2023 trace replayed with EASY backfill
and GPU packing (best fit with link groups of 4)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from scheduler import (
    BackfillMode,
    Cluster,
    JobRequest,
    Policy,
    PriorityWeights,
    RunningJob,
    fragmentation,
)
from sim.driver import SimResult, Simulation
from sim.fragmentation_log import FragmentationSeries, fragmentation_series, starts_of
from sim.gpucluster import (
    PARTITION,
    alibaba_cluster,
    chosen_model,
    gpu_node,
    model_gpus,
    narrowed,
    split_fitting,
)
from sim.metrics import summarize
from sim.workloads import TraceJob, TraceNode, read_alibaba, read_alibaba_nodes, scale_load
from tests.sim import shared_trace

TASKS = "alibaba-gpu-v2023-openb_pod_list_default.csv.gz"
ALL_NODES = "alibaba-gpu-v2023-openb_node_list_all_node.csv.gz"
GPU_NODES = "alibaba-gpu-v2023-openb_node_list_gpu_node.csv.gz"
NOT_AVAILABLE = "Requested node configuration is not available"

# FIFO: every priority weight 0, so jobs are taken in (submit, job id) order.
FIFO = PriorityWeights(age=0, fairshare=0, job_size=0, partition=0, qos=0, assoc=0)
EASY = Policy(weights=FIFO, estimate_starts=False, backfill=BackfillMode.EASY)


def _node(name: str, gpus: int, model: str | None, cpus: int = 8) -> TraceNode:
    return TraceNode(name=name, cpus=cpus, mem_mb=65536, gpus=gpus, gpu_model=model)


def _job(
    job_id: int,
    submit: int,
    gpus: int,
    run: int,
    *,
    procs: int = 2,
    models: tuple[str, ...] = (),
) -> TraceJob:
    return TraceJob(
        job_id=job_id,
        submit=submit,
        run_time=run,
        estimate=run,
        procs=procs,
        user="LS",
        gpus=gpus,
        gpu_models=models,
        mem_mb=1024,
        name=f"pod-{job_id}",
    )


# --- the mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpus", "group_size", "groups"),
    [
        (8, 4, (0, 0, 0, 0, 1, 1, 1, 1)),  # GPU i in group i // 4: two quads
        (4, 4, (0, 0, 0, 0)),
        (2, 4, (0, 0)),
        (8, None, (0,) * 8),  # one group per node
        (3, 1, (0, 1, 2)),
        (0, 4, ()),  # a GPU-less node
    ],
)
def test_gpu_node_link_groups(gpus: int, group_size: int | None, groups: tuple[int, ...]) -> None:
    node = gpu_node(_node("n7", gpus, "T4" if gpus else None), link_group_size=group_size)
    assert tuple(gpu.link_group for gpu in node.gpus) == groups
    assert tuple(gpu.index for gpu in node.gpus) == tuple(range(gpus))
    assert tuple(gpu.uuid for gpu in node.gpus) == tuple(f"n7-gpu{i}" for i in range(gpus))
    assert all(gpu.model == "T4" for gpu in node.gpus)
    assert (node.cpus, node.mem_mb, node.partitions) == (8, 65536, (PARTITION,))


def test_gpu_node_rejects_a_bad_group_size() -> None:
    with pytest.raises(ValueError, match="link_group_size"):
        gpu_node(_node("n", 8, "T4"), link_group_size=0)


def test_cluster_keeps_gpu_less_nodes_in_order_in_one_partition() -> None:
    cluster, _ = alibaba_cluster([_node("g", 2, "T4"), _node("c", 0, None), _node("v", 1, "V")])
    assert [node.name for node in cluster.nodes] == ["g", "c", "v"]
    assert [len(node.gpus) for node in cluster.nodes] == [2, 0, 1]
    (partition,) = cluster.partitions
    assert (partition.name, partition.nodes, partition.default) == (
        PARTITION,
        ("g", "c", "v"),
        True,
    )
    assert model_gpus(cluster) == {"T4": 2, "V": 1}


@pytest.mark.parametrize(
    ("nodes", "message"),
    [([], "at least one node"), ([_node("a", 1, "T4"), _node("a", 2, "T4")], "repeated: a")],
)
def test_cluster_rejects_bad_node_lists(nodes: list[TraceNode], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        alibaba_cluster(nodes)


def test_to_request_maps_every_field() -> None:
    _, to_request = alibaba_cluster([_node("a", 4, "T4")])
    job = replace(_job(5, 30, 2, 0, procs=0, models=("T4",)), user="BE")
    assert to_request(job) == JobRequest(
        job_id=5,
        user="BE",
        submit_time=30,
        time_limit_s=1,  # estimate 0 -> at least 1 s
        name="pod-5",
        partition=PARTITION,
        cpus_per_task=1,  # a 0-CPU task asks one CPU
        mem_mb=1024,
        gpus_per_node=2,
        gpu_model="T4",
    )


# per_model = {"T4": 4, "V100": 8, "A10": 8}: the allowed model with most GPUs, ties by name
@pytest.mark.parametrize(
    ("gpus", "models", "expected"),
    [
        (1, (), None),  # any model
        (1, ("T4",), "T4"),  # exactly one allowed
        (1, ("T4", "V100"), "V100"),  # V100 has more GPUs
        (1, ("V100", "A10"), "A10"),  # a tie: name order
        (1, ("T4", "H100"), "T4"),  # a model the cluster lacks counts 0
        (1, ("H100",), "H100"),  # kept: validate refuses it later
        (0, ("T4",), None),  # a CPU-only job names no model
    ],
)
def test_chosen_model(gpus: int, models: tuple[str, ...], expected: str | None) -> None:
    job = _job(1, 0, gpus, 10, models=models)
    assert chosen_model(job, {"T4": 4, "V100": 8, "A10": 8}) == expected


def test_narrowed_counts_gpu_jobs_allowing_several_models() -> None:
    jobs = [_job(1, 0, 1, 1, models=("A", "B")), _job(2, 0, 0, 1, models=("A", "B"))]
    assert narrowed([*jobs, _job(3, 0, 1, 1, models=("A",)), _job(4, 0, 1, 1)]) == 1


# --- a hand-made workload: 2 nodes x 4 GPUs, EASY, FIFO -------------------------------------

HAND_NODES = (_node("n0", 4, "T4"), _node("n1", 4, "V100"))
# (job, submit, GPUs, run, models) and the start computed by hand; estimates are exact.
#  1   0  2 any   100  n0 GPUs 0,1: both nodes empty, equal score, node order
#  2   0  4 any    50  n1 GPUs 0-3: only n1 has 4 free
#  9   0  0 (4 CPUs) 5 n1: best fit leaves 0 free GPUs there (CPU-only work keeps off free GPUs)
#  3  10  4 any    30  blocked; EASY reserves n1 at 50 (j2's end); starts 50
#  4  20  2 any    20  backfilled at 20 on n0 GPUs 2,3: does not touch n1, ends 40
#  5  30  1 V100   10  n1 busy (j2, then j3 until 80): starts 80 on n1 GPU 0
#  6  30  1 T4    500  n0 full until j4 ends at 40: starts 40 on n0 GPU 2 (lowest free)
#  7  35  8 any        refused: no node has 8 GPUs
#  8  35  2 A100       refused: no A100 in the cluster
HAND_JOBS = (
    _job(1, 0, 2, 100),
    _job(2, 0, 4, 50),
    _job(9, 0, 0, 5, procs=4),
    _job(3, 10, 4, 30),
    _job(4, 20, 2, 20),
    _job(5, 30, 1, 10, models=("V100",)),
    _job(6, 30, 1, 500, models=("T4",)),
    _job(7, 35, 8, 10),
    _job(8, 35, 2, 10, models=("A100",)),
)
HAND_STARTS = {  # job -> (start, node, GPU indices)
    1: (0, "n0", (0, 1)),
    2: (0, "n1", (0, 1, 2, 3)),
    9: (0, "n1", ()),
    3: (50, "n1", (0, 1, 2, 3)),
    4: (20, "n0", (2, 3)),
    5: (80, "n1", (0,)),
    6: (40, "n0", (2,)),
}


def test_split_fitting_checks_time_limits_when_a_partition_has_one() -> None:
    cluster, to_request = alibaba_cluster([_node("n0", 4, "T4")])
    (partition,) = cluster.partitions
    timed = replace(cluster, partitions=(replace(partition, max_time_s=60),))
    fitting = split_fitting([_job(1, 0, 1, 60), _job(2, 0, 1, 61)], timed, to_request)
    assert [job.job_id for job in fitting.kept] == [1]
    ((job_id, (problem,)),) = fitting.refused
    assert job_id == 2
    assert problem.startswith("Requested time limit is invalid")


@pytest.fixture(scope="module")
def hand() -> tuple[Cluster, Callable[[TraceJob], JobRequest], tuple[TraceJob, ...], SimResult]:
    cluster, to_request = alibaba_cluster(HAND_NODES)
    fitting = split_fitting(HAND_JOBS, cluster, to_request)
    result = Simulation(cluster, fitting.kept, EASY, to_request, keep_plans=True).run()
    return cluster, to_request, fitting.kept, result


def test_hand_made_refusals_are_counted_with_their_reasons() -> None:
    cluster, to_request = alibaba_cluster(HAND_NODES)
    fitting = split_fitting(HAND_JOBS, cluster, to_request)
    assert fitting.refused_count == 2
    assert [job_id for job_id, _ in fitting.refused] == [7, 8]
    (eight,), (a100,) = (problems for _, problems in fitting.refused)
    assert eight.startswith(NOT_AVAILABLE)
    assert "8 GPUs per node" in eight
    assert a100.startswith(NOT_AVAILABLE)
    assert "'A100'" in a100
    assert [job.job_id for job in fitting.kept] == [1, 2, 9, 3, 4, 5, 6]


def test_hand_made_starts_nodes_and_gpus(
    hand: tuple[Cluster, Callable[[TraceJob], JobRequest], tuple[TraceJob, ...], SimResult],
) -> None:
    _, _, _, result = hand
    found = {}
    for job_id, (start, allocation) in starts_of(result).items():
        (part,) = allocation.nodes
        found[job_id] = (start, part.node, part.gpu_indices)
    assert found == HAND_STARTS
    assert {r.job_id: (r.start, r.end) for r in result.records} == {
        1: (0, 100),
        2: (0, 50),
        9: (0, 5),
        3: (50, 80),
        4: (20, 40),
        5: (80, 90),
        6: (40, 540),
    }
    backfilled = {s.job_id for _, plan in result.plans for s in plan.starts if s.backfilled}
    assert backfilled == {4, 6}  # started while job 3 (then job 5) was blocked ahead of them


# Every 10 s from 0 to 540 (the last end): (time, free GPUs, stranded GPUs) by hand, from
# scheduler.fragmentation's definition (free GPUs no pending shape can use where they are).
HAND_SAMPLES = {
    0: (2, 0),  # n0 GPUs 2,3 free; no pending GPU job: 1-GPU reference shape uses both
    10: (2, 2),  # job 3 (4 GPUs) pending: n0's 2 free GPUs are of no use to it
    20: (0, 0),  # job 4 took n0's last two
    30: (0, 0),
    40: (1, 1),  # n0 GPU 3 free; pending job 3 needs 4, job 5 needs a V100
    50: (1, 1),  # job 3 on n1; job 5 (V100) cannot use n0's T4
    60: (1, 1),
    70: (1, 1),
    80: (4, 0),  # job 5 on n1 GPU 0, nothing pending
    90: (5, 0),
    100: (7, 0),
}


def test_hand_made_fragmentation_series(
    hand: tuple[Cluster, Callable[[TraceJob], JobRequest], tuple[TraceJob, ...], SimResult],
) -> None:
    cluster, to_request, jobs, result = hand
    series = fragmentation_series(cluster, jobs, to_request, result, interval_s=10)
    assert [t for t, _, _ in series.samples] == list(range(0, 541, 10))
    got = {t: (free, stranded) for t, free, stranded in series.samples}
    assert {t: got[t] for t in HAND_SAMPLES} == HAND_SAMPLES
    assert all(got[t] == (7, 0) for t in range(110, 540, 10))
    assert got[540] == (8, 0)
    # ratio 1 at 10, 40, 50, 60 and 70; 0 at the other 50 samples
    assert series.mean_stranded_ratio == pytest.approx(5 / 55)


def test_fragmentation_series_needs_the_plans(
    hand: tuple[Cluster, Callable[[TraceJob], JobRequest], tuple[TraceJob, ...], SimResult],
) -> None:
    cluster, to_request, jobs, result = hand
    with pytest.raises(ValueError, match="keep_plans=True"):
        fragmentation_series(cluster, jobs, to_request, replace(result, plans=()))
    late = tuple(replace(r, start=r.start + 1, end=r.end + 1) for r in result.records)
    with pytest.raises(ValueError, match="not from this run"):
        fragmentation_series(cluster, jobs, to_request, replace(result, records=late))
    with pytest.raises(ValueError, match="interval_s"):
        fragmentation_series(cluster, jobs, to_request, result, interval_s=0)
    empty = fragmentation_series(cluster, (), to_request, result)
    assert empty == FragmentationSeries(interval_s=3600, samples=())
    assert empty.mean_stranded_ratio == 0.0


def test_fragmentation_series_keeps_jobs_that_never_started() -> None:
    cluster, to_request = alibaba_cluster([_node("n0", 2, "T4")])
    jobs = (_job(1, 0, 1, 20), _job(2, 5, 2, 10))
    never = SimResult(  # as if job 2 had never been started
        records=Simulation(cluster, jobs[:1], EASY, to_request).run().records,
        passes=1,
        unfinished=(2,),
        plans=Simulation(cluster, jobs[:1], EASY, to_request, keep_plans=True).run().plans,
    )
    series = fragmentation_series(cluster, jobs, to_request, never, interval_s=5)
    # job 2 (2 GPUs) pending from 5 on: 1 free GPU stranded while job 1 runs, none after
    assert series.samples == ((0, 1, 0), (5, 1, 1), (10, 1, 1), (15, 1, 1), (20, 2, 0))


# --- the real trace ---------------------------------------------------------------------------

SLICE = 1000


@pytest.fixture(scope="module")
def site() -> tuple[Cluster, Callable[[TraceJob], JobRequest]]:
    return alibaba_cluster(read_alibaba_nodes(shared_trace(GPU_NODES)))


@pytest.fixture(scope="module")
def trace_jobs() -> tuple[TraceJob, ...]:
    return read_alibaba(shared_trace(TASKS)).jobs


def test_real_node_lists_through_the_mapping(
    site: tuple[Cluster, Callable[[TraceJob], JobRequest]],
) -> None:
    cluster, _ = site
    assert len(cluster.nodes) == 1213
    assert sum(len(node.gpus) for node in cluster.nodes) == 6212
    assert sum(model_gpus(cluster).values()) == 6212
    every, _ = alibaba_cluster(read_alibaba_nodes(shared_trace(ALL_NODES)))
    assert len(every.nodes) == 1523
    assert sum(1 for node in every.nodes if not node.gpus) == 310  # GPU-less nodes kept
    assert sum(len(node.gpus) for node in every.nodes) == 6212
    eight = [node for node in cluster.nodes if len(node.gpus) == 8]
    assert len(eight) == 549 + 39 + 8 + 21
    assert all([g.link_group for g in n.gpus] == [0] * 4 + [1] * 4 for n in eight)


def test_every_kept_task_fits_the_real_cluster(
    site: tuple[Cluster, Callable[[TraceJob], JobRequest]], trace_jobs: tuple[TraceJob, ...]
) -> None:
    cluster, to_request = site
    fitting = split_fitting(trace_jobs, cluster, to_request)
    assert (len(fitting.kept), fitting.refused_count) == (7255, 0)
    assert narrowed(trace_jobs) == 0  # the default task list leaves gpu_spec empty


@pytest.fixture(scope="module")
def replay(
    site: tuple[Cluster, Callable[[TraceJob], JobRequest]], trace_jobs: tuple[TraceJob, ...]
) -> tuple[tuple[TraceJob, ...], SimResult]:
    cluster, to_request = site
    jobs = split_fitting(trace_jobs, cluster, to_request).kept[:SLICE]
    return jobs, Simulation(cluster, jobs, EASY, to_request, keep_plans=True).run()


def _check_schedule(
    cluster: Cluster,
    jobs: Sequence[TraceJob],
    to_request: Callable[[TraceJob], JobRequest],
    result: SimResult,
) -> None:
    """Every job ran for its run time after its submit, on one node with exactly its GPUs of an
    allowed model, and no node ever held a GPU twice or more CPUs or MiB than it has."""
    by_id = {job.job_id: job for job in jobs}
    assert result.unfinished == ()
    assert sorted(r.job_id for r in result.records) == sorted(by_id)
    starts = starts_of(result)
    nodes = {node.name: node for node in cluster.nodes}
    # node -> [(time, +1 start / -1 end, job, cpus, mem, GPU indices)]
    events: dict[str, list[tuple[int, int, int, int, int, tuple[int, ...]]]] = defaultdict(list)
    for record in result.records:
        job = by_id[record.job_id]
        assert job.submit <= record.start <= record.end
        assert record.end - record.start == job.run_time
        (part,) = starts[job.job_id][1].nodes
        node = nodes[part.node]
        assert len(part.gpu_indices) == len(set(part.gpu_indices)) == job.gpus
        models = {node.gpus[i].model for i in part.gpu_indices}
        assert not job.gpu_models or models <= set(job.gpu_models)
        assert (part.cpus, part.mem_mb) == (to_request(job).cpus_per_node, job.mem_mb)
        if record.end > record.start:
            args = (part.cpus, part.mem_mb, part.gpu_indices)
            events[part.node].append((record.start, 1, job.job_id, *args))
            events[part.node].append((record.end, -1, job.job_id, *args))
    for name, timeline in events.items():
        node = nodes[name]
        cpus = mem = 0
        held: dict[int, int] = {}
        for _, sign, job_id, c, m, gpus in sorted(timeline, key=lambda e: (e[0], e[1])):
            cpus, mem = cpus + sign * c, mem + sign * m
            assert cpus <= node.cpus, (name, job_id)
            assert mem <= node.mem_mb, (name, job_id)
            for gpu in gpus:
                if sign > 0:
                    assert gpu not in held, f"{name} GPU {gpu}: jobs {held.get(gpu)}, {job_id}"
                    held[gpu] = job_id
                else:
                    del held[gpu]


def test_real_slice_replays_with_easy_and_gpu_packing(
    site: tuple[Cluster, Callable[[TraceJob], JobRequest]],
    replay: tuple[tuple[TraceJob, ...], SimResult],
) -> None:
    cluster, to_request = site
    jobs, result = replay
    assert len(jobs) == SLICE
    _check_schedule(cluster, jobs, to_request, result)
    summary = summarize(
        result.records, capacity=sum(n.cpus for n in cluster.nodes), gpu_capacity=6212
    )
    assert summary.jobs == SLICE
    assert 0 < summary.gpu_utilization < 1


def test_real_slice_is_deterministic(
    site: tuple[Cluster, Callable[[TraceJob], JobRequest]],
    replay: tuple[tuple[TraceJob, ...], SimResult],
) -> None:
    cluster, to_request = site
    jobs, first = replay
    again = Simulation(cluster, jobs, EASY, to_request, keep_plans=True).run()
    assert again.records == first.records
    assert again.passes == first.passes
    assert again.plans == first.plans


def _check_series(
    cluster: Cluster,
    jobs: Sequence[TraceJob],
    to_request: Callable[[TraceJob], JobRequest],
    result: SimResult,
    series: FragmentationSeries,
) -> None:
    """Bounds, and free GPUs = capacity - the GPUs of the jobs running at the instant."""
    capacity = sum(len(node.gpus) for node in cluster.nodes)
    starts = starts_of(result)
    held = [(r.start, r.end, len(starts[r.job_id][1].nodes[0].gpu_indices)) for r in result.records]
    for now, free, stranded in series.samples:
        assert 0 <= stranded <= free <= capacity
        assert free == capacity - sum(g for start, end, g in held if start <= now < end)
    assert 0.0 <= series.mean_stranded_ratio <= 1.0
    assert len(series.samples) == (series.samples[-1][0] - jobs[0].submit) // series.interval_s + 1


def test_real_slice_fragmentation_over_time(
    site: tuple[Cluster, Callable[[TraceJob], JobRequest]],
    replay: tuple[tuple[TraceJob, ...], SimResult],
) -> None:
    cluster, to_request = site
    jobs, result = replay
    series = fragmentation_series(cluster, jobs, to_request, result, interval_s=86400)
    _check_series(cluster, jobs, to_request, result, series)
    last_end = max(r.end for r in result.records)
    assert series.samples[-1][0] <= last_end < series.samples[-1][0] + 86400


def test_real_slice_under_contention(trace_jobs: tuple[TraceJob, ...]) -> None:
    """The same tasks, submitted 1,000 times as densely, on every 20th node (61 nodes, 314
    GPUs): jobs queue, EASY backfills, and the schedule keeps every invariant."""
    nodes = read_alibaba_nodes(shared_trace(GPU_NODES))[::20]
    cluster, to_request = alibaba_cluster(nodes)
    assert (len(cluster.nodes), sum(len(n.gpus) for n in cluster.nodes)) == (61, 314)
    fitting = split_fitting(scale_load(trace_jobs[:SLICE], 1000), cluster, to_request)
    jobs = fitting.kept
    result = Simulation(cluster, jobs, EASY, to_request, keep_plans=True).run()
    _check_schedule(cluster, jobs, to_request, result)
    assert sum(r.wait for r in result.records) > 0
    assert any(s.backfilled for _, plan in result.plans for s in plan.starts)
    series = fragmentation_series(cluster, jobs, to_request, result, interval_s=600)
    _check_series(cluster, jobs, to_request, result, series)
    # cross-check one busy sample against the core function on a state rebuilt independently
    now = max(series.samples, key=lambda s: (s[2], -s[0]))[0]
    starts = starts_of(result)
    requests = {job.job_id: to_request(job) for job in jobs}
    running = tuple(
        RunningJob(request=requests[r.job_id], allocation=starts[r.job_id][1], start_time=r.start)
        for r in result.records
        if r.start <= now < r.end
    )
    pending = tuple(requests[r.job_id] for r in result.records if r.submit <= now < r.start)
    expected = fragmentation(cluster, running, pending, now)
    assert (now, expected.free_gpus, expected.stranded_gpus) in series.samples
