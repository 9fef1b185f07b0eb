"""The environment of a batch job: the submitter's variables plus Slurm's.

Scripts and tools written for Slurm read their allocation from ``SLURM_*`` variables (submitit
takes its world size from ``SLURM_NTASKS``, array jobs pick their input with
``SLURM_ARRAY_TASK_ID``), so `batch_environment` sets exactly the variables a real Slurm batch
step gets (``SchedMD/slurm:src/common/env.c`` ``env_array_for_batch_job``; the list is in
``SLURM-CONTRACT.md`` §1 "Batch environment"), plus ``BERTH_SOCKET`` and ``BERTH_JOB_ID``.

Every name this module manages is first removed from the submitter's environment and then set
only when it applies, so a job submitted from inside another job never inherits a stale
``SLURM_NTASKS`` or ``SLURM_ARRAY_TASK_ID`` that contradicts its own allocation.

GPUs: ``SLURM_JOB_GPUS`` always holds the node's own indices. ``CUDA_VISIBLE_DEVICES`` holds the
indices the job's processes see: renumbered from 0 where the executor confines devices (a
container sees only its GPUs, numbered from 0; the Docker executor passes
``renumber_gpus=True``), and the node-global indices where it cannot (the process executor: no
cgroup device confinement, every GPU stays visible, so the variable must name the allocated
ones by their real index). A job without GPUs gets ``CUDA_VISIBLE_DEVICES=""``, which hides
every GPU from CUDA: on a shared machine without confinement, a CPU job must not fall onto
``cuda:0`` that someone else was given.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scheduler import compress_hostlist

#: Every variable `batch_environment` may set; an inherited value of any of them is dropped.
MANAGED = frozenset(
    {
        "SLURM_JOB_ID", "SLURM_JOBID", "SLURM_JOB_NAME", "SLURM_JOB_NODELIST", "SLURM_NODELIST",
        "SLURM_JOB_NUM_NODES", "SLURM_NNODES", "SLURM_JOB_PARTITION", "SLURM_JOB_CPUS_PER_NODE",
        "SLURM_CPUS_ON_NODE", "SLURM_NTASKS", "SLURM_NPROCS", "SLURM_TASKS_PER_NODE",
        "SLURM_CPUS_PER_TASK", "SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU", "SLURM_ARRAY_JOB_ID",
        "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP", "SLURM_SUBMIT_DIR", "SLURM_SUBMIT_HOST",
        "SLURM_CLUSTER_NAME", "SLURM_JOB_ACCOUNT", "SLURM_JOB_QOS", "SLURM_OPEN_MODE",
        "SLURM_RESTART_COUNT", "SLURM_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_JOB_GPUS",
        "CUDA_VISIBLE_DEVICES", "ENVIRONMENT", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID",
        "BERTH_SOCKET", "BERTH_JOB_ID",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchContext:
    """What the controller knows about one run of a batch job, for its environment.

    ``None`` means "not given at submit": Slurm sets ``SLURM_NTASKS`` only after ``-n`` or
    ``--ntasks-per-node``, ``SLURM_CPUS_PER_TASK`` only after ``-c``, ``SLURM_GPUS`` only after
    ``--gpus``. The batch step runs on the first node, so "this node" is ``nodes[0]``.
    """

    job_id: int  # the raw id (an array task's own id)
    name: str
    user: str
    nodes: tuple[str, ...]
    cpus_per_node: tuple[int, ...]  # one count per node, in the order of ``nodes``
    submit_dir: str
    socket_path: str  # how clients inside the job reach the daemon (BERTH_SOCKET)
    array_job_id: int | None = None
    array_task_id: int | None = None
    array_task_ids: tuple[int, ...] = ()  # every task id of the array, for COUNT/MIN/MAX/STEP
    # ... or those four numbers directly (count, min, max, step), when the ids are not kept
    array_summary: tuple[int, int, int, int] | None = None
    partition: str = ""
    account: str = ""
    qos: str = ""
    ntasks: int | None = None
    tasks_per_node: tuple[int, ...] = ()  # empty: one task per node
    cpus_per_task: int | None = None
    mem_per_node_mb: int | None = None
    mem_per_cpu_mb: int | None = None  # wins over mem_per_node_mb, as --mem-per-cpu does
    gpu_indices: tuple[int, ...] = ()  # the node-global indices allocated on this node
    gpu_uuids: tuple[str, ...] = ()  # the same GPUs by UUID, for executors that name them so
    gpus_per_job: int | None = None
    submit_host: str = ""
    cluster_name: str = ""
    restart_count: int = 0
    open_mode: str | None = None  # "a" (append) or "t" (truncate) when --open-mode was given


def batch_environment(
    submitted_env: Mapping[str, str], ctx: BatchContext, *, renumber_gpus: bool = False
) -> dict[str, str]:
    """The batch script's environment: ``submitted_env`` overlaid with Slurm's variables.

    ``renumber_gpus``: the executor confines devices, so ``CUDA_VISIBLE_DEVICES`` counts from 0;
    otherwise it holds the node-global indices (see the module docstring).
    """
    env = {key: value for key, value in submitted_env.items() if key not in MANAGED}
    env.update(_job_variables(ctx))
    env.update(_array_variables(ctx))
    env.update(_gpu_variables(ctx, renumber_gpus))
    return env


def compress_counts(counts: Iterable[int]) -> str:
    """Slurm's compressed count list: ``4,4,2`` -> ``4(x2),2`` (``SLURM_JOB_CPUS_PER_NODE``,
    ``SLURM_TASKS_PER_NODE``)."""
    runs: list[list[int]] = []
    for count in counts:
        if runs and runs[-1][0] == count:
            runs[-1][1] += 1
        else:
            runs.append([count, 1])
    return ",".join(f"{value}(x{times})" if times > 1 else str(value) for value, times in runs)


def array_step(task_ids: Iterable[int]) -> int:
    """``SLURM_ARRAY_TASK_STEP``: the greatest common divisor of the gaps between the ids
    (``--array=1-7:2`` -> 2; the rule `daemon.submission` uses too), 1 for a single task."""
    ids = sorted(set(task_ids))
    return math.gcd(*(later - earlier for earlier, later in itertools.pairwise(ids))) or 1


def _job_variables(ctx: BatchContext) -> dict[str, str]:
    nodelist = compress_hostlist(ctx.nodes)
    tasks_per_node = ctx.tasks_per_node or (1,) * len(ctx.nodes)
    env = {
        "SLURM_JOB_ID": str(ctx.job_id),
        "SLURM_JOBID": str(ctx.job_id),
        "SLURM_JOB_NAME": ctx.name,
        "SLURM_JOB_NODELIST": nodelist,
        "SLURM_NODELIST": nodelist,
        "SLURM_JOB_NUM_NODES": str(len(ctx.nodes)),
        "SLURM_NNODES": str(len(ctx.nodes)),
        "SLURM_JOB_CPUS_PER_NODE": compress_counts(ctx.cpus_per_node),
        "SLURM_CPUS_ON_NODE": str(ctx.cpus_per_node[0]) if ctx.cpus_per_node else "0",
        "SLURM_TASKS_PER_NODE": compress_counts(tasks_per_node),
        "SLURM_SUBMIT_DIR": ctx.submit_dir,
        "ENVIRONMENT": "BATCH",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "BERTH_SOCKET": ctx.socket_path,
        "BERTH_JOB_ID": str(ctx.job_id),
    }
    optional = {
        "SLURM_JOB_PARTITION": ctx.partition,
        "SLURM_JOB_ACCOUNT": ctx.account,
        "SLURM_JOB_QOS": ctx.qos,
        "SLURM_SUBMIT_HOST": ctx.submit_host,
        "SLURM_CLUSTER_NAME": ctx.cluster_name,
        "SLURM_OPEN_MODE": ctx.open_mode or "",
    }
    env.update({key: value for key, value in optional.items() if value})
    if ctx.ntasks is not None:
        env["SLURM_NTASKS"] = env["SLURM_NPROCS"] = str(ctx.ntasks)
    if ctx.cpus_per_task is not None:
        env["SLURM_CPUS_PER_TASK"] = str(ctx.cpus_per_task)
    if ctx.mem_per_cpu_mb is not None:
        env["SLURM_MEM_PER_CPU"] = str(ctx.mem_per_cpu_mb)
    elif ctx.mem_per_node_mb is not None:
        env["SLURM_MEM_PER_NODE"] = str(ctx.mem_per_node_mb)
    if ctx.restart_count > 0:
        env["SLURM_RESTART_COUNT"] = str(ctx.restart_count)
    return env


def _array_variables(ctx: BatchContext) -> dict[str, str]:
    if ctx.array_job_id is None or ctx.array_task_id is None:
        return {}
    if ctx.array_summary is not None:
        count, low, high, step = ctx.array_summary
        return {
            "SLURM_ARRAY_JOB_ID": str(ctx.array_job_id),
            "SLURM_ARRAY_TASK_ID": str(ctx.array_task_id),
            "SLURM_ARRAY_TASK_COUNT": str(count),
            "SLURM_ARRAY_TASK_MIN": str(low),
            "SLURM_ARRAY_TASK_MAX": str(high),
            "SLURM_ARRAY_TASK_STEP": str(step),
        }
    ids = ctx.array_task_ids or (ctx.array_task_id,)
    return {
        "SLURM_ARRAY_JOB_ID": str(ctx.array_job_id),
        "SLURM_ARRAY_TASK_ID": str(ctx.array_task_id),
        "SLURM_ARRAY_TASK_COUNT": str(len(set(ids))),
        "SLURM_ARRAY_TASK_MIN": str(min(ids)),
        "SLURM_ARRAY_TASK_MAX": str(max(ids)),
        "SLURM_ARRAY_TASK_STEP": str(array_step(ids)),
    }


def _gpu_variables(ctx: BatchContext, renumber: bool) -> dict[str, str]:
    env: dict[str, str] = {}
    if ctx.gpus_per_job is not None:
        env["SLURM_GPUS"] = str(ctx.gpus_per_job)
    if not ctx.gpu_indices:
        env["CUDA_VISIBLE_DEVICES"] = ""
        return env
    visible = range(len(ctx.gpu_indices)) if renumber else ctx.gpu_indices
    env["SLURM_GPUS_ON_NODE"] = str(len(ctx.gpu_indices))
    env["SLURM_JOB_GPUS"] = ",".join(str(index) for index in ctx.gpu_indices)
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(index) for index in visible)
    return env
