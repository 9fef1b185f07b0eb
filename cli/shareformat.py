"""Columns for ``sshare`` and ``sacctmgr``: both print with Slurm's ``print_fields``
(``SchedMD/slurm:src/common/print_fields.c``), like sacct: fixed width (a positive width
right-justifies, a negative one left-justifies, one space after each field, a header and a
line of dashes), ``-p`` (``|`` after every field) or ``-P`` (``|`` between fields), ``-n`` no
header. ``format=Name%N`` sets a width; names match case-insensitively by prefix.

The rows come from the daemon's fair-share report (``GET /v1/shares``): one per account
(``user`` empty) and one per user association.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cli.columns import FormatError

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # canonical
    header: str
    width: int
    value: Callable[[Row], str]


def parse_fields(specs: Sequence[str], table: Sequence[Field]) -> list[Field]:
    """``["Account%256", "user"]`` -> fields of ``table`` with their widths.

    :raises FormatError: ``Invalid field requested: "<name>"``.
    """
    chosen: list[Field] = []
    for spec in specs:
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            name, percent, width = item.partition("%")
            match = next((f for f in table if f.name.lower().startswith(name.lower())), None)
            if match is None:
                raise FormatError(f'Invalid field requested: "{name}"')
            size = int(width) if percent and width.lstrip("-").isdigit() else match.width
            chosen.append(Field(match.name, match.header, size, match.value))
    return chosen


def format_rows(rows: Sequence[Row], fields: Sequence[Field], *, mode: str = "fixed",
                header: bool = True) -> str:  # fmt: skip
    """``mode``: ``fixed``, ``-p`` or ``-P``."""
    lines: list[list[str]] = []
    if header:
        lines.append([f.header for f in fields])
    lines.extend([f.value(row) for f in fields] for row in rows)
    out: list[str] = []
    for index, cells in enumerate(lines):
        if mode == "-P":
            out.append("|".join(cells))
        elif mode == "-p":
            out.append("".join(cell + "|" for cell in cells))
        else:
            pairs = zip(cells, fields, strict=True)
            out.append("".join(_fit(cell, f.width) + " " for cell, f in pairs))
            if header and index == 0:
                out.append("".join("-" * abs(f.width) + " " for f in fields))
    return "".join(line + "\n" for line in out)


def _fit(text: str, width: int) -> str:
    size = abs(width)
    if len(text) > size:
        text = text[: size - 1] + "+"
    return text.rjust(size) if width > 0 else text.ljust(size)


def text(key: str) -> Callable[[Row], str]:
    return lambda row: str(row.get(key) or "")


def decimal(key: str) -> Callable[[Row], str]:
    """Slurm prints shares and factors with ``%f``; ``None`` (infinite level) as ``inf``."""

    def value(row: Row) -> str:
        found = row.get(key)
        return "inf" if found is None else f"{float(found):f}"

    return value
