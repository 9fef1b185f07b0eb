"""Slurm's filename patterns, one row per case; expectations from ``expand_stdio_fields``
(``SchedMD/slurm:src/common/print_fields.c``) and the sbatch manual."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from daemon.filenames import NOT_AN_ARRAY_TASK, default_output, expand_pattern, resolve_output

JOB: dict[str, Any] = {"job_id": 42, "user": "ada", "name": "train"}
ARRAY_TASK: dict[str, Any] = {
    "job_id": 57,
    "array_job_id": 50,
    "array_task_id": 7,
    "user": "ada",
    "name": "sweep",
}
BATCH: dict[str, Any] = {**JOB, "node": "gpu01", "node_index": 0, "task_id": 0}


@pytest.mark.parametrize(
    ("pattern", "fields", "expected"),
    [
        ("slurm-%j.out", JOB, "slurm-42.out"),
        ("slurm-%A_%a.out", ARRAY_TASK, "slurm-50_7.out"),
        ("%j", ARRAY_TASK, "57"),  # %j is the task's own raw id
        ("%A", JOB, "42"),  # not an array: the job id
        ("%a", JOB, str(NOT_AN_ARRAY_TASK)),  # not an array: NO_VAL, as Slurm prints it
        ("%b", ARRAY_TASK, "7"),
        ("%b", {**ARRAY_TASK, "array_task_id": 23}, "3"),
        ("%5j.out", JOB, "00042.out"),
        ("%3a", ARRAY_TASK, "007"),
        ("%12j", JOB, "0000000042"),  # padding stops at 10
        ("%J", JOB, "42"),  # the batch step
        ("%J", {**JOB, "step": 3}, "42.3"),
        ("%4J", {**JOB, "step": 3}, "0042.3"),
        ("%s", JOB, "batch"),
        ("%s", {**JOB, "step": 2}, "2"),
        ("%u-%x", JOB, "ada-train"),
        ("%5x", JOB, "train"),  # padding is ignored for words
        ("%N.%n.%t", BATCH, "gpu01.0.0"),
        ("%2t", {**BATCH, "task_id": 3}, "03"),
        ("100%%-%j", JOB, "100%-42"),
        ("%%j", JOB, "%j"),
        ("%%%j", JOB, "%42"),
        ("a%zb%q", JOB, "a%zb%q"),  # unknown letters stay
        ("end%", JOB, "end%"),
        ("/abs/%x/%j.log", JOB, "/abs/train/42.log"),
    ],
)
def test_expand_pattern(pattern: str, fields: dict[str, Any], expected: str) -> None:
    assert expand_pattern(pattern, **fields) == expected


def test_fields_not_known_yet_are_left_for_a_second_pass() -> None:
    # srun expands %N %n %t per task, after the daemon has expanded the rest.
    first = expand_pattern("%x-%j-%N-%n-%2t.out", **JOB)
    assert first == "train-42-%N-%n-%2t.out"
    second = expand_pattern(first, **JOB, node="gpu01", node_index=0, task_id=1)
    assert second == "train-42-gpu01-0-01.out"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("out\\%j", "out%j"),  # a backslash turns expansion off ...
        ("a\\\\b%j", "a\\b%j"),  # ... and "\\" is one backslash
        ("%j\\", "%j"),
    ],
)
def test_a_backslash_turns_expansion_off(pattern: str, expected: str) -> None:
    assert expand_pattern(pattern, **JOB) == expected


def test_default_output() -> None:
    assert default_output(False) == "slurm-%j.out"
    assert default_output(True) == "slurm-%A_%a.out"


def test_relative_paths_resolve_against_the_workdir() -> None:
    assert resolve_output("logs/x.out", "/home/ada/run") == "/home/ada/run/logs/x.out"
    assert resolve_output("/tmp/x.out", "/home/ada/run") == "/tmp/x.out"


def test_importing_filenames_loads_nothing_beyond_the_standard_library() -> None:
    # srun imports it at start-up.
    code = (
        "import sys, daemon.filenames; "
        "print(' '.join(sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'scheduler', 'aiohttp', 'sqlmodel', 'docker', 'pydantic', 'asyncio'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
