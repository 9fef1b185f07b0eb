"""``srun`` outside any job: an allocation of its own, as ``salloc`` would make
(SLURM-CONTRACT.md §3 item 2).

srun submits a placeholder batch job that holds the resources (`PLACEHOLDER`: a shell that
waits), blocks until it runs - printing Slurm's ``srun: job N queued and waiting for
resources`` and then ``srun: job N has been allocated resources`` when it had to wait
(``SchedMD/slurm:src/api/allocate.c``) - exports the allocation's ``SLURM_*`` variables and
runs its tasks on this host. At the end it ends the job through its batch shell: SIGUSR1 makes
the placeholder exit 0 (the job is COMPLETED), SIGUSR2 exit 1 (FAILED), as a Slurm job created
by srun ends with its step; a shell that has not started yet is retried for a few seconds, and
if it still cannot be reached the job is cancelled. Ctrl-C while
waiting cancels the request.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cli.client import ApiError, Client
from cli.options import CommandError

PLACEHOLDER = (
    "#!/bin/sh\n"
    "# Berth: the allocation of an srun started outside any job; srun ends it.\n"
    "trap 'exit 0' USR1\n"
    "trap 'exit 1' USR2\n"
    "while :; do sleep 3600 & wait $!; done\n"
)
QUIET_WAIT_S = 0.5  # how long a pending allocation stays silent before "queued and waiting"
POLL_S = 0.1
RELEASE_RETRY_S = 3.0  # how long srun tries to reach the placeholder's shell before cancelling
_TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
             "OUT_OF_MEMORY"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Allocation:
    job_id: int
    environment: dict[str, str]


def allocate(client: Client, body: dict[str, Any]) -> Allocation:
    """Submit ``body`` (a placeholder job) and wait until it runs.

    :raises CommandError: when the job ends or is cancelled before it starts.
    """
    job_id = int(client.post("/v1/jobs", {**body, "script": PLACEHOLDER})["job_id"])
    announced = False
    started = time.monotonic()
    try:
        while True:
            job = client.get(f"/v1/jobs/{job_id}")["jobs"][0]
            if job["state"] == "RUNNING":
                break
            if job["state"] in _TERMINAL:
                raise CommandError(f"Job allocation {job_id} has been revoked.")
            if not announced and time.monotonic() - started >= QUIET_WAIT_S:
                sys.stderr.write(f"srun: job {job_id} queued and waiting for resources\n")
                announced = True
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        client.post("/v1/jobs/cancel", {"ids": [str(job_id)]})
        sys.stderr.write(f"srun: error: pending job allocation {job_id} cancelled\n")
        raise
    if announced:
        sys.stderr.write(f"srun: job {job_id} has been allocated resources\n")
    return Allocation(job_id, allocation_environment(job, body))


def allocation_environment(job: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, str]:
    """The ``SLURM_*`` variables a batch step of ``job`` would see that describe the
    allocation (``SchedMD/slurm:src/common/env.c``)."""
    parts = job.get("allocation") or []
    first = parts[0] if parts else {}
    gpus = ",".join(str(index) for index in first.get("gpus") or ())
    env = {
        "SLURM_JOB_ID": str(job["job_id"]), "SLURM_JOBID": str(job["job_id"]),
        "SLURM_JOB_NAME": str(job.get("name", "")),
        "SLURM_JOB_NODELIST": str(job.get("node_list", "")),
        "SLURM_NODELIST": str(job.get("node_list", "")),
        "SLURM_JOB_NUM_NODES": str(len(parts) or 1), "SLURM_NNODES": str(len(parts) or 1),
        "SLURM_JOB_PARTITION": str(job.get("partition", "")),
        "SLURM_JOB_CPUS_PER_NODE": ",".join(str(p.get("cpus", 0)) for p in parts),
        "SLURM_CPUS_ON_NODE": str(first.get("cpus", 0)),
        "SLURM_SUBMIT_DIR": str(job.get("workdir", os.getcwd())),
        "SLURM_JOB_ACCOUNT": str(job.get("account", "")),
        "SLURM_JOB_QOS": str(job.get("qos", "")),
        "SLURM_JOB_USER": str(job.get("user", "")), "SLURM_JOB_UID": str(job.get("uid", "")),
        "SLURM_JOB_GPUS": gpus, "SLURM_GPUS_ON_NODE": str(len(first.get("gpus") or ())),
        "CUDA_VISIBLE_DEVICES": gpus,
        "SLURMD_NODENAME": str(first.get("node", "")),
    }  # fmt: skip
    if "tasks" in body:
        env["SLURM_NTASKS"] = env["SLURM_NPROCS"] = str(body["tasks"])
    if job.get("mem_mb"):
        env["SLURM_MEM_PER_NODE"] = str(job["mem_mb"])
    return env


def release(client: Client, job_id: int, *, succeeded: bool) -> None:
    """End the placeholder job: its batch shell exits 0 (or 1), else the job is cancelled."""
    signum = signal.SIGUSR1 if succeeded else signal.SIGUSR2
    body = {"ids": [str(job_id)], "signal": int(signum), "batch_only": True}
    try:
        deadline = time.monotonic() + RELEASE_RETRY_S
        while time.monotonic() < deadline:  # the batch shell may not have started yet
            if client.post("/v1/jobs/cancel", body).get("signalled"):
                return
            time.sleep(POLL_S)
        client.post("/v1/jobs/cancel", {"ids": [str(job_id)]})
    except ApiError as err:
        sys.stderr.write(f"srun: error: could not end job allocation {job_id}: {err.message}\n")
