"""Parsing and printing of the quantities found in configuration files and job requests.

Every parser takes the raw value a driver read (a string, or a number from TOML/YAML) and returns
the core's units: integer MiB for memory, integer seconds for time, plain ints for counts. They
raise `ValueError` (`TypeError` for a value of the wrong type, such as a list) with a message
that names the value and the accepted forms; the configuration loaders (`scheduler.quotas`,
`scheduler.clusterconfig`) wrap it in a `ConfigError` that adds the file, table and key.

Memory, as Slurm's ``--mem``: an integer and an optional unit ``K``, ``M``, ``G`` or ``T`` (any
case, binary multiples: ``1G`` is 1024 MiB) with an optional ``B`` (``32GB``); no unit means MiB.
DS01 writes the same forms in lower case (``32g``). Kibibytes round up to whole MiB, as Slurm does.

Durations:
- `parse_slurm_time_s` reads Slurm's time formats: ``M``, ``M:S``, ``H:M:S``, ``D-H``,
  ``D-H:M`` and ``D-H:M:S``; ``UNLIMITED``/``infinite`` (and ``0``, as in Slurm) mean no limit.
  Fields are not range-checked, as in Slurm (``90`` and ``1:30:00`` are the same limit).
- `parse_duration_s` reads DS01's forms: a number with a unit ``s``, ``m``, ``h`` or ``d``
  (``12h``, ``1.5h``, ``30m``); `parse_hours` is the same with hours for a bare number (DS01's
  ``*_h`` keys). ``None`` (YAML ``null``) means no limit. Fractions round to the nearest second.
"""

from __future__ import annotations

import math
import re

MEMORY_UNITS = {"K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}  # KiB per unit
_MEMORY_FORMS = "an integer with an optional unit K, M, G or T (e.g. 512M, 32G, 2T; no unit = MiB)"
_MEMORY_RE = re.compile(r"(\d+)\s*([KMGT])?(I?B)?", re.IGNORECASE)

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_FORMS = "a number with a unit s, m, h or d (e.g. 45s, 30m, 12h, 1.5h)"
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhd])?", re.IGNORECASE)

_SLURM_FORMS = "M, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED"
_UNLIMITED = ("unlimited", "infinite")


def parse_memory_mb(value: str | int, *, default_unit: str = "M") -> int:
    """``value`` in MiB: ``"32G"`` -> 32768, ``"512m"`` -> 512, ``"100"`` -> 100, ``100`` -> 100.

    A number without a unit (an int, or a string of digits) is in ``default_unit``.

    :raises ValueError: naming the value and the accepted forms (`TypeError` for a value
        that is neither a string nor a number).
    """
    unit = default_unit.upper()
    if unit not in MEMORY_UNITS:
        raise ValueError(f"unknown memory unit {default_unit!r}; use K, M, G or T")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected a memory size, {_MEMORY_FORMS}; got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a memory size >= 0, got {value!r}")
        return _kib_to_mib(value * MEMORY_UNITS[unit])
    match = _MEMORY_RE.fullmatch(value.strip())
    if match is None or (match.group(3) and not match.group(2)):
        raise ValueError(f"expected a memory size, {_MEMORY_FORMS}; got {value!r}")
    number, suffix = int(match.group(1)), match.group(2)
    return _kib_to_mib(number * MEMORY_UNITS[suffix.upper() if suffix else unit])


