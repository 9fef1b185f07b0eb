"""`cli.sbatch` against a real daemon: directives, --parsable, --wrap, stdin, arrays,
dependencies, --test-only, errors; and the installed ``sbatch`` in a subprocess."""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest

from cli.sbatch import main
from tests.cli.conftest import BIN, call
from tests.daemon.harness import Daemon

SCRIPT = """#!/bin/bash
#SBATCH --job-name=directives
#SBATCH -t 00:05:00
#SBATCH --cpus-per-task 2 --mem=512M
#SBATCH --output=out-%j.txt
echo "job $SLURM_JOB_ID name $SLURM_JOB_NAME cpus $SLURM_CPUS_PER_TASK arg $1"
"""


def test_script_with_directives(
    daemon: Daemon, in_work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_work / "job.sh").write_text(SCRIPT)
    code, out, err = call(main, ["-t", "3", "job.sh", "hello"], capsys)
    assert (code, err) == (0, "")
    match = re.fullmatch(r"Submitted batch job (\d+)\n", out)
    assert match is not None
    job_id = int(match.group(1))
    job = daemon.wait_state(job_id)
    assert job["state"] == "COMPLETED"
    assert (job["name"], job["cpus_per_task"], job["mem_mb"]) == ("directives", 2, 512)
    assert job["time_limit_s"] == 180  # the command line beats the script's 5 minutes
    text = (in_work / f"out-{job_id}.txt").read_text()
    assert text == f"job {job_id} name directives cpus 2 arg hello\n"


def test_parsable_wrap_and_stdin(
    daemon: Daemon, in_work: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    code, out, _ = call(main, ["--parsable", "--wrap", "echo wrapped"], capsys)
    assert code == 0
    assert re.fullmatch(r"\d+\n", out)
    job = daemon.wait_state(int(out))
    assert job["name"] == "wrap"
    assert (in_work / f"slurm-{int(out)}.out").read_text() == "wrapped\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("#!/bin/sh\necho from stdin\n"))
    code, out, _ = call(main, ["--parsable"], capsys)
    assert daemon.wait_state(int(out))["name"] == "sbatch"
    assert (in_work / f"slurm-{int(out)}.out").read_text() == "from stdin\n"


def test_array_with_throttle_gives_one_id(
    daemon: Daemon, in_work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    echo = "echo $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID"
    _, out, _ = call(main, ["--parsable", "-a", "0-3%2", "--wrap", echo], capsys)
    array_id = int(out)
    tasks = daemon.client().get(f"/v1/jobs/{array_id}")["jobs"]
    assert [t["array_task_id"] for t in tasks] == [0, 1, 2, 3]
    assert {t["array_throttle"] for t in tasks} == {2}
    for task in tasks:
        daemon.wait_state(task["job_id"])
    assert (in_work / f"slurm-{array_id}_3.out").read_text() == f"{array_id} 3\n"


def test_dependency_waits_for_its_target(
    daemon: Daemon, in_work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, first, _ = call(main, ["--parsable", "--wrap", "sleep 1"], capsys)
    _, second, _ = call(main, ["--parsable", "-d", f"afterok:{int(first)}", "--wrap", "true"],
                        capsys)  # fmt: skip
    daemon.wait_for(lambda: daemon.job(int(second))["reason"] == "Dependency", 10)
    assert daemon.job(int(second))["state"] == "PENDING"
    daemon.wait_state(int(first))
    assert daemon.wait_state(int(second))["state"] == "COMPLETED"


def test_test_only_prints_the_estimate_and_submits_nothing(
    daemon: Daemon, in_work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(daemon.client().get("/v1/jobs", all="1")["jobs"])
    code, out, err = call(main, ["--test-only", "-n", "2", "--wrap", "true"], capsys)
    assert (code, out) == (0, "")
    assert re.fullmatch(
        r"sbatch: Job \d+ to start at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d using 2 processors on "
        r"nodes node1 in partition main\n", err)  # fmt: skip
    assert len(daemon.client().get("/v1/jobs", all="1")["jobs"]) == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--blublu=1", "--wrap", "true"], "sbatch: error: unrecognized option '--blublu=1'\n"),
        (["--wrap", "true", "-N", "9"], "sbatch: error: Requested node configuration is not"),
        (["missing.sh"], "sbatch: error: Unable to open file missing.sh\n"),
    ],
)
def test_errors_are_slurm_lines(
    daemon: Daemon, in_work: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
    message: str,
) -> None:  # fmt: skip
    code, out, err = call(main, argv, capsys)
    assert (code, out) == (1, "")
    assert err.startswith(message)


def test_installed_command(daemon: Daemon, in_work: Path) -> None:
    (in_work / "job.sh").write_text("#!/bin/sh\n#SBATCH -J installed\necho ok\n")
    result = subprocess.run([str(BIN / "sbatch"), "job.sh"], capture_output=True, text=True,
                            cwd=in_work, env=os.environ, check=False, timeout=30)  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == ""
    job_id = int(result.stdout.split()[-1])
    assert daemon.wait_state(job_id)["name"] == "installed"
