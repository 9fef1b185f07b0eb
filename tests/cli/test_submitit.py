"""An unmodified submitit drives Berth through its commands (``sbatch``, ``sacct``, ``scancel``,
``srun`` and ``scontrol requeue`` inside the job) on PATH: a function's result comes back, and
a checkpointable job that is interrupted is requeued under the same id and finishes from its
checkpoint (SLURM-CONTRACT.md §3: submitit's default nodes=1, one task, USR2 handling)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import submitit  # a dev dependency: installed with '.[dev]'

from tests.daemon.harness import Daemon

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pickled functions live in this module: the job (whose environment is the
    submitter's, captured by sbatch) must be able to import ``tests``, as a user's job imports
    the user's code."""
    monkeypatch.setenv("PYTHONPATH", str(CHECKOUT))


def add(a: int, b: int) -> int:
    return a + b


class Resumable(submitit.helpers.Checkpointable):
    """Counts its runs in its own state, which only a checkpoint carries to the next run."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, marker: str) -> str:
        self.runs += 1
        if os.environ.get("SLURM_RESTART_COUNT") is None:
            Path(marker).write_text(os.environ["SLURM_JOB_ID"])
            time.sleep(60)  # until submitit's USR2 handler checkpoints and requeues
        return f"runs={self.runs} restarts={os.environ.get('SLURM_RESTART_COUNT')}"


def _executor(folder: Path) -> submitit.SlurmExecutor:
    executor = submitit.SlurmExecutor(folder=folder)
    executor.update_parameters(time=5)
    return executor


def test_function_result_comes_back(daemon: Daemon, in_work: Path) -> None:
    executor = _executor(in_work / "submitit-%j")
    job = executor.submit(add, 2, 40)
    assert job.result() == 42
    assert job.state == "COMPLETED" or job.done()
    record = daemon.job(int(job.job_id))
    assert record["name"] == "submitit"
    assert [step["step_id"] for step in record["steps"]] == ["batch", "0"]


def test_checkpoint_and_requeue(daemon: Daemon, in_work: Path) -> None:
    executor = _executor(in_work / "resumable")
    marker = in_work / "resumable-started"
    job = executor.submit(Resumable(), str(marker))
    daemon.wait_for(marker.exists, 60, "the first run")
    job._interrupt()  # type: ignore[attr-defined]  # submitit's own test hook: scancel --signal SIGTERM, then USR2
    assert job.result() == "runs=2 restarts=1"
    record = daemon.wait_state(int(job.job_id))
    assert (record["state"], record["restart_count"]) == ("COMPLETED", 1)
