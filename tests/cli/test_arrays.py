"""`cli.arrays`: array index lists and job ids in Slurm's written forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.arrays import (
    MAX_ARRAY_SIZE,
    ArraySpec,
    JobRef,
    array_label,
    expand_ranges,
    fold_ranges,
    format_array_spec,
    parse_array_spec,
    parse_job_ids,
)

task_ids = st.sets(st.integers(min_value=0, max_value=MAX_ARRAY_SIZE - 1), min_size=1, max_size=60)


@pytest.mark.parametrize(
    ("spec", "indices", "throttle"),
    [
        ("0-15", tuple(range(16)), None),
        ("0-15:4", (0, 4, 8, 12), None),
        ("0-14:4", (0, 4, 8, 12), None),
        ("1,3,5-7", (1, 3, 5, 6, 7), None),
        ("0-9%2", tuple(range(10)), 2),
        ("5,1,3-4,1", (1, 3, 4, 5), None),
        ("1000", (1000,), None),
        (" 2-3 ", (2, 3), None),
    ],
)
def test_parse_array_spec(spec: str, indices: tuple[int, ...], throttle: int | None) -> None:
    assert parse_array_spec(spec) == ArraySpec(indices, throttle)


@pytest.mark.parametrize("spec", ["", "1001", "0-1001", "-1", "3-1", "1-4:0", "a", "1;2", "1%-2"])
def test_bad_array_specs(spec: str) -> None:
    with pytest.raises(ValueError, match=r"^Invalid job array specification"):
        parse_array_spec(spec)


def test_max_array_size_is_a_parameter() -> None:
    assert parse_array_spec("0-4", max_array_size=5).indices == (0, 1, 2, 3, 4)
    with pytest.raises(ValueError, match="MaxArraySize=5"):
        parse_array_spec("5", max_array_size=5)


@pytest.mark.parametrize(
    ("ids", "text"),
    [
        ([2, 4, 5, 6, 7, 8, 9], "2,4-9"),
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "0-9"),
        ([3], "3"),
        ([4, 5], "4-5"),
        ([9, 1, 1, 2], "1-2,9"),
        ([], ""),
    ],
)
def test_fold_ranges(ids: list[int], text: str) -> None:
    assert fold_ranges(ids) == text


def test_array_labels_match_squeue() -> None:
    assert array_label(21166, range(10), 2) == "21166_[0-9%2]"
    assert array_label(21166, [2, 4, 5, 6, 7, 8, 9], 2) == "21166_[2,4-9%2]"
    assert array_label(123, [5, 6, 7, 8, 9], 3) == "123_[5-9%3]"
    assert array_label(124, [1, 2, 3, 4]) == "124_[1-4]"
    assert format_array_spec([0, 1, 2, 5], 2) == "0-2,5%2"


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("123", [JobRef(123)]),
        ("123_4", [JobRef(123, (4,))]),
        ("12,13_4", [JobRef(12), JobRef(13, (4,))]),
        ("14_[1-3,7]", [JobRef(14, (1, 2, 3, 7))]),
        ("14_[1-3],15", [JobRef(14, (1, 2, 3)), JobRef(15)]),
        ("123.batch", [JobRef(123, None, "batch")]),
        ("123_4.0", [JobRef(123, (4,), "0")]),
        ("", []),
    ],
)
def test_parse_job_ids(text: str, refs: list[JobRef]) -> None:
    assert parse_job_ids(text) == refs


@pytest.mark.parametrize("text", ["abc", "12_", "12_[", "12_[3-1]", "12.", "1 2"])
def test_bad_job_ids(text: str) -> None:
    with pytest.raises(ValueError, match=r"^Invalid job id specified"):
        parse_job_ids(text)


@given(ids=task_ids, throttle=st.none() | st.integers(min_value=1, max_value=100))
def test_array_spec_format_then_parse_gives_the_same_ids(
    ids: set[int], throttle: int | None
) -> None:
    spec = format_array_spec(ids, throttle)
    assert parse_array_spec(spec) == ArraySpec(tuple(sorted(ids)), throttle)


@given(ids=task_ids)
def test_folding_then_expanding_gives_the_same_ids(ids: set[int]) -> None:
    assert expand_ranges(fold_ranges(ids)) == sorted(ids)
    label = array_label(77, ids)
    assert parse_job_ids(label) == [JobRef(77, tuple(sorted(ids)))]


@given(
    start=st.integers(min_value=0, max_value=500),
    count=st.integers(min_value=1, max_value=40),
    step=st.integers(min_value=1, max_value=12),
)
def test_stepped_ranges_expand_like_range(start: int, count: int, step: int) -> None:
    last = start + (count - 1) * step
    assert expand_ranges(f"{start}-{last}:{step}") == list(range(start, last + 1, step))
