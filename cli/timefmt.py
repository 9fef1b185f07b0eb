"""Durations and timestamps as Slurm's commands print and read them.

Printing:
- `format_run_time`: squeue's TIME/TIME_LIMIT/TIME_LEFT columns (``_print_secs`` in
  ``SchedMD/slurm:src/squeue/print.c``): ``M:SS``, ``H:MM:SS``, ``D-HH:MM:SS``; ``INVALID`` for
  a negative value or one over 365 days. `format_time_limit` adds ``UNLIMITED`` for no limit.
- `format_elapsed`: sacct's Elapsed, CPUTime and Timelimit (``secs2time_str`` in
  ``SchedMD/slurm:src/common/parse_time.c``): always ``HH:MM:SS``, ``D-HH:MM:SS`` past a day.
- `format_timestamp`: ``slurm_make_time_str``'s default ``%Y-%m-%dT%H:%M:%S`` in local time;
  sacct prints ``Unknown`` for an unset time, squeue ``N/A`` (pass ``missing``).
  Berth ignores ``SLURM_TIME_FORMAT``.

Reading:
- `parse_clock` reads what the printers write (``1-02:03:04``, ``1:02:03``, ``0:03``).
- `parse_datetime` reads the forms of Slurm's ``parse_time`` (``SchedMD/slurm:src/common/
  parse_time.c``) that sbatch ``--begin`` and sacct ``-S``/``-E`` take: ``now[{+|-}N[unit]]``
  (unit seconds by default, or minutes, hours, days, weeks), ``HH:MM[:SS][AM|PM]``,
  ``YYYY-MM-DD[THH:MM[:SS]]``, ``MM/DD[/YY]``, ``MMDD[YY]``, ``today``, ``tomorrow``,
  ``midnight``, ``noon``, ``elevenses`` (11:00), ``fika`` (15:00), ``teatime`` (16:00).
  A time of day alone is the next such time (``past=False``, sbatch) or the last one
  (``past=True``, sacct). ``now`` is always the caller's: nothing here reads the clock.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_YEAR_S = 365 * 86400
UNLIMITED_S = _YEAR_S  # the daemon stores "no limit" as 365 days; at or past it prints UNLIMITED
_UNIT_S = {
    **dict.fromkeys(("", "s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 7 * 86400),
}
_NAMED_TIMES = {"midnight": (0, 0), "elevenses": (11, 0), "noon": (12, 0), "fika": (15, 0),
                "teatime": (16, 0)}  # fmt: skip
_RELATIVE = re.compile(
    r"now(?:([+-])(\d+)\s*(|s|secs?|seconds?|mins?|minutes?|h|hours?|d|days?|w|weeks?))?"
)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(am|pm)?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:t(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_SLASH = re.compile(r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?")
_COMPACT = re.compile(r"(\d{2})(\d{2})(\d{2})?")


def format_run_time(seconds: int) -> str:
    """squeue's TIME: 3 -> ``0:03``, 3723 -> ``1:02:03``, 93784 -> ``1-02:03:04``."""
    if seconds < 0 or seconds > _YEAR_S:
        return "INVALID"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def is_unlimited(limit_s: int | None) -> bool:
    """A time limit Slurm prints as ``UNLIMITED``: none, or the daemon's 365-day stand-in."""
    return limit_s is None or limit_s >= UNLIMITED_S


def format_time_limit(limit_s: int | None) -> str:
    """squeue's TIME_LIMIT: ``UNLIMITED`` for no limit (`is_unlimited`), else as
    `format_run_time`."""
    return "UNLIMITED" if is_unlimited(limit_s) else format_run_time(int(limit_s or 0))


def format_limit_elapsed(limit_s: int | None) -> str:
    """sacct's Timelimit and scontrol's TimeLimit: ``UNLIMITED`` or as `format_elapsed`."""
    return "UNLIMITED" if is_unlimited(limit_s) else format_elapsed(limit_s)


