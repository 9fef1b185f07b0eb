"""`cli.scontrol` against a real daemon: ``show config/job/node/partition/hostnames``,
``hold``/``release``, ``update``, and ``requeue`` from inside the job (same id,
``SLURM_RESTART_COUNT=1``, the log appended)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cli.scontrol import main
from tests.cli.conftest import BIN, call, sbatch
from tests.daemon.harness import Daemon

REQUEUE_ONCE = """#!/bin/bash
echo "run ${SLURM_RESTART_COUNT:-0}"
if [ -z "$SLURM_RESTART_COUNT" ]; then
    scontrol requeue $SLURM_JOB_ID || echo "requeue failed"
    sleep 30
fi
echo done
"""


def test_requeue_from_inside_the_job(daemon: Daemon, in_work: Path) -> None:
    job_id = sbatch(REQUEUE_ONCE, "-J", "requeue")
    daemon.wait_for(lambda: daemon.job(job_id)["restart_count"] == 1, 30, "the requeue")
    job = daemon.wait_state(job_id)
    assert (job["job_id"], job["state"], job["restart_count"]) == (job_id, "COMPLETED", 1)
    log = (in_work / f"slurm-{job_id}.out").read_text()
    assert log == "run 0\nrun 1\ndone\n"  # the same file, appended to


def test_show_config(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(main, ["show", "config"], capsys)
    assert (code, err) == (0, "")
    assert "MinJobAge               = 600 sec\n" in out
    assert "MaxArraySize            = 1001\n" in out
    _, out, _ = call(main, ["--json", "show", "config"], capsys)
    assert json.loads(out)["config"]["MinJobAge"] == "600 sec"


def test_hold_release_update_and_show_job(daemon: Daemon, capsys: pytest.CaptureFixture[str]
                                          ) -> None:  # fmt: skip
    job_id = daemon.submit("#!/bin/sh\ntrue\n", name="held", hold=True)
    daemon.wait_for(lambda: daemon.job(job_id)["reason"] == "JobHeldUser", 10)
    assert call(main, ["update", f"JobId={job_id}", "TimeLimit=5", "Nice=10",
                       "JobName=renamed"], capsys) == (0, "", "")  # fmt: skip
    _, out, _ = call(main, ["show", "job", str(job_id)], capsys)
    assert out.startswith(f"JobId={job_id} JobName=renamed\n")
    assert "   Priority=0 Nice=10 " in out
    assert "JobState=PENDING Reason=JobHeldUser" in out
    assert "TimeLimit=00:05:00" in out
    _, out, _ = call(main, ["-o", "show", "job", str(job_id)], capsys)
    assert out.count("\n") == 1
    assert "JobState=PENDING" in out
    assert call(main, ["release", str(job_id)], capsys) == (0, "", "")
    assert daemon.wait_state(job_id)["state"] == "COMPLETED"
    assert call(main, ["hold", "999999"], capsys)[0] == 1
    code, out, err = call(main, ["show", "job", "999999"], capsys)
    assert (code, err) == (1, "slurm_load_jobs error: Invalid job id specified\n")
    code, _, err = call(main, ["update", f"JobId={job_id}", "Bogus=1"], capsys)
    assert code == 1
    assert "not supported: bogus" in err


def test_show_nodes_partitions_and_hostnames(
    daemon: Daemon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = call(main, ["show", "node", "node1"], capsys)
    assert out.startswith("NodeName=node1\n")
    assert "CPUTot=4" in out
    assert "Gres=gpu:2" in out
    _, out, _ = call(main, ["show", "partition"], capsys)
    assert out.startswith("PartitionName=main\n")
    assert "MaxTime=01:00:00" in out
    assert call(main, ["show", "hostnames", "n[1-2],gpu07"], capsys) == (0, "n1\nn2\ngpu07\n", "")
    monkeypatch.setenv("SLURM_JOB_NODELIST", "node[3-4]")
    assert call(main, ["show", "hostnames"], capsys) == (0, "node3\nnode4\n", "")
    assert call(main, ["show", "hostlist", "n1,n2,n3"], capsys) == (0, "n[1-3]\n", "")


def test_installed_command(daemon: Daemon) -> None:
    result = subprocess.run([str(BIN / "scontrol"), "show", "config"], capture_output=True,
                            text=True, env=os.environ, check=True, timeout=30)  # fmt: skip
    assert "MinJobAge               = 600 sec" in result.stdout
