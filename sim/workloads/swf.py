"""Standard Workload Format traces, and `TraceJob`: the record every workload reader returns.

SWF v2.2 (Parallel Workloads Archive): one job per line, 18 whitespace-separated fields, ``;``
starts a header comment, ``-1`` means missing. Read (1-based): 1 job id, 2 submit, 3 original wait
(``trace_wait``), 4 run time, 5 allocated and 8 requested processors, 9 requested time (the
estimate), 11 status, 12 user, 13 group; memory fields are not carried. A decimal value rounds to
the nearest integer (half to even). Gzip is known by its magic bytes. Presets (VALIDATION.md):

- `PWA_POOL` (§A): processors = field 5, or field 8 when it is -1; <= 0 processors: dropped;
  negative run time -> 0; estimate = field 9, or the run time when negative; order (submit, id).
- `RLSCHEDULER` (§B): negative run time -> 10 s, *then* only run time > 0 kept (0 is dropped, -1
  kept as 10 s); processors = max(allocated, requested); estimate as §A; order by job id. Unlike
  RLScheduler's code (no shared trace has either case) a missing estimate copies the *corrected*
  run time (it copies -1), and <= 0 processors are dropped (it keeps them; no simulator can).

`SwfTrace.report` counts dropped or modified jobs by cause (``DROP_*``/``SET_*``): a dropped job
once, under its first drop cause (run time before processors); modifications of kept jobs only;
so ``len(jobs) + drops == lines``. A malformed line (not 18 fields, a used field not a number)
raises `TraceFormatError` naming file and line; ``strict=False`` counts it as `DROP_MALFORMED`.
"""

from __future__ import annotations

import gzip
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Literal

Source = str | os.PathLike[str] | Iterable[str]  # a path (plain or gzipped file), or the lines
Report = tuple[tuple[str, int], ...]
"""Counts of dropped or modified jobs: ``(cause, count)`` pairs sorted by cause, none zero."""

DROP_MALFORMED = "dropped: malformed line"
DROP_NO_PROCS = "dropped: processors <= 0"
DROP_NO_RUN_TIME = "dropped: run time <= 0"
SET_RUN_TIME = "modified: negative run time replaced"
SET_ESTIMATE = "modified: missing estimate set to run time"
SET_PROCS = "modified: processors taken from requested"

_FIELDS = 18
_USED = (0, 1, 2, 3, 4, 7, 8, 10, 11, 12)  # 0-based indices of the fields read
_PICK = itemgetter(*_USED)
_ID = attrgetter("job_id")
_LEADING_INT = re.compile(r"\s*(-?\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceJob:
    """One job of a workload in the simulator's units: integer seconds, counts, MiB.

    ``estimate`` is the user's time limit (backfill plans with it), ``run_time`` the real duration
    (it may exceed the estimate). ``gpu_models``: accepted models (empty: any); ``mem_mb`` 0: not
    stated; ``status``: SWF's codes (1 completed, 0 failed, 5 cancelled, -1 unknown);
    ``trace_wait``: the wait the original system gave the job (-1 unknown).
    """

    job_id: int
    submit: int
    run_time: int
    estimate: int
    procs: int
    user: str
    group: str | None = None
    status: int = -1
    gpus: int = 0
    gpu_models: tuple[str, ...] = ()
    mem_mb: int = 0
    qos: str | None = None
    name: str = ""
    trace_wait: int = -1


@dataclass(frozen=True, slots=True, kw_only=True)
class CleaningRules:
    """How raw SWF fields become `TraceJob` values (see the module docstring for the presets)."""

    name: str
    procs_rule: Literal["allocated_else_requested", "max_of_both"]
    negative_run_time: int  # what a negative run time becomes
    drop_zero_run_time: bool  # drop jobs whose corrected run time is <= 0
    order: Literal["submit", "job_id", "file"]  # submit: (submit, job id); file: as read


PWA_POOL = CleaningRules(
    name="pwa_pool",
    procs_rule="allocated_else_requested",
    negative_run_time=0,
    drop_zero_run_time=False,
    order="submit",
)
RLSCHEDULER = CleaningRules(
    name="rlscheduler",
    procs_rule="max_of_both",
    negative_run_time=10,
    drop_zero_run_time=True,
    order="job_id",
)


class TraceFormatError(ValueError):
    """A trace line that cannot be read; the message starts with ``file:line:``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SwfHeader:
    """The header's comment lines as written; ``MaxProcs``/``MaxNodes`` read leniently.

    A value's leading integer counts (CTC's ``MaxNodes: 338 (batch partition; 512 total)`` gives
    338); a missing or non-numeric value gives None (the Lublin files have no ``MaxProcs``).
    """

    lines: tuple[str, ...]

    def value(self, key: str) -> str | None:
        """The text after ``; key:`` on the first header line with that key, else None."""
        for line in self.lines:
            name, colon, rest = line.lstrip().lstrip(";").partition(":")
            if colon and name.strip() == key:
                return rest.strip()
        return None

    def number(self, key: str) -> int | None:
        """The leading integer of `value`, else None."""
        match = _LEADING_INT.match(self.value(key) or "")
        return int(match.group(1)) if match else None

    @property
    def max_procs(self) -> int | None:
        return self.number("MaxProcs")

    @property
    def max_nodes(self) -> int | None:
        return self.number("MaxNodes")

    @property
    def processors(self) -> int | None:
        """The one-pool capacity: ``MaxProcs``, else ``MaxNodes`` (RLScheduler does the same)."""
        return self.max_procs if self.max_procs is not None else self.max_nodes


@dataclass(frozen=True, slots=True, kw_only=True)
class SwfTrace:
    """A cleaned trace: ``lines`` job lines were read, ``jobs`` kept, the rest in ``report``."""

    source: str
    header: SwfHeader
    rules: CleaningRules
    lines: int
    jobs: tuple[TraceJob, ...]
    report: Report

    def count(self, cause: str) -> int:
        """How many jobs the report counts under ``cause`` (0 when none)."""
        return dict(self.report).get(cause, 0)


def load_lines(path: str | os.PathLike[str]) -> list[str]:
    """A text file's lines, gunzipped first when it starts with gzip's magic bytes."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace").splitlines()


