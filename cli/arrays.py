"""Job array index lists and job ids, in Slurm's written forms.

- `parse_array_spec`: ``sbatch --array`` (``SchedMD/slurm:src/sbatch/opt.c``, the index list
  the controller turns into a bitmap): comma-separated ``N``, ``N-M`` and ``N-M:S`` items and an
  optional ``%T`` throttle (``0-15``, ``0-15:4``, ``1,3,5-7``, ``0-9%2``). Every index must be
  below ``MaxArraySize`` (1001 by default, ``scontrol show config``).
- `fold_ranges` / `expand_ranges`: the bitmap string Slurm prints for the tasks an array still
  holds (``bit_fmt`` in ``SchedMD/slurm:src/common/bitstring.c``): sorted, runs of consecutive
  ids as ``a-b`` (``2,4-9``). `array_label` adds the job id, brackets and throttle:
  ``21166_[2,4-9%2]`` (squeue ``%i``, sacct JobID).
- `parse_job_ids`: the id lists ``squeue -j``, ``scancel``, ``sacct -j`` and ``scontrol`` take:
  ``123``, ``123_4``, ``123_[1-3,7]``, and for sacct steps ``123.batch``, ``123_4.0``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

MAX_ARRAY_SIZE = 1001  # Slurm's default MaxArraySize (SchedMD/slurm:src/common/read_config.h)
_ITEM = re.compile(r"(\d+)(?:-(\d+)(?::(\d+))?)?")
_JOB_ID = re.compile(r"(\d+)(?:_(\d+|\[[0-9,:\-]+\]))?(?:\.([a-z]+|\d+))?")


class ArraySpec(NamedTuple):
    """The expanded ``--array``: sorted unique task ids and the ``%`` throttle (or ``None``)."""

    indices: tuple[int, ...]
    throttle: int | None


class JobRef(NamedTuple):
    """One id of a job list: ``123_[1-3].batch`` -> job 123, tasks (1, 2, 3), step ``batch``."""

    job_id: int
    task_ids: tuple[int, ...] | None = None
    step: str | None = None


def expand_ranges(text: str) -> list[int]:
    """``"2,4-9"`` -> [2, 4, 5, 6, 7, 8, 9]; ``"0-15:4"`` -> [0, 4, 8, 12]; sorted, unique.

    :raises ValueError: for an empty list, a malformed item, a range that runs backwards or a
        step below 1.
    """
    found: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item.strip())
        if match is None:
            raise ValueError(f"invalid index list item {item!r} in {text!r}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        step = int(match.group(3)) if match.group(3) is not None else 1
        if last < first or step < 1:
            raise ValueError(f"invalid index range {item!r} in {text!r}")
        found.update(range(first, last + 1, step))
    return sorted(found)


def fold_ranges(ids: Iterable[int]) -> str:
    """[2, 4, 5, 6, 7, 8, 9] -> ``"2,4-9"`` (any order, duplicates ignored)."""
    parts: list[str] = []
    run: list[int] = []
    for value in sorted(set(ids)):
        if run and value == run[-1] + 1:
            run.append(value)
            continue
        if run:
            parts.append(_run_text(run))
        run = [value]
    if run:
        parts.append(_run_text(run))
    return ",".join(parts)


def _run_text(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def parse_array_spec(spec: str, *, max_array_size: int = MAX_ARRAY_SIZE) -> ArraySpec:
    """``"0-9%2"`` -> ``ArraySpec((0, ..., 9), 2)``; a throttle of 0 means none, as in Slurm.

    :raises ValueError: ``Invalid job array specification: <spec>`` and what is wrong.
    """
    body, percent, throttle_text = spec.strip().partition("%")
    try:
        indices = expand_ranges(body)
        throttle = int(throttle_text) if percent else None
    except ValueError as err:
        raise ValueError(f"Invalid job array specification: {spec} ({err})") from None
    if throttle is not None and throttle < 0:
        raise ValueError(f"Invalid job array specification: {spec} (negative throttle)")
    if indices[-1] >= max_array_size:
        raise ValueError(
            f"Invalid job array specification: {spec} (index {indices[-1]} is not below "
            f"MaxArraySize={max_array_size})"
        )
    return ArraySpec(tuple(indices), throttle or None)


def format_array_spec(indices: Iterable[int], throttle: int | None = None) -> str:
    """The shortest ``--array`` text for these ids: (0, 1, 2, 5), 2 -> ``"0-2,5%2"``."""
    folded = fold_ranges(indices)
    return f"{folded}%{throttle}" if throttle else folded


def array_label(array_job_id: int, task_ids: Iterable[int], throttle: int | None = None) -> str:
    """squeue's and sacct's id of the tasks an array still holds: ``21166_[2,4-9%2]``."""
    return f"{array_job_id}_[{format_array_spec(task_ids, throttle)}]"


def parse_job_ids(text: str) -> list[JobRef]:
    """``"12,13_4,14_[1-3]"`` -> three `JobRef`s, in order (commas inside brackets kept).

    :raises ValueError: ``Invalid job id specified: <item>``.
    """
    refs: list[JobRef] = []
    for item in _split_outside_brackets(text):
        match = _JOB_ID.fullmatch(item.strip())
        if match is None:
            raise ValueError(f"Invalid job id specified: {item}")
        job_id, task_text, step = match.groups()
        tasks: tuple[int, ...] | None = None
        if task_text is not None:
            try:
                tasks = tuple(expand_ranges(task_text.strip("[]")))
            except ValueError:
                raise ValueError(f"Invalid job id specified: {item}") from None
        refs.append(JobRef(int(job_id), tasks, step))
    return refs


def _split_outside_brackets(text: str) -> list[str]:
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item for item in items if item.strip()]
