"""The batch environment: the submitter's variables plus exactly Slurm's (SLURM-CONTRACT §1)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daemon.jobenv import MANAGED, BatchContext, array_step, batch_environment, compress_counts

BASE = BatchContext(
    job_id=42,
    name="train",
    user="ada",
    nodes=("gpu01",),
    cpus_per_node=(8,),
    submit_dir="/home/ada/run",
    socket_path="/var/lib/berth/berth.sock",
)

ALWAYS = {
    "SLURM_JOB_ID": "42",
    "SLURM_JOBID": "42",
    "SLURM_JOB_NAME": "train",
    "SLURM_JOB_NODELIST": "gpu01",
    "SLURM_NODELIST": "gpu01",
    "SLURM_JOB_NUM_NODES": "1",
    "SLURM_NNODES": "1",
    "SLURM_JOB_CPUS_PER_NODE": "8",
    "SLURM_CPUS_ON_NODE": "8",
    "SLURM_TASKS_PER_NODE": "1",
    "SLURM_SUBMIT_DIR": "/home/ada/run",
    "ENVIRONMENT": "BATCH",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
    "CUDA_VISIBLE_DEVICES": "",
    "BERTH_SOCKET": "/var/lib/berth/berth.sock",
    "BERTH_JOB_ID": "42",
}


def test_a_minimal_job_gets_exactly_the_unconditional_variables() -> None:
    env = batch_environment({"HOME": "/home/ada", "PATH": "/usr/bin"}, BASE)
    assert env == {"HOME": "/home/ada", "PATH": "/usr/bin", **ALWAYS}


def test_the_submitters_stale_slurm_variables_never_contradict_the_job() -> None:
    # sbatch run from inside another job: its allocation's variables must not leak.
    submitted = {
        "SLURM_NTASKS": "64",
        "SLURM_ARRAY_TASK_ID": "3",
        "SLURM_JOB_ID": "7",
        "CUDA_VISIBLE_DEVICES": "0,1",
        "MY_VAR": "kept",
    }
    env = batch_environment(submitted, BASE)
    assert "SLURM_NTASKS" not in env
    assert "SLURM_ARRAY_TASK_ID" not in env
    assert env["SLURM_JOB_ID"] == "42"
    assert env["MY_VAR"] == "kept"
    assert env["CUDA_VISIBLE_DEVICES"] == ""  # no GPUs: none visible


def test_every_variable_set_is_a_managed_one() -> None:
    full = BatchContext(
        job_id=57,
        name="sweep",
        user="ada",
        nodes=("gpu01", "gpu02", "gpu03"),
        cpus_per_node=(4, 4, 2),
        submit_dir="/s",
        socket_path="/sock",
        array_job_id=50,
        array_task_id=7,
        array_task_ids=(1, 3, 5, 7),
        partition="gpu",
        account="physics",
        qos="high",
        ntasks=6,
        tasks_per_node=(2, 2, 2),
        cpus_per_task=2,
        mem_per_node_mb=4096,
        gpu_indices=(2, 5),
        gpu_uuids=("GPU-a", "GPU-b"),
        gpus_per_job=6,
        submit_host="login1",
        cluster_name="lab",
        restart_count=2,
        open_mode="a",
    )
    env = batch_environment({}, full)
    assert set(env) <= MANAGED
    assert env == {
        "SLURM_JOB_ID": "57",
        "SLURM_JOBID": "57",
        "SLURM_JOB_NAME": "sweep",
        "SLURM_JOB_NODELIST": "gpu[01-03]",
        "SLURM_NODELIST": "gpu[01-03]",
        "SLURM_JOB_NUM_NODES": "3",
        "SLURM_NNODES": "3",
        "SLURM_JOB_PARTITION": "gpu",
        "SLURM_JOB_CPUS_PER_NODE": "4(x2),2",
        "SLURM_CPUS_ON_NODE": "4",
        "SLURM_NTASKS": "6",
        "SLURM_NPROCS": "6",
        "SLURM_TASKS_PER_NODE": "2(x3)",
        "SLURM_CPUS_PER_TASK": "2",
        "SLURM_MEM_PER_NODE": "4096",
        "SLURM_ARRAY_JOB_ID": "50",
        "SLURM_ARRAY_TASK_ID": "7",
        "SLURM_ARRAY_TASK_COUNT": "4",
        "SLURM_ARRAY_TASK_MIN": "1",
        "SLURM_ARRAY_TASK_MAX": "7",
        "SLURM_ARRAY_TASK_STEP": "2",
        "SLURM_SUBMIT_DIR": "/s",
        "SLURM_SUBMIT_HOST": "login1",
        "SLURM_CLUSTER_NAME": "lab",
        "SLURM_JOB_ACCOUNT": "physics",
        "SLURM_JOB_QOS": "high",
        "SLURM_OPEN_MODE": "a",
        "SLURM_RESTART_COUNT": "2",
        "SLURM_GPUS": "6",
        "SLURM_GPUS_ON_NODE": "2",
        "SLURM_JOB_GPUS": "2,5",
        "CUDA_VISIBLE_DEVICES": "2,5",  # the process executor: node-global indices
        "ENVIRONMENT": "BATCH",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
        "BERTH_SOCKET": "/sock",
        "BERTH_JOB_ID": "57",
    }


@pytest.mark.parametrize(
    ("renumber", "visible"), [(False, "3,6"), (True, "0,1")], ids=["global", "renumbered"]
)
def test_cuda_visible_devices(renumber: bool, visible: str) -> None:
    ctx = replace(BASE, gpu_indices=(3, 6))
    env = batch_environment({}, ctx, renumber_gpus=renumber)
    assert env["CUDA_VISIBLE_DEVICES"] == visible
    assert env["SLURM_JOB_GPUS"] == "3,6"  # always the node's own indices
    assert "SLURM_GPUS" not in env  # --gpus was not given


def test_mem_per_cpu_wins_over_mem_per_node() -> None:
    ctx = replace(BASE, mem_per_node_mb=8000, mem_per_cpu_mb=1000)
    env = batch_environment({}, ctx)
    assert env["SLURM_MEM_PER_CPU"] == "1000"
    assert "SLURM_MEM_PER_NODE" not in env


def test_first_run_has_no_restart_count_and_a_lone_array_task_its_own_range() -> None:
    ctx = replace(BASE, array_job_id=40, array_task_id=0)
    env = batch_environment({}, ctx)
    assert "SLURM_RESTART_COUNT" not in env
    assert (env["SLURM_ARRAY_TASK_COUNT"], env["SLURM_ARRAY_TASK_MIN"]) == ("1", "0")
    assert (env["SLURM_ARRAY_TASK_MAX"], env["SLURM_ARRAY_TASK_STEP"]) == ("0", "1")


@pytest.mark.parametrize(
    ("counts", "text"),
    [((8,), "8"), ((4, 4, 2), "4(x2),2"), ((1, 2, 2, 1, 1), "1,2(x2),1(x2)"), ((), "")],
)
def test_compress_counts(counts: tuple[int, ...], text: str) -> None:
    assert compress_counts(counts) == text


@pytest.mark.parametrize(
    ("ids", "step"),
    [((0,), 1), ((0, 1, 2), 1), ((1, 3, 5, 7), 2), ((7, 1, 4), 3), ((1, 2, 9), 1), ((0, 4, 6), 2)],
)
def test_array_step(ids: tuple[int, ...], step: int) -> None:
    assert array_step(ids) == step
