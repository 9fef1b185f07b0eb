"""squeue's output from job resources (docs/API.md), as ``SchedMD/slurm:src/squeue/print.c``.

`queue_rows` folds the pending tasks of an array into one line, ``21166_[2,4-9%2]``, as Slurm
shows the part of an array that has not started (its "meta" record); ``-r`` (``expand_arrays``)
keeps one line per task. Berth keeps one record per task, so it folds pending tasks that share
the array id *and* the pending reason (Slurm splits off tasks whose state diverged the same way);
a folded line stands where its first task stood.

`format_squeue` prints ``-o`` (`cli.columns.parse_percent_format`) or ``-O`` formats; the
default is Slurm's ``%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R``. Letters: ``%a`` account, ``%A``
raw job id, ``%b`` GPUs per node as ``gres:gpu[:type]:N`` (22.05's TRES_PER_NODE), ``%C`` CPUs,
``%D`` nodes, ``%e`` end, ``%E`` dependency, ``%F`` array job id, ``%i`` job id, ``%j`` name,
``%k`` comment, ``%K`` array task id(s), ``%l`` time limit, ``%L`` time left, ``%m`` memory per
node, ``%M`` time used, ``%N`` node list, ``%o`` command, ``%p`` priority (normalised float),
``%P`` partition, ``%q`` QOS, ``%Q`` priority, ``%r`` reason, ``%R`` ``(reason)`` while pending
(and for FAILED/TIMEOUT jobs) else node list, ``%S`` start (backfill's estimate while pending),
``%t`` compact state, ``%T`` state, ``%u`` user, ``%U`` uid, ``%V`` submit time, ``%y`` nice,
``%Y`` planned nodes, ``%z`` ``*:*:*``, ``%Z`` working directory. Unknown letters and names are
a `FormatError` (Slurm prints an error and skips them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from cli.arrays import array_label, fold_ranges
from cli.columns import FormatError, Layout, fit, parse_named_format, parse_percent_format
from cli.hostnames import compress_hostnames
from cli.states import compact_state
from cli.timefmt import format_run_time, format_time_limit, format_timestamp, is_unlimited

DEFAULT_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
LONG_FORMAT = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R"
START_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R"

Job = Mapping[str, Any]


class QueueRow(NamedTuple):
    """One line of squeue: a job, an array task, or (``task_ids``) an array's pending tasks."""

    job: Job
    task_ids: tuple[int, ...] | None = None


def queue_rows(jobs: Iterable[Job], *, expand_arrays: bool = False) -> list[QueueRow]:
    """The lines squeue prints for ``jobs`` (in their order), folding pending array tasks."""
    rows: list[tuple[Job, list[int] | None]] = []
    folded: dict[tuple[object, object], int] = {}
    for job in jobs:
        task = job.get("array_task_id")
        if expand_arrays or task is None or job.get("state") != "PENDING":
            rows.append((job, None))
            continue
        key = (job.get("array_job_id"), job.get("reason"))
        if key in folded:
            tasks = rows[folded[key]][1]
            assert tasks is not None
            tasks.append(int(task))
        else:
            folded[key] = len(rows)
            rows.append((job, [int(task)]))
    return [QueueRow(job, None if tasks is None else tuple(tasks)) for job, tasks in rows]


def job_id_text(row: QueueRow) -> str:
    """squeue's ``%i``: ``123``, ``123_4`` or ``123_[5-9%2]``."""
    job = row.job
    if row.task_ids is not None:
        return array_label(job["array_job_id"], row.task_ids, job.get("array_throttle"))
    if job.get("array_task_id") is not None:
        return f"{job['array_job_id']}_{job['array_task_id']}"
    return str(job["job_id"])


def time_used(job: Job, now: int) -> int:
    """Seconds a job has run: 0 while pending, to ``now`` while running, else to its end."""
    start = job.get("start_time")
    if job.get("state") == "PENDING" or not start:
        return 0
    end = job.get("end_time")
    finished_at: int = end if end and job.get("state") != "RUNNING" else now
    return max(0, finished_at - int(start))


def memory_text(mb: int | None) -> str:
    """Slurm's ``convert_num_unit`` of MiB: 4096 -> ``4G``, 1536 -> ``1.50G``, 1000 -> ``1000M``."""
    if mb is None:
        return "N/A"
    value, unit = float(mb), 0
    while value >= 1024 and unit < 3:
        value, unit = value / 1024, unit + 1
    number = f"{int(value)}" if value == int(value) else f"{value:.2f}"
    return number + "MGTP"[unit]


def gres_text(job: Job) -> str:
    """``%b`` / ``tres-per-node``: ``gres:gpu:2``, ``gres:gpu:a100:2``, ``N/A`` without GPUs."""
    count = job.get("gpus_per_node") or 0
    if not count:
        return "N/A"
    model = job.get("gpu_model")
    return f"gres:gpu:{model}:{count}" if model else f"gres:gpu:{count}"


