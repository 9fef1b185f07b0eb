"""`cli.srun`: steps inside a batch job (per-task environment, labels, output patterns, exit
status, accounting) and an srun outside any job that makes its own allocation."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli.sacct import main as sacct
from tests.cli.conftest import BIN, call, sbatch
from tests.daemon.harness import Daemon

STEPS = r"""#!/bin/bash
#SBATCH -n 3
srun -l sh -c 'echo "$SLURM_PROCID/$SLURM_NTASKS step $SLURM_STEP_ID node $SLURMD_NODENAME"' \
    | sort
srun -n 2 -o "out-%j-%s-%t.txt" sh -c 'echo "task $SLURM_PROCID pid $SLURM_TASK_PID"; echo e >&2'
srun -n 2 sh -c 'exit $((SLURM_PROCID + 2))'
echo "rc=$?"
srun -n1 sh -c 'kill -9 $$'
echo "rc=$?"
echo piped | srun --ntasks=1 cat
srun -n 2 -K sh -c 'if [ $SLURM_PROCID = 0 ]; then exit 1; fi; sleep 30'
echo "rc=$?"
"""


def test_steps_inside_a_batch_job(
    daemon: Daemon, in_work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = sbatch(STEPS, "-J", "steps")
    assert daemon.wait_state(job_id)["state"] == "COMPLETED"
    log = (in_work / f"slurm-{job_id}.out").read_text().splitlines()
    assert log[:3] == ["0: 0/3 step 0 node node1", "1: 1/3 step 0 node node1",
                       "2: 2/3 step 0 node node1"]  # fmt: skip
    assert sorted(log[3:5]) == ["srun: error: node1: task 0: Exited with exit code 2",
                                "srun: error: node1: task 1: Exited with exit code 3"]  # fmt: skip
    assert log[5:9] == ["rc=3", "srun: error: node1: task 0: Killed", "rc=137", "piped"]
    assert log[9:] == ["srun: error: node1: task 0: Exited with exit code 1",
                       "srun: error: node1: task 1: Killed", "rc=137"]  # fmt: skip
    for task in (0, 1):
        text = (in_work / f"out-{job_id}-1-{task}.txt").read_text()
        assert text.startswith(f"task {task} pid ")
        assert text.endswith("\ne\n")
    _, out, _ = call(sacct, ["-P", "-n", "-o", "JobID,State,ExitCode", "-j", str(job_id)], capsys)
    assert out.splitlines() == [
        f"{job_id}|COMPLETED|0:0", f"{job_id}.batch|COMPLETED|0:0", f"{job_id}.0|COMPLETED|0:0",
        f"{job_id}.1|COMPLETED|0:0", f"{job_id}.2|FAILED|3:0", f"{job_id}.3|CANCELLED|0:9",
        f"{job_id}.4|COMPLETED|0:0", f"{job_id}.5|CANCELLED|1:9",
    ]  # fmt: skip


def test_srun_outside_a_job_allocates(daemon: Daemon, in_work: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    result = subprocess.run(
        [str(BIN / "srun"), "-n", "2", "-J", "outside", "sh", "-c",
         'echo "$SLURM_PROCID $SLURM_JOB_ID $SLURM_JOB_NODELIST"'],
        capture_output=True, text=True, env=env, cwd=in_work, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = sorted(result.stdout.splitlines())
    job_id = int(lines[0].split()[1])
    assert lines == [f"0 {job_id} node1", f"1 {job_id} node1"]
    job = daemon.wait_state(job_id)
    assert (job["name"], job["state"], job["tasks"]) == ("outside", "COMPLETED", 2)
    _, out, _ = call(sacct, ["-P", "-n", "-o", "JobID,State", "-j", f"{job_id}.0"], capsys)
    assert out == f"{job_id}.0|COMPLETED\n"
    failing = subprocess.run([str(BIN / "srun"), "false"], capture_output=True, text=True,
                             env=env, cwd=in_work, check=False, timeout=60)  # fmt: skip
    assert failing.returncode == 1
    assert failing.stderr.endswith(": task 0: Exited with exit code 1\n")


def test_srun_errors(capsys: pytest.CaptureFixture[str], daemon: Daemon) -> None:
    from cli.srun import main

    assert call(main, [], capsys) == (1, "", "srun: error: No command given to execute.\n")
    code, _, err = call(main, ["-N", "2", "true"], capsys)
    assert code == 1
    assert "one node" in err
