"""Slurm's filename patterns for a job's output, error and input files.

``--output=run-%A_%a.out`` and friends are expanded the way Slurm's ``slurmstepd`` does
(``SchedMD/slurm:src/common/print_fields.c`` ``expand_stdio_fields``), because clients name the
files they later read this way (submitit reads ``%j_%t_log.out``, snakemake ``%j.log``):

====  ==========================================================================
%%    a literal ``%``
%A    the array's master job id; the job id when the job is not an array task
%a    the array task id; ``4294967294`` (Slurm's NO_VAL) when not an array task
%b    the array task id modulo 10
%J    ``jobid`` for the batch step, ``jobid.step`` for a step
%j    the raw job id (for an array task its own id, hence clients use ``%A_%a``)
%N    the node's short name
%n    the node's index in the job
%s    the step id, ``batch`` for the batch step
%t    the task id (rank)
%u    the user name
%x    the job name
====  ==========================================================================

A number after ``%`` zero-pads a numeric field (``%5j`` -> ``00042``), at most 10 wide. A
backslash anywhere turns expansion off and the backslashes are dropped, as in Slurm.

A field whose value is not known yet (``node=""``, ``task_id=None``, ``node_index=None``) is
left as written, so ``srun`` can expand ``%N %n %t`` per task in a second pass with the same
function. An unknown letter is copied unchanged (Slurm copies it too).

Stdlib only: the CLI's ``srun`` imports this at start-up.
"""

from __future__ import annotations

import os
import re

NOT_AN_ARRAY_TASK = 4294967294  # what Slurm prints for %a outside an array (NO_VAL)
MAX_PADDING = 10

_FIELD = re.compile(r"%(\d*)([AabJjNnstux])")


def default_output(array: bool) -> str:
    """Slurm's default ``--output`` pattern, relative to the job's working directory."""
    return "slurm-%A_%a.out" if array else "slurm-%j.out"


def resolve_output(path: str, workdir: str) -> str:
    """An expanded output path made absolute: relative paths are taken from the job's workdir
    (where the job runs), not from wherever the daemon happens to be."""
    return path if os.path.isabs(path) else os.path.join(workdir, path)


def expand_pattern(
    pattern: str,
    *,
    job_id: int,
    array_job_id: int | None = None,
    array_task_id: int | None = None,
    user: str,
    name: str,
    node: str = "",
    step: int | None = None,
    task_id: int | None = None,
    node_index: int | None = None,
) -> str:
    """Expand Slurm's ``%`` fields in ``pattern``; ``step=None`` means the batch step."""
    if "\\" in pattern:
        return _unescape(pattern)
    task = NOT_AN_ARRAY_TASK if array_task_id is None else array_task_id
    numbers: dict[str, int | None] = {
        "A": job_id if array_job_id is None else array_job_id,
        "a": task,
        "b": task % 10,
        "j": job_id,
        "n": node_index,
        "t": task_id,
    }
    words = {"N": node or None, "u": user, "x": name}

    def field(match: re.Match[str]) -> str:
        digits, letter = match.groups()
        width = min(int(digits), MAX_PADDING) if digits else 0
        if letter == "J":
            head = f"{job_id:0{width}d}"
            return head if step is None else f"{head}.{step}"
        if letter == "s":
            return "batch" if step is None else f"{step:0{width}d}"
        if letter in words:
            word = words[letter]
            return match.group(0) if word is None else word
        number = numbers[letter]
        return match.group(0) if number is None else f"{number:0{width}d}"

    return _FIELD.sub(field, _protect_double_percent(pattern)).replace(_PERCENT, "%")


_PERCENT = "\x00"  # stands for an escaped "%%" while fields are replaced


def _protect_double_percent(pattern: str) -> str:
    """``%%`` must not start a field (``%%j`` is the text ``%j``): hide each pair first."""
    return pattern.replace("%%", _PERCENT)


def _unescape(pattern: str) -> str:
    """Slurm's rule for a pattern holding a backslash: nothing expands, ``\\\\`` is one
    backslash and any other backslash disappears."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if pattern[index + 1 : index + 2] == "\\":
                out.append("\\")
                index += 1
        else:
            out.append(char)
        index += 1
    return "".join(out)