def _reason_or_nodes(job: Job) -> str:
    state = job.get("state")
    if state in ("PENDING", "FAILED", "TIMEOUT"):
        reason = job.get("reason")
        if reason in (None, "None", ""):
            reason = {"FAILED": "NonZeroExitCode", "TIMEOUT": "TimeLimit"}.get(str(state), "None")
        return f"({reason})"
    return str(job.get("node_list") or "")


def requested_cpus(job: Job) -> int:
    """CPUs the job asked for: tasks (one per node by default) x CPUs per task."""
    tasks = job.get("tasks") or job.get("nodes") or 1
    return int(tasks) * int(job.get("cpus_per_task") or 1)


def cpus_text(job: Job) -> str:
    """``%C``: allocated CPUs, or the requested ones before the job starts."""
    allocation = job.get("allocation") or []
    if allocation:
        return str(sum(int(part.get("cpus", 0)) for part in allocation))
    return str(requested_cpus(job))


def _start(job: Job) -> str:
    when = job.get("estimated_start") if job.get("state") == "PENDING" else job.get("start_time")
    return format_timestamp(when, missing="N/A")


def _end(job: Job) -> str:
    if job.get("end_time"):
        return format_timestamp(job["end_time"])
    start = job.get("estimated_start") if job.get("state") == "PENDING" else job.get("start_time")
    limit = job.get("time_limit_s")
    return format_timestamp(start + limit if start and limit else None, missing="N/A")


def _time_left(job: Job, now: int) -> str:
    limit = job.get("time_limit_s")
    if limit is None or is_unlimited(limit):
        return "UNLIMITED"
    return format_run_time(int(limit) - time_used(job, now))


def _text(key: str, missing: str = "") -> Callable[[QueueRow, int], str]:
    def value(row: QueueRow, now: int) -> str:
        found = row.job.get(key)
        return missing if found in (None, "") else str(found)

    return value


_Field = tuple[str, Callable[[QueueRow, int], str]]
FIELDS: dict[str, _Field] = {
    "a": ("ACCOUNT", _text("account", "(null)")),
    "A": ("JOBID", lambda r, n: str(r.job["array_job_id"] if r.task_ids else r.job["job_id"])),
    "b": ("TRES_PER_NODE", lambda r, n: gres_text(r.job)),
    "C": ("CPUS", lambda r, n: cpus_text(r.job)),
    "D": ("NODES", lambda r, n: str(len(r.job.get("allocation") or ()) or r.job.get("nodes", 1))),
    "e": ("END_TIME", lambda r, n: _end(r.job)),
    "E": ("DEPENDENCY", _text("dependency", "(null)")),
    "F": ("ARRAY_JOB_ID", lambda r, n: str(r.job.get("array_job_id") or r.job["job_id"])),
    "i": ("JOBID", lambda r, n: job_id_text(r)),
    "j": ("NAME", _text("name")),
    "k": ("COMMENT", _text("comment", "(null)")),
    "K": ("ARRAY_TASK_ID", lambda r, n: _task_ids(r)),
    "l": ("TIME_LIMIT", lambda r, n: format_time_limit(r.job.get("time_limit_s"))),
    "L": ("TIME_LEFT", lambda r, n: _time_left(r.job, n)),
    "m": ("MIN_MEMORY", lambda r, n: memory_text(r.job.get("mem_mb"))),
    "M": ("TIME", lambda r, n: format_run_time(time_used(r.job, n))),
    "N": ("NODELIST", _text("node_list")),
    "o": ("COMMAND", _text("command", "(null)")),
    "p": ("PRIORITY", lambda r, n: f"{int(r.job.get('priority') or 0) / 0xFFFFFFFF:16.14f}"),
    "P": ("PARTITION", _text("partition")),
    "q": ("QOS", _text("qos")),
    "Q": ("PRIORITY", _text("priority", "0")),
    "r": ("REASON", _text("reason", "None")),
    "R": ("NODELIST(REASON)", lambda r, n: _reason_or_nodes(r.job)),
    "S": ("START_TIME", lambda r, n: _start(r.job)),
    "t": ("ST", lambda r, n: compact_state(str(r.job.get("state", "")))),
    "T": ("STATE", _text("state")),
    "u": ("USER", _text("user")),
    "U": ("UID", _text("uid")),
    "V": ("SUBMIT_TIME", lambda r, n: format_timestamp(r.job.get("submit_time"), missing="N/A")),
    "y": ("NICE", _text("nice", "0")),
    "Y": ("SCHEDNODES", lambda r, n: _planned_nodes(r.job)),
    "z": ("S:C:T", lambda r, n: "*:*:*"),
    "Z": ("WORK_DIR", _text("workdir")),
}

