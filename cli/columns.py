"""Column layout shared by squeue and sinfo: ``-o`` percent formats, ``-O`` named formats.

``-o`` (``_parse_format``/``_parse_token`` in ``SchedMD/slurm:src/squeue/opts.c``, the same in
``src/sinfo/opts.c``): the text before the first ``%`` is printed as is; every ``%`` starts a
field ``%[.][width]<letter>`` and whatever follows the letter up to the next ``%`` is copied
after the field (``"%i|%T"``, ``"%i %t"``). No width: the value at its natural width. A width:
the value is padded to it and cut to it (``_print_str`` with ``cut_output``: columns never
widen, ``%10i`` turns ``21166_[0-9%2]`` into ``21166_[0-9``), left-justified unless ``.``.
Berth also reads ``%-10i`` as left-justified (Slurm rejects the ``-``).

``-O`` / ``--Format`` (``_parse_long_token`` there): comma-separated ``name[:[.][width][suffix]]``
items; a name alone is 20 columns wide, left-justified, with no separator; ``name:`` alone is
natural width.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cli.options import CommandError

_LONG_ITEM = re.compile(r"([^:]+)(?::(\.)?(\d*)(.*))?", re.DOTALL)


class FormatError(CommandError):
    """A format string with a field the command does not know."""


class Column(NamedTuple):
    """One field of a format: its key (a letter, or a ``-O`` name), width (0 = natural),
    justification and the literal text printed after it."""

    key: str
    width: int = 0
    right: bool = False
    suffix: str = ""


class Layout(NamedTuple):
    prefix: str
    columns: tuple[Column, ...]


def fit(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded and cut to ``width`` (0 = as is), as squeue and sinfo print a column."""
    if width <= 0:
        return text
    cut = text[:width]
    return cut.rjust(width) if right else cut.ljust(width)


def parse_percent_format(text: str) -> Layout:
    """``"%.18i %.9P %R"`` -> prefix "" and columns i (18, right, " "), P (9, right, " "), R.

    :raises FormatError: ``Invalid job format specification: <token>`` for a token with no
        field letter.
    """
    prefix, _, rest = text.partition("%")
    columns: list[Column] = []
    for token in rest.split("%") if "%" in text else []:
        if not token:
            continue  # strtok skips empty tokens ("%%")
        match = re.match(r"([.-]?)(\d*)(\D)", token)
        if match is None:
            raise FormatError(f"Invalid job format specification: %{token}")
        flag, digits, key = match.groups()
        columns.append(Column(key, int(digits or 0), flag == ".", token[match.end() :]))
    return Layout(prefix, tuple(columns))


def parse_named_format(text: str) -> Layout:
    """``"JobArrayID,StateCompact:.5|"`` -> columns jobarrayid (20) and statecompact (5,
    right, suffix "|"); keys are lower-cased names."""
    columns: list[Column] = []
    for item in text.split(","):
        if not item.strip():
            continue
        match = _LONG_ITEM.fullmatch(item.strip())
        assert match is not None  # the pattern accepts any non-empty text
        name, dot, digits, suffix = match.groups()
        if ":" not in item:
            columns.append(Column(name.strip().lower(), 20))
        else:
            columns.append(Column(name.strip().lower(), int(digits or 0), dot == ".", suffix))
    return Layout("", tuple(columns))