def format_elapsed(seconds: int | None) -> str:
    """sacct's Elapsed: 61 -> ``00:01:01``, 86400 -> ``1-00:00:00``; ``None`` -> UNLIMITED."""
    if seconds is None:
        return "UNLIMITED"
    if seconds < 0:
        return "INVALID"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def parse_clock(text: str) -> int:
    """Seconds in a printed duration ``[D-][[H:]M:]S`` (the inverse of the two printers).

    :raises ValueError: for anything else.
    """
    days_text, dash, clock = text.strip().rpartition("-")
    parts = clock.split(":")
    numbers = [*parts, days_text] if dash else parts
    if len(parts) > 3 or not all(p.isascii() and p.isdigit() for p in numbers):
        raise ValueError(f"expected a duration [D-][[H:]M:]S, got {text!r}")
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds + (int(days_text) * 86400 if dash else 0)


def format_timestamp(epoch: int | None, *, missing: str = "Unknown") -> str:
    """``2026-11-23T10:00:00`` in local time; ``missing`` for ``None`` or 0 (unset in Slurm)."""
    if not epoch:
        return missing
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%dT%H:%M:%S")


def parse_datetime(text: str, *, now: int, past: bool = False) -> int:
    """Epoch seconds for one of the forms in the module docstring, relative to ``now``.

    :raises ValueError: ``Invalid time specification: <text>``.
    """
    try:
        return _parse_moment(text.strip().lower(), now=now, past=past)
    except ValueError:  # a malformed word, a day or month out of range, an hour past 23
        raise ValueError(f"Invalid time specification: {text}") from None


def _parse_moment(word: str, *, now: int, past: bool) -> int:
    relative = _RELATIVE.fullmatch(word)
    if relative is not None:
        sign, count, unit = relative.groups()
        if sign is None:
            return now
        delta = int(count) * _UNIT_S[unit]
        return now + delta if sign == "+" else now - delta
    today = datetime.fromtimestamp(now).date()
    if word in ("today", "tomorrow"):
        return _epoch(today + timedelta(days=int(word == "tomorrow")), 0, 0, 0)
    if word in _NAMED_TIMES:
        return _time_of_day(today, *_NAMED_TIMES[word], 0, now=now, past=past)
    clock = _CLOCK.fullmatch(word)
    if clock is not None:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if clock.group(4) is not None:
            if not 1 <= hour <= 12:
                raise ValueError(word)
            hour = hour % 12 + (12 if clock.group(4) == "pm" else 0)
        return _time_of_day(today, hour, minute, int(clock.group(3) or 0), now=now, past=past)
    iso = _ISO.fullmatch(word)
    if iso is not None:
        year, month, day, hour, minute, second = (int(g or 0) for g in iso.groups())
        return _epoch(date(year, month, day), hour, minute, second)
    slash = _SLASH.fullmatch(word) or _COMPACT.fullmatch(word)
    if slash is None:
        raise ValueError(word)
    year = _full_year(slash.group(3), today.year)
    return _epoch(date(year, int(slash.group(1)), int(slash.group(2))), 0, 0, 0)


def _full_year(text: str | None, current: int) -> int:
    if text is None:
        return current
    return int(text) if len(text) == 4 else 2000 + int(text)


def _time_of_day(today: date, hour: int, minute: int, second: int, *, now: int,
                 past: bool) -> int:  # fmt: skip
    moment = _epoch(today, hour, minute, second)
    if not past and moment < now:
        return _epoch(today + timedelta(days=1), hour, minute, second)
    if past and moment > now:
        return _epoch(today - timedelta(days=1), hour, minute, second)
    return moment


def _epoch(day: date, hour: int, minute: int, second: int) -> int:
    """Local wall-clock time -> epoch seconds (the local zone's rules, DST included)."""
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
        raise ValueError(f"{hour}:{minute}:{second} is not a time of day")
    return int(datetime(day.year, day.month, day.day, hour, minute, second).timestamp())