# -O names (case-insensitive) -> the letter printing the same thing (SchedMD/slurm:src/squeue/
# opts.c, _parse_long_format).
NAMED_FIELDS: dict[str, str] = {
    "account": "a", "arrayjobid": "F", "arraytaskid": "K", "command": "o", "comment": "k",
    "dependency": "E", "endtime": "e", "jobarrayid": "i", "jobid": "A", "minmemory": "m",
    "name": "j", "nice": "y", "nodelist": "N", "numcpus": "C", "numnodes": "D",
    "partition": "P", "priority": "p", "prioritylong": "Q", "qos": "q", "reason": "r",
    "reasonlist": "R", "schednodes": "Y", "starttime": "S", "state": "T", "statecompact": "t",
    "submittime": "V", "timeleft": "L", "timelimit": "l", "timeused": "M", "tres-per-node": "b",
    "uid": "U", "username": "u", "workdir": "Z",
}  # fmt: skip


# The job-resource keys each letter reads, so a listing can ask the daemon for those alone
# (``GET /v1/jobs?fields=``); `ROW_KEYS` are read by every line (ids, array folding).
ROW_KEYS = ("job_id", "array_job_id", "array_task_id", "array_throttle", "state", "reason")
_TIMES = ("start_time", "end_time", "estimated_start", "time_limit_s")
FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "a": ("account",), "b": ("gpus_per_node", "gpu_model"),
    "C": ("allocation", "tasks", "nodes", "cpus_per_task"), "D": ("nodes",),
    "e": _TIMES, "E": ("dependency",), "j": ("name",), "k": ("comment",), "l": _TIMES,
    "L": _TIMES, "m": ("mem_mb",), "M": ("start_time", "end_time"), "N": ("node_list",),
    "o": ("command",),
    "p": ("priority",), "P": ("partition",), "q": ("qos",), "Q": ("priority",),
    "R": ("node_list",), "S": _TIMES, "u": ("user",), "U": ("uid",), "V": ("submit_time",),
    "y": ("nice",), "Y": ("planned_nodes",), "Z": ("workdir",),
}  # fmt: skip


def required_keys(fmt: str | None = None, named: str | None = None) -> list[str]:
    """The job-resource keys `format_squeue` reads for this format (``-O`` ``named``, else
    ``fmt``, else the default).

    :raises FormatError: for an unknown field.
    """
    keys = dict.fromkeys(ROW_KEYS)
    for column in _layout(fmt, named).columns:
        letter = NAMED_FIELDS.get(column.key, column.key)
        keys.update(dict.fromkeys(FIELD_KEYS.get(letter, ())))
    return list(keys)


def _planned_nodes(job: Job) -> str:
    return compress_hostnames(job.get("planned_nodes") or ()) or "(null)"


def _task_ids(row: QueueRow) -> str:
    if row.task_ids is not None:
        throttle = row.job.get("array_throttle")
        folded = fold_ranges(row.task_ids)
        return f"{folded}%{throttle}" if throttle else folded
    task = row.job.get("array_task_id")
    return "N/A" if task is None else str(task)


def format_squeue(
    jobs: Iterable[Job],
    *,
    now: int,
    fmt: str | None = None,
    named: str | None = None,
    header: bool = True,
    expand_arrays: bool = False,
) -> str:
    """squeue's whole output: ``named`` is ``-O``, else ``fmt`` (``-o``), else the default.

    :raises FormatError: for an unknown field.
    """
    layout = _layout(fmt, named)
    specs = [(FIELDS[NAMED_FIELDS.get(c.key, c.key)], c.width, c.right, c.suffix)
             for c in layout.columns]  # fmt: skip
    lines = [_line(layout, None, now)] if header else []
    prefix = layout.prefix
    for row in queue_rows(jobs, expand_arrays=expand_arrays):  # the hot loop: 10,000s of rows
        parts = [prefix]
        for (_, value), width, right, suffix in specs:
            text = value(row, now)
            if width:
                text = text[:width].rjust(width) if right else text[:width].ljust(width)
            parts.append(text + suffix)
        lines.append("".join(parts))
    return "".join(line + "\n" for line in lines)


def _layout(fmt: str | None, named: str | None) -> Layout:
    if named is not None:
        layout = parse_named_format(named)
        for column in layout.columns:
            if column.key not in NAMED_FIELDS:
                raise FormatError(f"Invalid job format specification: {column.key}")
        return layout
    layout = parse_percent_format(DEFAULT_FORMAT if fmt is None else fmt)
    for column in layout.columns:
        if column.key not in FIELDS:
            raise FormatError(f"Invalid job format specification: {column.key}")
    return layout


def _line(layout: Layout, row: QueueRow | None, now: int) -> str:
    parts = [layout.prefix]
    for column in layout.columns:
        header, value = FIELDS[NAMED_FIELDS.get(column.key, column.key)]
        text = header if row is None else value(row, now)
        parts.append(fit(text, column.width, right=column.right) + column.suffix)
    return "".join(parts)
