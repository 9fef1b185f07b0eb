"""`cli.timefmt`: Slurm's duration and timestamp forms (src/common/parse_time.c, squeue/print.c)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.timefmt import (
    format_elapsed,
    format_run_time,
    format_time_limit,
    format_timestamp,
    parse_clock,
    parse_datetime,
)

NOW = int(datetime(2026, 11, 23, 15, 0, 0).timestamp())


@pytest.fixture
def utc() -> Iterator[None]:
    """Run in UTC, so that printed timestamps are the same on every machine."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0:00"),
        (3, "0:03"),
        (61, "1:01"),
        (3723, "1:02:03"),
        (86399, "23:59:59"),
        (93784, "1-02:03:04"),
        (365 * 86400, "365-00:00:00"),
        (365 * 86400 + 1, "INVALID"),
        (-1, "INVALID"),
    ],
)
def test_squeue_run_time(seconds: int, text: str) -> None:
    assert format_run_time(seconds) == text


def test_squeue_time_limit() -> None:
    assert format_time_limit(None) == "UNLIMITED"
    assert format_time_limit(300) == "5:00"
    assert format_time_limit(86400) == "1-00:00:00"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "00:00:00"),
        (61, "00:01:01"),
        (3600, "01:00:00"),
        (86400, "1-00:00:00"),
        (90061, "1-01:01:01"),
        (-5, "INVALID"),
        (None, "UNLIMITED"),
    ],
)
def test_sacct_elapsed(seconds: int | None, text: str) -> None:
    assert format_elapsed(seconds) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0:03", 3), ("1:02:03", 3723), ("1-02:03:04", 93784), ("00:01:01", 61), ("45", 45)],
)
def test_parse_clock(text: str, seconds: int) -> None:
    assert parse_clock(text) == seconds


@pytest.mark.parametrize("text", ["", "1:2:3:4", "x", "1-", "-1:00", "1:xx"])
def test_parse_clock_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_clock(text)


@given(st.integers(min_value=0, max_value=10_000 * 86400))
def test_elapsed_format_then_parse(seconds: int) -> None:
    assert parse_clock(format_elapsed(seconds)) == seconds


@given(st.integers(min_value=0, max_value=365 * 86400))
def test_run_time_format_then_parse(seconds: int) -> None:
    assert parse_clock(format_run_time(seconds)) == seconds


@pytest.mark.usefixtures("utc")
def test_timestamps_are_iso_local_time() -> None:
    assert format_timestamp(1795428000) == "2026-11-23T10:00:00"
    assert format_timestamp(None) == "Unknown"
    assert format_timestamp(0, missing="N/A") == "N/A"


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second).timestamp())


@pytest.mark.parametrize(
    ("text", "past", "expected"),
    [
        ("now", False, NOW),
        ("NOW", True, NOW),
        ("now+1hour", False, NOW + 3600),
        ("now+1 hour", False, NOW + 3600),
        ("now-2days", True, NOW - 2 * 86400),
        ("now-1week", True, NOW - 7 * 86400),
        ("now+45", False, NOW + 45),
        ("now+10min", False, NOW + 600),
        ("now+3s", False, NOW + 3),
        ("2026-11-23T10:00", True, _at(2026, 11, 23, 10, 0)),
        ("2026-11-23T10:00:05", True, _at(2026, 11, 23, 10, 0, 5)),
        ("2026-11-23", True, _at(2026, 11, 23)),
        ("16:00", False, _at(2026, 11, 23, 16, 0)),
        ("16:00", True, _at(2026, 11, 22, 16, 0)),
        ("10:00", False, _at(2026, 11, 24, 10, 0)),
        ("10:00", True, _at(2026, 11, 23, 10, 0)),
        ("15:00", False, NOW),
        ("4:30pm", False, _at(2026, 11, 23, 16, 30)),
        ("12:00am", True, _at(2026, 11, 23, 0, 0)),
        ("midnight", False, _at(2026, 11, 24, 0, 0)),
        ("noon", True, _at(2026, 11, 23, 12, 0)),
        ("elevenses", True, _at(2026, 11, 23, 11, 0)),
        ("fika", True, _at(2026, 11, 23, 15, 0)),
        ("teatime", False, _at(2026, 11, 23, 16, 0)),
        ("today", False, _at(2026, 11, 23)),
        ("tomorrow", False, _at(2026, 11, 24)),
        ("12/25", False, _at(2026, 12, 25)),
        ("12/25/27", False, _at(2027, 12, 25)),
        ("12.25.2027", False, _at(2027, 12, 25)),
        ("122527", False, _at(2027, 12, 25)),
    ],
)
def test_parse_datetime(text: str, past: bool, expected: int) -> None:
    assert parse_datetime(text, now=NOW, past=past) == expected


@pytest.mark.parametrize(
    "text", ["", "later", "now+5x", "now*2", "25:00", "10:61", "13:00pm", "2026-13-01",
             "2026-02-30", "13/01", "2026-11-23T24:00"]
)  # fmt: skip
def test_parse_datetime_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"^Invalid time specification: "):
        parse_datetime(text, now=NOW)
