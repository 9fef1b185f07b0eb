"""Standard Workload Format traces, and `TraceJob`: the record every workload reader returns
(`bulk_constructor` builds it, and other frozen records, faster when there is one per job).

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import Field, dataclass, field, fields, is_dataclass, make_dataclass
from inspect import signature
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar, cast

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
_ID = attrgetter("job_id")
_LEADING_INT = re.compile(r"\s*(-?\d+)")
_DROPS = (DROP_MALFORMED, DROP_NO_PROCS, DROP_NO_RUN_TIME)
_P = ParamSpec("_P")
_R = TypeVar("_R")


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


def bulk_constructor(cls: Callable[_P, _R]) -> Callable[_P, _R]:
    """A constructor of the slotted dataclass ``cls``, same parameters, for readers that build
    one record per job: it returns an instance of ``cls`` equal to ``cls(...)`` (``__post_init__``
    included), in 25-40 % of the time when ``cls`` is frozen.

    A frozen dataclass's ``__init__`` stores each field through ``object.__setattr__`` (some
    100 ns a field: 3 us for `scheduler.JobRequest`'s 25, 1.9 us for `TraceJob`). This one is a
    mutable twin of ``cls``, same fields, defaults and slots, whose ``__init__`` stores directly
    (0.8 and 0.7 us) and then turns the new object into a ``cls`` by ``__class__`` assignment,
    which Python allows between classes of one layout.

    :raises TypeError: when ``cls`` is not a slotted dataclass, or its ``__init__`` is not the
        fields' (``InitVar`` or ``init=False`` fields).
    """
    if not isinstance(cls, type) or not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    target: type = cls
    post_init = getattr(cls, "__post_init__", None)

    def become_target(self: object) -> None:
        self.__class__ = target
        if post_init is not None:
            post_init(self)

    twin = make_dataclass(
        f"{cls.__name__}Builder",
        [(f.name, f.type, _same_field(f)) for f in fields(cls)],
        namespace={"__post_init__": become_target, "__module__": cls.__module__},
        repr=False,
        eq=False,
        match_args=False,
        slots=True,
    )
    if vars(cls).get("__slots__") != vars(twin)["__slots__"]:
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if signature(twin) != signature(cls):
        raise TypeError(f"{cls.__name__}.__init__ takes other parameters than its fields")
    return cast(Callable[_P, _R], twin)


def _same_field(original: Field[Any]) -> Any:
    return field(
        default=original.default,
        default_factory=original.default_factory,
        kw_only=original.kw_only,
    )


_new_job = bulk_constructor(TraceJob)


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
    counts: Counter[str] = Counter()
    jobs = _clean(_job_fields(lines, name, strict, header, counts), rules, counts)
    if rules.order != "file":
        jobs.sort(key=attrgetter("submit", "job_id") if rules.order == "submit" else _ID)
    return SwfTrace(
        source=name,
        header=SwfHeader(lines=tuple(header)),
        rules=rules,
        lines=len(jobs) + sum(counts[cause] for cause in _DROPS),
        jobs=tuple(jobs),
        report=tuple(sorted(counts.items())),
    )


def _job_fields(
    lines: Iterable[str], source: str, strict: bool, header: list[str], counts: Counter[str]
) -> Iterator[tuple[int, ...]]:
    """The used fields (`_USED`) of each job line, as integers. Header lines go to ``header``; a
    malformed line raises `TraceFormatError`, or is counted when not ``strict``."""
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if parts[0][0] == ";":
            header.append(line.rstrip("\r\n"))
            continue
        try:
            values = _fields(parts)
        except ValueError as err:
            if strict:
                raise TraceFormatError(f"{source}:{number}: {err}") from None
            counts[DROP_MALFORMED] += 1
            continue
        yield values


def _fields(parts: list[str]) -> tuple[int, ...]:
    """The fields of `_USED`: whole numbers as they are, decimals rounded (a slower path)."""
    if len(parts) != _FIELDS:
        raise ValueError(f"expected {_FIELDS} fields, found {len(parts)}")
    # The fields of _USED by name: one int() each is 40 ms faster on HPC2N than a map(int, ...).
    job_id, submit, wait, run, alloc, _, _, req, est, _, status, user, group, _, _, _, _, _ = parts
    try:
        return (
            int(job_id), int(submit), int(wait), int(run), int(alloc), int(req), int(est),
            int(status), int(user), int(group),
        )  # fmt: skip
    except ValueError:
        return tuple(_number(parts[i], i) for i in _USED)


def _number(text: str, index: int) -> int:
    try:
        return round(float(text))  # ValueError for words, OverflowError for inf, nan too
    except (ValueError, OverflowError):
        raise ValueError(f"field {index + 1} is not a number: {text!r}") from None


class _Names(dict[int, str]):
    """One string per user or group id, shared by the jobs that name it."""

    def __missing__(self, key: int) -> str:
        name = self[key] = str(key)
        return name


def _clean(
    rows: Iterable[tuple[int, ...]], rules: CleaningRules, counts: Counter[str]
) -> list[TraceJob]:
    """The jobs ``rules`` keep of ``rows`` (fields in `_USED` order), counting what they change.
    One loop with the rules read once: it runs for every job of a trace."""
    max_of_both = rules.procs_rule == "max_of_both"
    negative_run_time, drop_zero_run_time = rules.negative_run_time, rules.drop_zero_run_time
    names = _Names()
    jobs: list[TraceJob] = []
    for job_id, submit, wait, run, alloc, req, est, status, user, group in rows:
        procs = req if (req > alloc if max_of_both else alloc == -1) else alloc
        run_time = run if run >= 0 else negative_run_time
        if drop_zero_run_time and run_time <= 0:
            counts[DROP_NO_RUN_TIME] += 1
            continue
        if procs <= 0:
            counts[DROP_NO_PROCS] += 1
            continue
        if run < 0:
            counts[SET_RUN_TIME] += 1
        if procs != alloc:
            counts[SET_PROCS] += 1
        if est < 0:
            est = run_time
            counts[SET_ESTIMATE] += 1
        jobs.append(
            _new_job(
                job_id=job_id,
                submit=submit,
                run_time=run_time,
                estimate=est,
                procs=procs,
                user=names[user] if user >= 0 else "unknown",
                group=names[group] if group >= 0 else None,
                status=status,
                trace_wait=wait,
            )
        )
    return jobs