def _kib_to_mib(kib: int) -> int:
    return -(-kib // 1024)


def format_memory_mb(mb: int) -> str:
    """The shortest exact Slurm form of ``mb`` MiB: 32768 -> ``"32G"``, 1536 -> ``"1536M"``."""
    if mb < 0:
        raise ValueError(f"expected a memory size >= 0, got {mb!r}")
    for suffix, factor in (("T", 1024**2), ("G", 1024)):
        if mb and mb % factor == 0:
            return f"{mb // factor}{suffix}"
    return f"{mb}M"


def parse_duration_s(value: str | float | None, *, default_unit: str = "s") -> int | None:
    """DS01's durations in seconds: ``"12h"`` -> 43200, ``"1.5h"`` -> 5400, ``"30m"`` -> 1800.

    A bare number (an int, a float or a string without a unit) is in ``default_unit``;
    ``None`` means no limit and is returned as ``None``.

    :raises ValueError: naming the value and the accepted forms (`TypeError` for a value
        that is neither a string nor a number).
    """
    if value is None:
        return None
    unit = default_unit.lower()
    if unit not in _DURATION_UNITS:
        raise ValueError(f"unknown duration unit {default_unit!r}; use s, m, h or d")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a duration, {_DURATION_FORMS}; got {value!r}")
    if isinstance(value, str):
        match = _DURATION_RE.fullmatch(value.strip())
        if match is None:
            raise ValueError(f"expected a duration, {_DURATION_FORMS}; got {value!r}")
        number = float(match.group(1))
        unit = (match.group(2) or unit).lower()
    else:
        number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"expected a duration >= 0, got {value!r}")
    return round(number * _DURATION_UNITS[unit])


def parse_hours(value: str | float | None) -> int | None:
    """A DS01 ``*_h`` value in seconds: ``24`` -> 86400, ``0.25`` -> 900, ``None`` -> None."""
    return parse_duration_s(value, default_unit="h")


def parse_slurm_time_s(value: str | int) -> int | None:
    """A Slurm time limit in seconds, or ``None`` for no limit.

    ``"90"`` -> 5400 (a bare number is minutes, as ``sbatch -t 90``), ``"1:30"`` -> 90,
    ``"1:30:00"`` -> 5400, ``"2-12"`` -> 216000, ``"2-00:00:00"`` -> 172800, ``"UNLIMITED"`` ->
    None. An int is minutes. Zero means no limit, as in Slurm.

    :raises ValueError: naming the value and the accepted forms (`TypeError` for a value
        that is neither a string nor a number).
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected a Slurm time ({_SLURM_FORMS}), got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a time >= 0 minutes, got {value!r}")
        return value * 60 or None
    text = value.strip()
    if text.lower() in _UNLIMITED:
        return None
    days_text, dash, clock = text.rpartition("-") if "-" in text else ("", "", text)
    fields = clock.split(":")
    numbers = [days_text, *fields] if dash else fields
    if len(fields) > 3 or not all(part.isascii() and part.isdigit() for part in numbers):
        raise ValueError(f"expected a Slurm time ({_SLURM_FORMS}), got {value!r}")
    parts = [int(part) for part in fields]
    if dash:  # D-H, D-H:M, D-H:M:S
        hours, minutes, seconds = (*parts, 0, 0)[:3]
        total = int(days_text) * 86400 + hours * 3600 + minutes * 60 + seconds
    elif len(parts) == 3:  # H:M:S
        total = parts[0] * 3600 + parts[1] * 60 + parts[2]
    elif len(parts) == 2:  # M:S
        total = parts[0] * 60 + parts[1]
    else:  # M
        total = parts[0] * 60
    return total or None


def format_slurm_time(seconds: int | None) -> str:
    """``seconds`` as Slurm prints a time limit: ``5:00``, ``1:30:00``, ``2-00:00:00``,
    ``UNLIMITED`` for None. `parse_slurm_time_s` reads every form this writes."""
    if seconds is None:
        return "UNLIMITED"
    if seconds < 0:
        raise ValueError(f"expected a time >= 0 seconds, got {seconds!r}")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def parse_count(value: object, *, minimum: int = 0) -> int:
    """A whole number of things (CPUs, GPUs, jobs) that is at least ``minimum``.

    :raises ValueError: for booleans, fractions, strings and numbers below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"expected a whole number >= {minimum}, got {value!r}")
    return value