def read_swf(source: Source, *, rules: CleaningRules = PWA_POOL, strict: bool = True) -> SwfTrace:
    """Read an SWF trace from a path (plain or gzipped) or from an iterable of lines.

    :raises TraceFormatError: on a malformed line when ``strict`` (the default).
    :raises OSError: when the file cannot be read.
    """
    if isinstance(source, str | os.PathLike):
        name, lines = os.fspath(source), load_lines(source)
    else:
        name, lines = "<lines>", list(source)
    header: list[str] = []
    jobs: list[TraceJob] = []
    counts: Counter[str] = Counter()
    names: dict[int, str] = {}  # one string per user or group id, shared by its jobs
    read = 0
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if parts[0][0] == ";":
            header.append(line.rstrip("\r\n"))
            continue
        read += 1
        try:
            raw = _fields(parts)
        except ValueError as err:
            if strict:
                raise TraceFormatError(f"{name}:{number}: {err}") from None
            counts[DROP_MALFORMED] += 1
            continue
        job = _clean(raw, rules, counts, names)
        if job is not None:
            jobs.append(job)
    if rules.order != "file":
        jobs.sort(key=attrgetter("submit", "job_id") if rules.order == "submit" else _ID)
    return SwfTrace(
        source=name,
        header=SwfHeader(lines=tuple(header)),
        rules=rules,
        lines=read,
        jobs=tuple(jobs),
        report=tuple(sorted(counts.items())),
    )


def _fields(parts: list[str]) -> list[int]:
    if len(parts) != _FIELDS:
        raise ValueError(f"expected {_FIELDS} fields, found {len(parts)}")
    try:
        return list(map(int, _PICK(parts)))
    except ValueError:
        return [_number(parts[i], i) for i in _USED]


def _number(text: str, index: int) -> int:
    try:
        return round(float(text))  # ValueError for words, OverflowError for inf, nan too
    except (ValueError, OverflowError):
        raise ValueError(f"field {index + 1} is not a number: {text!r}") from None


def _clean(
    raw: list[int], rules: CleaningRules, counts: Counter[str], names: dict[int, str]
) -> TraceJob | None:
    job_id, submit, wait, run, alloc, req, est, status, user, group = raw
    if rules.procs_rule == "max_of_both":
        procs = alloc if alloc >= req else req
    else:
        procs = alloc if alloc != -1 else req
    run_time = run if run >= 0 else rules.negative_run_time
    drop = DROP_NO_RUN_TIME if rules.drop_zero_run_time and run_time <= 0 else None
    if drop is None and procs <= 0:
        drop = DROP_NO_PROCS
    if drop is not None:
        counts[drop] += 1
        return None
    if run < 0:
        counts[SET_RUN_TIME] += 1
    if procs != alloc:
        counts[SET_PROCS] += 1
    if est < 0:
        est = run_time
        counts[SET_ESTIMATE] += 1
    return TraceJob(
        job_id=job_id,
        submit=submit,
        run_time=run_time,
        estimate=est,
        procs=procs,
        user=names.setdefault(user, str(user)) if user >= 0 else "unknown",
        group=names.setdefault(group, str(group)) if group >= 0 else None,
        status=status,
        trace_wait=wait,
    )
