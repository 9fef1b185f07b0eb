"""`sim.workloads.alibaba`: the conversion rules on hand-made rows, errors, and the counts of
traces/README.md on the shared openb files."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from sim.workloads.alibaba import (
    DROP_NEGATIVE_RUN,
    DROP_NO_END,
    DROP_UNSCHEDULED,
    SET_WHOLE_CPU,
    SET_WHOLE_GPU,
    TASK_COLUMNS,
    AlibabaTask,
    TraceNode,
    alibaba_jobs,
    read_alibaba,
    read_alibaba_nodes,
    read_alibaba_tasks,
)
from sim.workloads.swf import TraceFormatError, TraceJob
from tests.sim import shared_trace

TASKS = "alibaba-gpu-v2023-openb_pod_list_default.csv.gz"
ALL_NODES = "alibaba-gpu-v2023-openb_node_list_all_node.csv.gz"
GPU_NODES = "alibaba-gpu-v2023-openb_node_list_gpu_node.csv.gz"
MODELS = {"G2": 549, "T4": 404, "P100": 134, "V100M16": 55, "G3": 39, "V100M32": 30, "A10": 2}

HEADER = ",".join(TASK_COLUMNS)
ROWS = [
    "pod-a,12000,16384,1,1000,,LS,Running,0,500,100",  # whole GPU, waited 100 s
    "pod-b,6500,12288,1,460,V100M16|V100M32,BE,Succeeded,10,70,10",  # shared GPU, 6.5 CPUs
    "pod-c,4000,0,0,0,,,Failed,20,20,20",  # no GPU, no QoS, ran 0 s
    "pod-d,8000,65536,8,1000,A10,Burstable,Pending,30,900,",  # never scheduled
    "pod-e,8000,65536,2,1000,,LS,Running,40,,50",  # no deletion time
    "pod-f,8000,65536,2,1000,,LS,Failed,5,40,60",  # deleted before scheduled
]


def _write(tmp_path: Path, lines: list[str], *, packed: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    path = tmp_path / "tasks.csv"
    if packed:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_rows_become_jobs_by_the_documented_rules(tmp_path: Path) -> None:
    trace = read_alibaba(_write(tmp_path, [HEADER, *ROWS]))
    assert (trace.tasks, trace.source) == (6, str(tmp_path / "tasks.csv"))
    assert trace.jobs == (
        TraceJob(
            job_id=1,
            submit=0,
            run_time=400,  # deletion 500 - scheduled 100
            estimate=400,
            procs=12,
            user="LS",
            status=-1,  # Running: outcome unknown
            gpus=1,
            mem_mb=16384,
            qos="LS",
            name="pod-a",
            trace_wait=100,
        ),
        TraceJob(
            job_id=2,
            submit=10,
            run_time=60,
            estimate=60,
            procs=7,  # 6500 milli-CPUs round up
            user="BE",
            status=1,
            gpus=1,  # 460 milli-GPU rounds up to one whole GPU
            gpu_models=("V100M16", "V100M32"),
            mem_mb=12288,
            qos="BE",
            name="pod-b",
            trace_wait=0,
        ),
        TraceJob(
            job_id=3,
            submit=20,
            run_time=0,
            estimate=0,
            procs=4,
            user="unknown",
            status=0,
            qos="unknown",
            name="pod-c",
            trace_wait=0,
        ),
    )
    assert trace.report == (
        (DROP_NEGATIVE_RUN, 1),
        (DROP_UNSCHEDULED, 1),
        (DROP_NO_END, 1),
        (SET_WHOLE_CPU, 1),
        (SET_WHOLE_GPU, 1),
    )
    assert trace.count(DROP_UNSCHEDULED) == 1


def test_tasks_are_kept_as_read(tmp_path: Path) -> None:
    tasks = read_alibaba_tasks(_write(tmp_path, [HEADER, *ROWS], packed=True))
    assert len(tasks) == 6
    assert tasks[3] == AlibabaTask(
        name="pod-d",
        cpu_milli=8000,
        memory_mib=65536,
        num_gpu=8,
        gpu_milli=1000,
        gpu_spec=("A10",),
        qos="Burstable",
        pod_phase="Pending",
        creation_time=30,
        deletion_time=900,
        scheduled_time=None,
    )


def test_jobs_sorted_by_submit_then_row() -> None:
    def task(name: str, created: int) -> AlibabaTask:
        return AlibabaTask(
            name=name,
            cpu_milli=1000,
            memory_mib=1024,
            num_gpu=0,
            gpu_milli=0,
            gpu_spec=(),
            qos="LS",
            pod_phase="Succeeded",
            creation_time=created,
            deletion_time=created + 5,
            scheduled_time=created,
        )

    trace = alibaba_jobs([task("late", 9), task("early", 1), task("tie", 1)])
    assert [(job.job_id, job.name) for job in trace.jobs] == [(2, "early"), (3, "tie"), (1, "late")]
    assert (trace.source, trace.report) == ("<tasks>", ())


def test_nodes(tmp_path: Path) -> None:
    path = tmp_path / "nodes.csv"
    path.write_text(
        "sn,cpu_milli,memory_mib,gpu,model\nn0,96000,786432,8,V100M32\nn1,32500,1024,0,\n"
    )
    assert read_alibaba_nodes(path) == (
        TraceNode(name="n0", cpus=96, mem_mb=786432, gpus=8, gpu_model="V100M32"),
        TraceNode(name="n1", cpus=32, mem_mb=1024, gpus=0, gpu_model=None),
    )


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["name,cpu_milli", "a,1"], ":1: missing column(s): memory_mib, num_gpu"),
        ([HEADER, ROWS[0], ROWS[1].replace("6500", "6.5k")], ":3: cpu_milli is not an integer"),
        ([HEADER, "pod-x,1000,1"], ":2: too few fields (no num_gpu)"),
        ([HEADER, ROWS[0].replace(",0,500,100", ",,500,100")], ":2: creation_time is not an int"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, lines: list[str], problem: str) -> None:
    path = _write(tmp_path, lines)
    with pytest.raises(TraceFormatError, match=r"^.*tasks\.csv") as caught:
        read_alibaba_tasks(path)
    assert str(caught.value).startswith(f"{path}{problem}")


def test_shared_task_counts_match_the_readme() -> None:
    tasks = read_alibaba_tasks(shared_trace(TASKS))
    assert len(tasks) == 8152
    assert Counter(task.num_gpu for task in tasks) == {0: 1088, 1: 6989, 2: 16, 4: 15, 8: 44}
    assert sum(1 for task in tasks if task.num_gpu == 1 and task.gpu_milli < 1000) == 3078
    phases = Counter(task.pod_phase for task in tasks)
    assert phases == {"Running": 5193, "Failed": 1870, "Pending": 897, "Succeeded": 192}
    assert all((task.scheduled_time is None) == (task.pod_phase == "Pending") for task in tasks)


def test_shared_trace_as_jobs() -> None:
    trace = read_alibaba(shared_trace(TASKS))
    assert (trace.tasks, len(trace.jobs)) == (8152, 8152 - 897)
    assert trace.report == (
        (DROP_UNSCHEDULED, 897),  # the Pending pods
        (SET_WHOLE_CPU, 4983),
        (SET_WHOLE_GPU, 2573),  # the 3,078 shared-GPU tasks less the Pending ones
    )
    assert Counter(job.gpus for job in trace.jobs) == {0: 1052, 1: 6129, 2: 15, 4: 15, 8: 44}
    assert {job.user for job in trace.jobs} == {"LS", "BE", "Burstable", "Guaranteed"}
    assert all(job.run_time >= 0 and job.trace_wait >= 0 for job in trace.jobs)
    keys = [(job.submit, job.job_id) for job in trace.jobs]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("name", "nodes", "gpu_nodes"), [(ALL_NODES, 1523, 1213), (GPU_NODES, 1213, 1213)]
)
def test_shared_nodes_match_the_readme(name: str, nodes: int, gpu_nodes: int) -> None:
    found = read_alibaba_nodes(shared_trace(name))
    assert len(found) == nodes
    assert sum(node.gpus for node in found) == 6212
    assert sum(1 for node in found if node.gpus) == gpu_nodes
    models = Counter(node.gpu_model for node in found if node.gpu_model)
    assert models == MODELS
    assert all(node.cpus > 0 and node.mem_mb > 0 for node in found)
