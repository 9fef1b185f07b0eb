"""`cli.sacct` against a real daemon: ``exit 3`` -> ``FAILED 3:0``, parsable modes, fixed
widths, steps, ``-j`` forms, the window, ``Unknown arguments``; the installed command."""

from __future__ import annotations

import os
import subprocess

import pytest

from cli.sacct import main
from tests.cli.conftest import BIN, call
from tests.daemon.harness import Daemon


@pytest.fixture(scope="module")
def failed(daemon: Daemon) -> int:
    job_id = daemon.submit("#!/bin/sh\nexit 3\n", name="three")
    daemon.wait_state(job_id)
    return job_id


def test_exit_3_is_failed_3_0(failed: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(main, ["-P", "-o", "JobID,State,ExitCode", "-j", str(failed)], capsys)
    assert (code, err) == (0, "")
    assert out == (f"JobID|State|ExitCode\n{failed}|FAILED|3:0\n{failed}.batch|FAILED|3:0\n")
    _, out, _ = call(main, ["-p", "-X", "-n", "-o", "jobid,jobname", "-j", str(failed)], capsys)
    assert out == f"{failed}|three|\n"


def test_fixed_width_and_truncation(failed: int, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = call(main, ["-X", "-j", str(failed), "-o", "JobID,State%4,NodeList%-8"], capsys)
    assert out.splitlines() == ["JobID        Stat NodeList ", "------------ ---- -------- ",
                                f"{failed!s:<12} FAI+ node1    "]  # fmt: skip
    _, out, _ = call(main, ["-j", str(failed), "-n", "-X", "-o", "nodelist%-256"], capsys)
    assert out == "node1".ljust(256) + " \n"


def test_job_id_forms_and_filters(daemon: Daemon, failed: int, capsys: pytest.CaptureFixture[str]
                                  ) -> None:  # fmt: skip
    array = daemon.submit("#!/bin/sh\ntrue\n", name="arr", array={"indices": [1, 2]})
    for job in daemon.client().get(f"/v1/jobs/{array}")["jobs"]:
        daemon.wait_state(job["job_id"])
    _, out, _ = call(main, ["-X", "-P", "-n", "-o", "JobID,JobIDRaw", "-j", str(array)], capsys)
    assert out == f"{array}_1|{array}\n{array}_2|{array + 1}\n"
    _, out, _ = call(main, ["-X", "-P", "-n", "-o", "JobID", "-j", f"{array}_2"], capsys)
    assert out == f"{array}_2\n"
    _, out, _ = call(main, ["-P", "-n", "-o", "JobID,State", "-j", f"{failed}.batch"], capsys)
    assert out == f"{failed}.batch|FAILED\n"
    _, out, _ = call(main, ["-P", "-n", "-o", "Reason", "-j", f"{failed}.0"], capsys)
    assert out == ""  # no such step: nothing, exit 0
    _, out, _ = call(main, ["-X", "-P", "-n", "--format=JobIdRaw,State", "--name", "three",
                            "--starttime", "now-1hour", "--endtime", "now", "-M", "all"],
                     capsys)  # fmt: skip
    assert out == f"{failed}|FAILED\n"
    _, out, _ = call(main, ["-X", "-P", "-n", "-o", "JobID", "-s", "CD", "-j", str(failed)],
                     capsys)  # fmt: skip
    assert out == ""


def test_errors(capsys: pytest.CaptureFixture[str], daemon: Daemon) -> None:
    code, out, err = call(main, ["-o", "Account%256", "extra", "words"], capsys)
    assert (code, out) == (1, "")
    assert err == "sacct: error: Unknown arguments:\nsacct: error:  extra\nsacct: error:  words\n"
    code, _, err = call(main, ["-o", "Bogus"], capsys)
    assert (code, err) == (1, 'sacct: error: Invalid field requested: "Bogus"\n')


def test_installed_command_probe(daemon: Daemon, failed: int) -> None:
    result = subprocess.run([str(BIN / "sacct"), "-X"], capture_output=True, text=True,
                            env=os.environ, check=False, timeout=30)  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.split("\n")[0].split() == ["JobID", "JobName", "Partition", "Account",
                                                    "AllocCPUS", "State", "ExitCode"]
