"""Slurm hostlists: expansion, canonical compression, and the round trip between them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.hostlist import compress_hostlist, expand_hostlist


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("n1", ("n1",)),
        ("n[1-3]", ("n1", "n2", "n3")),
        ("gpu[01-04]", ("gpu01", "gpu02", "gpu03", "gpu04")),
        ("n[8-10]", ("n8", "n9", "n10")),  # no padding: widths grow
        ("n[08-10]", ("n08", "n09", "n10")),  # padding of the first number
        ("n[001-002]", ("n001", "n002")),
        ("n[1,3-4]", ("n1", "n3", "n4")),
        ("n[1]", ("n1",)),
        ("n1,n2", ("n1", "n2")),
        ("gpu[01-02],login", ("gpu01", "gpu02", "login")),
        ("n1, n2", ("n1", "n2")),
        ("a[1-2]-ib", ("a1-ib", "a2-ib")),
        ("r[1-2]n[1-2]", ("r1n1", "r1n2", "r2n1", "r2n2")),  # cartesian product, in order
    ],
)
def test_expand_hostlist(text: str, names: tuple[str, ...]) -> None:
    assert expand_hostlist(text) == names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty hostlist"),
        ("  ", "empty hostlist"),
        ("n[1-", "unclosed"),
        ("n]1", "unbalanced"),
        ("n[[1]]", "nested"),
        ("n[a-b]", "bad range"),
        ("n[1-b]", "bad range"),
        ("n[]", "bad range"),
        ("n[3-1]", "runs backwards"),
        ("n1,,n2", "empty name"),
    ],
)
def test_expand_hostlist_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expand_hostlist(text)


@pytest.mark.parametrize(
    ("names", "text"),
    [
        ([], ""),
        (["n1"], "n1"),
        (["n1", "n2", "n3"], "n[1-3]"),
        (["n1", "n2", "n3", "n5"], "n[1-3,5]"),
        (["n3", "n1", "n2"], "n[1-3]"),  # sorted
        (["gpu01", "gpu02", "gpu03", "gpu04"], "gpu[01-04]"),  # keeps zero padding
        (["n9", "n10"], "n[9-10]"),
        (["n09", "n10"], "n[09-10]"),
        (["n1", "n01"], "n[1,01]"),  # different names, different paddings
        (["n1", "n1"], "n1"),  # de-duplicated
        (["n2", "login", "n1"], "login,n[1-2]"),
        (["a1-ib", "a2-ib", "a1"], "a1,a[1-2]-ib"),
        (["labbox"], "labbox"),
    ],
)
def test_compress_hostlist(names: list[str], text: str) -> None:
    assert compress_hostlist(names) == text


@pytest.mark.parametrize("name", ["n[1]", "", "a,b", " n1", "n]"])
def test_compress_hostlist_refuses_names_it_cannot_write(name: str) -> None:
    with pytest.raises(ValueError, match="cannot put"):
        compress_hostlist([name])


_NAMES = st.builds(
    lambda head, number, width, tail: f"{head}{str(number).zfill(width)}{tail}",
    st.sampled_from(["n", "gpu", "node-", "r1n", "x"]),
    st.integers(min_value=0, max_value=120),
    st.integers(min_value=0, max_value=4),
    st.sampled_from(["", "-ib", "b"]),
) | st.sampled_from(["login", "head", "gpu"])


@given(st.lists(_NAMES, max_size=40))
def test_compress_then_expand_gives_the_same_names(names: list[str]) -> None:
    text = compress_hostlist(names)
    expanded = expand_hostlist(text) if names else ()
    assert sorted(expanded) == sorted(set(names))
    assert compress_hostlist(expanded) == text  # the canonical form is a fixed point


@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, unique=True))
def test_expand_then_compress_of_numbered_nodes(numbers: list[int]) -> None:
    names = [f"n{number:03d}" for number in sorted(numbers)]
    assert expand_hostlist(compress_hostlist(names)) == tuple(names)
