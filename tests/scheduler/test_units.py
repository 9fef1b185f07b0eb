"""Memory sizes, DS01 durations and Slurm time limits: tables of forms, and round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.units import (
    format_memory_mb,
    format_slurm_time,
    parse_count,
    parse_duration_s,
    parse_hours,
    parse_memory_mb,
    parse_slurm_time_s,
)

GIB = 1024
TIB = 1024 * 1024
DAY = 86_400


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("32G", 32 * GIB),  # Slurm --mem=32G
        ("32g", 32 * GIB),  # DS01 memory: 32g
        ("96G", 96 * GIB),  # DS01 aggregate.memory_max
        ("32GB", 32 * GIB),  # optional B
        ("32gib", 32 * GIB),
        ("512", 512),  # no unit: MiB, as Slurm
        ("512M", 512),
        ("512mb", 512),
        ("1T", TIB),
        ("2t", 2 * TIB),
        ("2048K", 2),
        ("1K", 1),  # kibibytes round up to whole MiB, as Slurm
        ("1536K", 2),
        (" 8G ", 8 * GIB),
        ("8 G", 8 * GIB),
        ("0", 0),
        (100, 100),  # an int is MiB
        (0, 0),
    ],
)
def test_parse_memory_mb(value: str | int, expected: int) -> None:
    assert parse_memory_mb(value) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [("4", "G", 4 * GIB), (4, "g", 4 * GIB), ("4M", "G", 4), ("3", "K", 1), (2, "T", 2 * TIB)],
)
def test_parse_memory_mb_default_unit(value: str | int, unit: str, expected: int) -> None:
    assert parse_memory_mb(value, default_unit=unit) == expected


@pytest.mark.parametrize("value", ["lots", "-1G", "1.5G", "100B", "", "32X", "G", "1 2G", "32GG"])
def test_parse_memory_mb_refuses_bad_strings(value: str) -> None:
    with pytest.raises(ValueError, match="K, M, G or T") as caught:
        parse_memory_mb(value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("value", [True, 3.5, None, [1]])
def test_parse_memory_mb_refuses_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="expected a memory size"):
        parse_memory_mb(value)  # type: ignore[arg-type]


def test_parse_memory_mb_refuses_negative_ints_and_bad_units() -> None:
    with pytest.raises(ValueError, match=">= 0, got -1"):
        parse_memory_mb(-1)
    with pytest.raises(ValueError, match="unknown memory unit 'X'"):
        parse_memory_mb("1", default_unit="X")


@pytest.mark.parametrize(
    ("mb", "text"),
    [
        (32 * GIB, "32G"),
        (1536, "1536M"),
        (0, "0M"),
        (TIB, "1T"),
        (3 * TIB + GIB, "3073G"),
        (1, "1M"),
    ],
)
def test_format_memory_mb(mb: int, text: str) -> None:
    assert format_memory_mb(mb) == text
    assert parse_memory_mb(text) == mb


def test_format_memory_mb_refuses_negative() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        format_memory_mb(-1)


@given(st.integers(min_value=0, max_value=2**50))
def test_memory_round_trip(mb: int) -> None:
    assert parse_memory_mb(format_memory_mb(mb)) == mb


@given(
    st.integers(min_value=0, max_value=2**30),
    st.sampled_from(["K", "M", "G", "T", "k", "m", "g", "t"]),
    st.sampled_from(["", "B", "b", "iB"]),
)
def test_memory_units_are_binary_multiples(number: int, unit: str, suffix: str) -> None:
    kib = number * {"K": 1, "M": 1024, "G": 1024**2, "T": 1024**3}[unit.upper()]
    assert parse_memory_mb(f"{number}{unit}{suffix}") == math.ceil(kib / 1024)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12h", 12 * 3600),  # DS01 v1 max_runtime
        ("1.5h", 5400),  # DS01 v1 idle_timeout
        ("0.5h", 1800),
        ("30m", 1800),
        ("45s", 45),
        ("2d", 2 * DAY),
        ("48H", 48 * 3600),
        (".5h", 1800),
        ("90", 90),  # a bare number is in the default unit (seconds)
        (90, 90),
        (2.5, 2),  # rounds to the nearest second (banker's rounding of .5)
        (None, None),  # YAML null: no limit
    ],
)
def test_parse_duration_s(value: str | float | None, expected: int | None) -> None:
    assert parse_duration_s(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (24, DAY),
        (0.25, 900),
        (0.5, 1800),
        ("36h", 36 * 3600),
        ("30m", 1800),
        ("2", 7200),
        (None, None),
    ],
)
def test_parse_hours(value: str | float | None, expected: int | None) -> None:
    assert parse_hours(value) == expected


@pytest.mark.parametrize("value", ["12 hours", "-1h", "h", "1.5x", "", "1e3h", "nan"])
def test_parse_duration_s_refuses_bad_strings(value: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration_s(value)


@pytest.mark.parametrize("value", [-1, -0.5, math.nan, math.inf])
def test_parse_duration_s_refuses_bad_numbers(value: float) -> None:
    with pytest.raises(ValueError, match="expected a duration >= 0"):
        parse_duration_s(value)


@pytest.mark.parametrize("value", [True, [], {}])
def test_parse_duration_s_refuses_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="expected a duration"):
        parse_duration_s(value)  # type: ignore[arg-type]


def test_parse_duration_s_refuses_bad_default_unit() -> None:
    with pytest.raises(ValueError, match="unknown duration unit 'w'"):
        parse_duration_s(1, default_unit="w")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 300),  # M
        ("90", 5400),
        ("5:30", 330),  # M:S
        ("1:00:00", 3600),  # H:M:S
        ("0:90:00", 5400),  # fields are not range-checked, as in Slurm
        ("2-12", 2 * DAY + 12 * 3600),  # D-H
        ("2-12:30", 2 * DAY + 12 * 3600 + 1800),  # D-H:M
        ("2-00:00:00", 2 * DAY),  # D-H:M:S
        ("1-01:01:01", DAY + 3661),
        ("UNLIMITED", None),
        ("infinite", None),
        ("Unlimited", None),
        ("0", None),  # zero means no limit, as sbatch -t 0
        (" 30:00 ", 1800),
        (60, 3600),  # an int is minutes
        (0, None),
    ],
)
def test_parse_slurm_time_s(value: str | int, expected: int | None) -> None:
    assert parse_slurm_time_s(value) == expected


@pytest.mark.parametrize(
    "value",
    ["1:2:3:4", "a", "-5", "1-", "1-2-3", "", "1.5", "1h", "1-2:3:4:5", "x-1", "1:", "\uff11"],
)
def test_parse_slurm_time_s_refuses_bad_strings(value: str) -> None:
    with pytest.raises(ValueError, match="D-H:M:S or UNLIMITED"):
        parse_slurm_time_s(value)


def test_parse_slurm_time_s_refuses_other_values() -> None:
    with pytest.raises(TypeError, match="Slurm time"):
        parse_slurm_time_s(True)
    with pytest.raises(TypeError, match="Slurm time"):
        parse_slurm_time_s(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0 minutes"):
        parse_slurm_time_s(-1)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0:00"),
        (59, "0:59"),
        (300, "5:00"),
        (3600, "1:00:00"),
        (2 * DAY, "2-00:00:00"),
        (DAY + 3661, "1-01:01:01"),
        (None, "UNLIMITED"),
    ],
)
def test_format_slurm_time(seconds: int | None, text: str) -> None:
    assert format_slurm_time(seconds) == text


def test_format_slurm_time_refuses_negative() -> None:
    with pytest.raises(ValueError, match=">= 0 seconds"):
        format_slurm_time(-1)


@given(st.integers(min_value=1, max_value=10**9))
def test_slurm_time_round_trip(seconds: int) -> None:
    assert parse_slurm_time_s(format_slurm_time(seconds)) == seconds


@given(
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=59),
)
def test_slurm_day_forms_agree(days: int, hours: int, minutes: int, seconds: int) -> None:
    total = days * DAY + hours * 3600 + minutes * 60 + seconds
    assert parse_slurm_time_s(f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}") == (total or None)
    assert parse_slurm_time_s(f"{days}-{hours}:{minutes}") == ((total - seconds) or None)
    assert parse_slurm_time_s(f"{days}-{hours}") == ((days * DAY + hours * 3600) or None)


@pytest.mark.parametrize(
    ("value", "minimum"), [(True, 0), (1.5, 0), (-1, 0), ("3", 0), (None, 0), (0, 1)]
)
def test_parse_count_refuses(value: object, minimum: int) -> None:
    with pytest.raises(ValueError, match=f"whole number >= {minimum}"):
        parse_count(value, minimum=minimum)


def test_parse_count_accepts_whole_numbers() -> None:
    assert parse_count(0) == 0
    assert parse_count(7, minimum=1) == 7
