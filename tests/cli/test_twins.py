"""``berth submit/queue/cancel/info/acct/control``: the Slurm commands under friendlier names;
plain Slurm text when stdout is not a terminal, a Rich table when it is."""

from __future__ import annotations

import re

import pytest

from cli.main import main
from cli.squeue import run as squeue_run
from tests.cli.conftest import call
from tests.daemon.harness import Daemon


def test_twins_print_slurm_text_off_a_terminal(
    daemon: Daemon, in_work: object, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, out, _ = call(main, ["submit", "-H", "--wrap", "sleep 30", "-J", "twin"], capsys)
    job_id = int(re.fullmatch(r"Submitted batch job (\d+)\n", out).group(1))  # type: ignore[union-attr]
    _, out, _ = call(main, ["queue", "-h", "-o", "%i %j", "-n", "twin"], capsys)
    assert out == f"{job_id} twin\n"
    assert call(main, ["info", "-o", "%P"], capsys) == (0, "PARTITION\nmain*\n", "")
    _, out, _ = call(main, ["control", "show", "config"], capsys)
    assert "MinJobAge               = 600 sec" in out
    assert call(main, ["cancel", str(job_id)], capsys) == (0, "", "")
    daemon.wait_state(job_id)
    _, out, _ = call(main, ["acct", "-X", "-P", "-n", "-o", "State", "-j", str(job_id)], capsys)
    assert out == "CANCELLED by 0\n"


def test_rich_table_on_a_terminal(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    job_id = daemon.submit("#!/bin/sh\nsleep 30\n", name="tabled", hold=True)
    assert squeue_run(["-n", "tabled"], rich=True) == 0
    out = capsys.readouterr().out
    assert "┃" in out or "|" in out
    assert "JOBID" in out
    assert str(job_id) in out
    assert "tabled" in out
    daemon.client().post("/v1/jobs/cancel", {"ids": [str(job_id)]})
