"""`cli.squeue` against a real daemon: default columns, ``-o``/``-O``, ``-t all``, array
folding with a throttle, ``--start``, filters, ``--json``, errors; the installed command."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cli.scancel import main as scancel
from cli.squeue import main
from tests.cli.conftest import BIN, call
from tests.daemon.harness import Daemon

HEADER = "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)\n"


def _submit(daemon: Daemon, name: str, script: str = "#!/bin/sh\nsleep 30\n", **extra: object
            ) -> int:  # fmt: skip
    return daemon.submit(script, name=name, **extra)


def test_running_job_in_default_columns(daemon: Daemon, capsys: pytest.CaptureFixture[str]
                                        ) -> None:  # fmt: skip
    job_id = _submit(daemon, "runner")
    daemon.wait_state(job_id, {"RUNNING"})
    code, out, err = call(main, ["-j", str(job_id)], capsys)
    assert (code, err) == (0, "")
    assert out.startswith(HEADER)
    line = out.splitlines()[1]
    assert line.split() == [str(job_id), "main", "runner", "root", "R", line.split()[5], "1",
                            "node1"]  # fmt: skip
    code, out, _ = call(main, ["--noheader", "-o", "%i %t|%j", "-n", "runner"], capsys)
    assert out == f"{job_id} R|runner\n"
    call(scancel, [str(job_id)], capsys)


def test_array_folds_pending_tasks_with_throttle(daemon: Daemon, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:  # fmt: skip
    array = daemon.submit("#!/bin/sh\nsleep 30\n", name="arr",
                          array={"indices": list(range(6)), "throttle": 2})  # fmt: skip
    daemon.wait_for(lambda: sum(j["state"] == "RUNNING"
                                for j in daemon.client().get(f"/v1/jobs/{array}")["jobs"]) == 2)
    _, out, _ = call(main, ["-h", "-o", "%i %t %r", "-n", "arr"], capsys)
    lines = out.splitlines()
    assert lines[0] == f"{array}_[2-5%2] PD JobArrayTaskLimit"
    assert sorted(lines[1:]) == [f"{array}_0 R None", f"{array}_1 R None"]
    _, out, _ = call(main, ["-h", "-r", "-o", "%i", "-n", "arr", "-t", "PD"], capsys)
    assert out.split() == [f"{array}_{i}" for i in range(2, 6)]
    _, out, _ = call(main, ["-h", "-O", "JobArrayID:20,StateCompact:.3", "-n", "arr"], capsys)
    assert out.splitlines()[0] == f"{array}_[2-5%2]".ljust(20) + " PD"
    call(scancel, [str(array)], capsys)
    _, out, _ = call(main, ["-h", "-o", "%i %t", "-t", "all", "-n", "arr"], capsys)
    assert f"{array}_5 CA" in out.splitlines()  # running tasks may still be completing (CG)


def test_states_all_start_json_and_filters(daemon: Daemon, capsys: pytest.CaptureFixture[str]
                                           ) -> None:  # fmt: skip
    done = _submit(daemon, "quick", "#!/bin/sh\ntrue\n")
    daemon.wait_state(done)
    _, out, _ = call(main, ["-h", "-o", "%i %t", "-n", "quick"], capsys)
    assert out == ""  # finished jobs need -t
    _, out, _ = call(main, ["-h", "-o", "%i %t", "-n", "quick", "-t", "all"], capsys)
    assert out == f"{done} CD\n"
    _, out, _ = call(main, ["-h", "-o", "%i %T", "-j", str(done)], capsys)
    assert out == f"{done} COMPLETED\n"  # -j shows a job in any state
    _, out, _ = call(main, ["--me", "-t", "all", "-n", "quick", "--json"], capsys)
    assert [job["job_id"] for job in json.loads(out)["jobs"]] == [done]
    _, out, _ = call(main, ["-h", "-u", "nobody", "-t", "all"], capsys)
    assert out == ""
    held = _submit(daemon, "held", hold=True)
    _, out, _ = call(main, ["--start", "-n", "held"], capsys)
    assert out.splitlines()[0].split()[:7] == ["JOBID", "PARTITION", "NAME", "USER", "ST",
                                               "START_TIME", "NODES"]  # fmt: skip
    assert out.splitlines()[1].split()[:5] == [str(held), "main", "held", "root", "PD"]
    call(scancel, [str(held)], capsys)


def test_time_limit_unlimited_and_errors(daemon: Daemon, capsys: pytest.CaptureFixture[str]
                                         ) -> None:  # fmt: skip
    held = _submit(daemon, "limits", hold=True, time="UNLIMITED")
    _, out, _ = call(main, ["-h", "-o", "%l", "-j", str(held)], capsys)
    assert out == "1:00:00\n"  # the partition's limit
    code, out, err = call(main, ["-j", "999999"], capsys)
    assert (code, out, err) == (1, "", "slurm_load_jobs error: Invalid job id specified\n")
    code, _, err = call(main, ["-t", "bogus"], capsys)
    assert (code, err) == (1, "squeue: error: Invalid job state specified: bogus\n")
    code, _, err = call(main, ["--bogus"], capsys)
    assert code == 1
    assert err.startswith("squeue: error: unrecognized option '--bogus'")
    call(scancel, [str(held)], capsys)


def test_installed_command(daemon: Daemon, in_work: Path) -> None:
    job_id = _submit(daemon, "installed")
    result = subprocess.run([str(BIN / "squeue"), "--noheader", "-o", "%i %t", "-t", "all",
                             "-n", "installed"], capture_output=True, text=True, env=os.environ,
                            check=True, timeout=30)  # fmt: skip
    assert result.stdout in (f"{job_id} PD\n", f"{job_id} R\n")
    assert result.stderr == ""
    subprocess.run([str(BIN / "scancel"), str(job_id)], check=True, env=os.environ, timeout=30)
