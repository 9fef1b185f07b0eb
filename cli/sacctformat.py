"""sacct's output from job resources (docs/API.md), as ``SchedMD/slurm:src/sacct`` prints it.

Fields (`parse_sacct_fields`, ``options.c``): ``-o`` values accumulate; each is a comma list of
names matched case-insensitively by prefix in table order (`cli.sacctfields`), ``all`` (or any
prefix of it) meaning every field, and ``name%N`` setting the width (``%-N`` left-justifies).
An unknown name is ``Invalid field requested: "<name>"``.

Rows (`sacct_rows`): one per job or array task (``123``, ``123_4``); the pending tasks of an
array fold into one row ``123_[5-9%3]`` as in squeue; unless ``-X``, each job is followed by
its steps (``123.batch``, ``123_4.0``; JobIDRaw ``<raw id>.<step>``). Step rows carry the
step's name, state, exit code, times and nodes, and the job's account and CPU count; a step
without an end time ends with its job (``do_list`` in ``options.c``).

Printing (``print_fields.c``): `SacctMode.FIXED` pads every field to its width and adds one
space (text cut to ``CANCELLED+``), with a header line and a line of dashes; ``-p``
(`SacctMode.PARSABLE`) ends every field with ``|``; ``-P`` (`SacctMode.PARSABLE2`) puts ``|``
between fields only; ``--delimiter`` replaces ``|``; ``-n`` drops the header. States are
``job_state_string`` plus `` by <uid>`` for a known canceller; times are local ISO, ``Unknown``
when unset; Elapsed runs to ``now`` for running jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cli.columns import FormatError
from cli.sacctfields import DATES, DEFAULT_FIELDS, FIELD_WIDTHS, UNCUT
from cli.squeueformat import (
    QueueRow,
    job_id_text,
    memory_text,
    queue_rows,
    requested_cpus,
    time_used,
)
from cli.states import exit_code_text, state_with_requester
from cli.timefmt import format_elapsed, format_limit_elapsed, format_timestamp, is_unlimited

Job = Mapping[str, Any]
_NAMES = tuple(FIELD_WIDTHS)


class SacctMode(Enum):
    FIXED = "fixed"
    PARSABLE = "-p"  # '|' after every field
    PARSABLE2 = "-P"  # '|' between fields


@dataclass(frozen=True, slots=True)
class SacctField:
    name: str  # canonical, as the header prints it
    width: int  # negative: left-justified


@dataclass(frozen=True, slots=True)
class SacctRow:
    """A job line (``step`` None) or a step line of ``job``; ``task_ids`` for folded tasks."""

    job: Job
    step: Mapping[str, Any] | None = None
    task_ids: tuple[int, ...] | None = None


def parse_sacct_fields(specs: Iterable[str] = (DEFAULT_FIELDS,)) -> list[SacctField]:
    """``["JobID,State%20", "nodelist%-256"]`` -> fields with their widths."""
    fields: list[SacctField] = []
    for spec in specs:
        for item in spec.split(","):
            text = item.strip()
            if not text:
                continue
            name, percent, width_text = text.partition("%")
            width = _width(width_text) if percent else None
            if "all".startswith(name.lower()):
                fields.extend(SacctField(n, width or FIELD_WIDTHS[n]) for n in _NAMES)
                continue
            match = next((n for n in _NAMES if n.lower().startswith(name.lower())), None)
            if match is None:
                raise FormatError(f'Invalid field requested: "{name}"')
            fields.append(SacctField(match, width or FIELD_WIDTHS[match]))
    return fields


def _width(text: str) -> int:
    """atoi(): a leading sign and digits, 0 for anything else (0 then means: natural width)."""
    digits = text[1:] if text[:1] in "+-" else text
    end = len(digits) - len(digits.lstrip("0123456789"))
    number = int(digits[:end] or 0)
    return -number if text[:1] == "-" else number


def sacct_rows(jobs: Iterable[Job], *, steps: bool = True) -> list[SacctRow]:
    """The rows for ``jobs``: pending array tasks folded, each job then its steps."""
    rows: list[SacctRow] = []
    for queued in queue_rows(jobs):
        rows.append(SacctRow(queued.job, None, queued.task_ids))
        if steps and queued.task_ids is None:
            rows.extend(SacctRow(queued.job, step) for step in queued.job.get("steps") or ())
    return rows


def format_sacct(
    jobs: Iterable[Job],
    *,
    now: int,
    fields: Sequence[SacctField] | None = None,
    mode: SacctMode = SacctMode.FIXED,
    header: bool = True,
    steps: bool = True,
    delimiter: str = "|",
    select: Callable[[SacctRow], bool] | None = None,
) -> str:
    """sacct's whole output for ``jobs`` (``steps=False`` is ``-X``); ``select`` keeps only
    the rows it accepts (``-j 123.0`` asks for one step)."""
    chosen = list(fields) if fields is not None else parse_sacct_fields()
    lines: list[str] = []
    if header:
        lines.append(_join([_header(f, mode) for f in chosen], mode, delimiter))
        if mode is SacctMode.FIXED:
            lines.append("".join("-" * abs(f.width or len(f.name)) + " " for f in chosen))
    for row in sacct_rows(jobs, steps=steps):
        if select is not None and not select(row):
            continue
        cells = [_cell(f, field_value(f.name, row, now), mode) for f in chosen]
        lines.append(_join(cells, mode, delimiter))
    return "".join(line + "\n" for line in lines)


def _join(cells: list[str], mode: SacctMode, delimiter: str) -> str:
    if mode is SacctMode.PARSABLE:
        return "".join(cell + delimiter for cell in cells)
    if mode is SacctMode.PARSABLE2:
        return delimiter.join(cells)
    return "".join(cell + " " for cell in cells)


def _header(field: SacctField, mode: SacctMode) -> str:
    if mode is not SacctMode.FIXED or not field.width:
        return field.name
    size = abs(field.width)
    cut = field.name[:size]
    return cut.rjust(size) if field.width > 0 else cut.ljust(size)


def _cell(field: SacctField, value: str | None, mode: SacctMode) -> str:
    if mode is not SacctMode.FIXED:
        return value or ""
    size = abs(field.width)
    text = " " if value is None else value
    if size and len(text) > size and field.name not in UNCUT:
        text = text[:size] if field.name in DATES else text[: size - 1] + "+"
    return text.rjust(size) if field.width > 0 else text.ljust(size)


def field_value(name: str, row: SacctRow, now: int) -> str | None:
    """The text of field ``name`` for ``row``; ``None`` when Berth has no value for it."""
    if row.step is not None:
        if name in _STEP_VALUES:
            return _STEP_VALUES[name](row, now)
        return _JOB_VALUES[name](row, now) if name in _STEP_INHERITS else None
    getter = _JOB_VALUES.get(name)
    return None if getter is None else getter(row, now)


def _job_id(row: SacctRow) -> str:
    return job_id_text(QueueRow(row.job, row.task_ids))


def _raw_id(row: SacctRow) -> str:
    return str(row.job["array_job_id"] if row.task_ids else row.job["job_id"])


def _alloc_cpus(job: Job) -> int:
    return sum(int(part.get("cpus", 0)) for part in job.get("allocation") or ())


def _tres(job: Job, *, allocated: bool) -> str:
    if allocated:
        parts = job.get("allocation") or ()
        if not parts:
            return ""
        cpus, mem = _alloc_cpus(job), sum(int(p.get("mem_mb", 0)) for p in parts)
        gpus, nodes = sum(len(p.get("gpus") or ()) for p in parts), len(parts)
    else:
        nodes, cpus = int(job.get("nodes") or 1), requested_cpus(job)
        mem, gpus = int(job.get("mem_mb") or 0) * nodes, int(job.get("gpus_per_node") or 0) * nodes
    gres = f"gres/gpu={gpus}," if gpus else ""
    return f"billing={cpus},cpu={cpus},{gres}mem={memory_text(mem)},node={nodes}"


def _elapsed_s(row: SacctRow, now: int) -> int:
    if row.step is None:
        return time_used(row.job, now)
    start = row.step.get("start_time")
    end = row.step.get("end_time") or row.job.get("end_time") or now
    return max(0, int(end) - int(start)) if start else 0


def _text(key: str) -> Callable[[SacctRow, int], str | None]:
    def value(row: SacctRow, now: int) -> str | None:
        found = row.job.get(key)
        return None if found is None else str(found)

    return value


_Getter = Callable[[SacctRow, int], "str | None"]
_JOB_VALUES: dict[str, _Getter] = {
    "Account": _text("account"),
    "AllocCPUS": lambda r, n: str(_alloc_cpus(r.job)),
    "AllocNodes": lambda r, n: str(len(r.job.get("allocation") or ())),
    "AllocTRES": lambda r, n: _tres(r.job, allocated=True),
    "Comment": _text("comment"),
    "CPUTime": lambda r, n: format_elapsed(_elapsed_s(r, n) * _alloc_cpus(r.job)),
    "CPUTimeRAW": lambda r, n: str(_elapsed_s(r, n) * _alloc_cpus(r.job)),
    "Elapsed": lambda r, n: format_elapsed(_elapsed_s(r, n)),
    "ElapsedRaw": lambda r, n: str(_elapsed_s(r, n)),
    "Eligible": lambda r, n: format_timestamp(r.job.get("eligible_time")),
    "End": lambda r, n: format_timestamp(r.job.get("end_time")),
    "ExitCode": lambda r, n: exit_code_text(r.job.get("exit_code"), r.job.get("exit_signal")),
    "GID": _text("gid"),
    "JobID": lambda r, n: _job_id(r),
    "JobIDRaw": lambda r, n: _raw_id(r),
    "JobName": _text("name"),
    "NCPUS": lambda r, n: str(_alloc_cpus(r.job)),
    "NNodes": lambda r, n: str(len(r.job.get("allocation") or ()) or r.job.get("nodes", 1)),
    "NodeList": lambda r, n: r.job.get("node_list") or "None assigned",
    "Partition": _text("partition"),
    "Priority": _text("priority"),
    "QOS": _text("qos"),
    "Reason": lambda r, n: r.job.get("reason") or "None",
    "ReqCPUS": lambda r, n: str(requested_cpus(r.job)),
    "ReqMem": lambda r, n: memory_text(r.job.get("mem_mb")),
    "ReqNodes": _text("nodes"),
    "ReqTRES": lambda r, n: _tres(r.job, allocated=False),
    "Restarts": _text("restart_count"),
    "Start": lambda r, n: format_timestamp(r.job.get("start_time")),
    "State": lambda r, n: state_with_requester(str(r.job["state"]), r.job.get("cancelled_by")),
    "StdErr": _text("stderr"),
    "StdOut": _text("stdout"),
    "Submit": lambda r, n: format_timestamp(r.job.get("submit_time")),
    "Timelimit": lambda r, n: format_limit_elapsed(r.job.get("time_limit_s")),
    "TimelimitRaw": lambda r, n: _limit_minutes(r.job),
    "UID": _text("uid"),
    "User": _text("user"),
    "WorkDir": _text("workdir"),
}


def _limit_minutes(job: Job) -> str:
    limit = job.get("time_limit_s")
    return "UNLIMITED" if limit is None or is_unlimited(limit) else str(int(limit) // 60)


def _step(key: str) -> _Getter:
    def value(row: SacctRow, now: int) -> str | None:
        assert row.step is not None
        found = row.step.get(key)
        return None if found is None else str(found)

    return value


def _step_ref(row: SacctRow, raw: bool) -> str:
    assert row.step is not None
    base = str(row.job["job_id"]) if raw else _job_id(row)
    return f"{base}.{row.step.get('step_id')}"


_STEP_INHERITS = frozenset({"Account", "AllocCPUS", "NCPUS"})
_STEP_VALUES: dict[str, _Getter] = {
    "JobID": lambda r, n: _step_ref(r, raw=False),
    "JobIDRaw": lambda r, n: _step_ref(r, raw=True),
    "JobName": _step("name"),
    "State": _step("state"),
    "ExitCode": lambda r, n: exit_code_text(
        (r.step or {}).get("exit_code"), (r.step or {}).get("exit_signal")
    ),
    "Start": lambda r, n: format_timestamp((r.step or {}).get("start_time")),
    "End": lambda r, n: format_timestamp((r.step or {}).get("end_time") or r.job.get("end_time")),
    "Elapsed": lambda r, n: format_elapsed(_elapsed_s(r, n)),
    "ElapsedRaw": lambda r, n: str(_elapsed_s(r, n)),
    "NodeList": _step("node_list"),
    "Reason": lambda r, n: None,
}
