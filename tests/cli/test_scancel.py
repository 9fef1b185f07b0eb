"""`cli.scancel` against a real daemon: by id, user and name; silent exit 0 for finished and
unknown ids; ``--signal`` reaching srun's steps and not the batch shell, ``-b`` the batch shell
only; the installed command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli.sacct import main as sacct
from cli.scancel import main
from tests.cli.conftest import BIN, call, sbatch
from tests.daemon.harness import Daemon

SLEEP = "#!/bin/sh\nsleep 30\n"


def test_cancel_by_id_name_and_user(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    # Held, so each cancel meets a pending job: a job cancelled in the instant between being
    # recorded RUNNING and its launch can stay COMPLETING (a daemon race, reported).
    first = daemon.submit(SLEEP, name="keep", hold=True)
    second = daemon.submit(SLEEP, name="drop", hold=True)
    assert call(main, [str(second)], capsys) == (0, "", "")
    assert daemon.wait_state(second)["state"] == "CANCELLED"
    assert daemon.job(first)["state"] == "PENDING"
    third = daemon.submit(SLEEP, name="byname", hold=True)
    assert call(main, ["-n", "byname"], capsys) == (0, "", "")
    assert daemon.wait_state(third)["state"] == "CANCELLED"
    assert daemon.job(first)["state"] == "PENDING"
    assert call(main, ["-u", "root"], capsys) == (0, "", "")
    job = daemon.wait_state(first)
    assert (job["state"], job["cancelled_by"]) == ("CANCELLED", 0)
    _, out, _ = call(sacct, ["-X", "-n", "-P", "-o", "State", "-j", str(first)], capsys)
    assert out == "CANCELLED by 0\n"


def test_finished_and_unknown_ids_are_silent(daemon: Daemon, capsys: pytest.CaptureFixture[str]
                                             ) -> None:  # fmt: skip
    done = daemon.submit("#!/bin/sh\ntrue\n")
    daemon.wait_state(done)
    assert call(main, [str(done), "999999", "999998_4"], capsys) == (0, "", "")
    code, out, err = call(main, ["999999", "--signal", "TERM"], capsys)
    assert (code, out) == (1, "")
    assert err == "scancel: error: Kill job error on job id 999999: Invalid job id specified\n"
    code, _, err = call(main, [], capsys)
    assert code == 1
    assert err.startswith("scancel: error: No job identification provided")


STEP_AND_BATCH = """#!/bin/bash
trap 'echo batch-usr1; touch batch-done-$SLURM_JOB_ID' USR1
srun bash -c 'trap "echo step-usr1; exit 0" USR1; touch step-ready-$SLURM_JOB_ID
              while :; do sleep 0.1; done'
echo step-done
while [ ! -e batch-done-$SLURM_JOB_ID ]; do sleep 0.1; done
"""


def test_signal_reaches_steps_then_batch(
    daemon: Daemon, in_work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = sbatch(STEP_AND_BATCH, "-J", "signals")
    log = in_work / f"slurm-{job_id}.out"
    daemon.wait_for(lambda: (in_work / f"step-ready-{job_id}").exists(), 20, "the step")
    assert call(main, [str(job_id), "--signal=USR1"], capsys) == (0, "", "")
    daemon.wait_for(lambda: log.exists() and "step-done" in log.read_text(), 10, "step end")
    assert call(main, ["-b", "-s", "SIGUSR1", str(job_id)], capsys) == (0, "", "")
    assert daemon.wait_state(job_id)["state"] == "COMPLETED"
    lines = log.read_text().splitlines()  # the step's `sleep` may add "User defined signal 1"
    assert [line for line in lines if "-" in line] == ["step-usr1", "step-done", "batch-usr1"]
    _, out, _ = call(sacct, ["-P", "-n", "-o", "JobID,JobName,State", "-j", str(job_id)], capsys)
    assert out.splitlines() == [f"{job_id}|signals|COMPLETED", f"{job_id}.batch|batch|COMPLETED",
                                f"{job_id}.0|bash|COMPLETED"]  # fmt: skip


def test_signal_without_a_step_is_an_error(daemon: Daemon, capsys: pytest.CaptureFixture[str]
                                           ) -> None:  # fmt: skip
    job_id = daemon.submit("#!/bin/sh\ntouch started-$SLURM_JOB_ID\nsleep 30\n")
    daemon.wait_for(lambda: (daemon.work / f"started-{job_id}").exists(), 20, "the job")
    code, _, err = call(main, ["--signal", "USR2", str(job_id)], capsys)
    assert code == 1
    assert "no running step" in err
    assert call(main, ["-Q", "--signal", "USR2", str(job_id)], capsys) == (1, "", "")
    assert call(main, ["--full", "--signal", "KILL", str(job_id)], capsys) == (0, "", "")
    assert daemon.wait_state(job_id)["state"] == "FAILED"


def test_installed_command(daemon: Daemon) -> None:
    job_id = daemon.submit("#!/bin/sh\ntouch started-$SLURM_JOB_ID\nsleep 30\n")
    daemon.wait_for(lambda: (daemon.work / f"started-{job_id}").exists(), 20, "the job")
    result = subprocess.run([str(BIN / "scancel"), str(job_id)], capture_output=True, text=True,
                            env=os.environ, check=False, timeout=30)  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert daemon.wait_state(job_id)["state"] == "CANCELLED"
