"""Slurm hostlists: ``gpu[01-04],login1`` <-> ``gpu01, gpu02, gpu03, gpu04, login1``.

`expand_hostlist` reads the forms Slurm's configuration and commands accept: names separated by
commas, each with any number of bracket groups of numbers and ranges (``n[1-3,7]``,
``rack[1-2]-n[01-02]``, the cartesian product in order). A range keeps the zero padding of its
first number (``[08-10]`` -> ``08 09 10``).

`compress_hostlist` writes the canonical short form ``squeue``/``sinfo`` print: names are
de-duplicated, grouped by the text around their last number, groups sorted by that text and
numbers sorted within a group, consecutive numbers of one padding joined into ranges
(``n1,n2,n3,n5`` -> ``n[1-3,5]``). ``expand_hostlist(compress_hostlist(names))`` gives back the
same names, in that canonical order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_LAST_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")
_NUMBER = re.compile(r"\d+")


def _split_top_level(text: str) -> list[str]:
    """Split at the commas that are not inside brackets."""
    parts: list[str] = []
    depth = 0
    start = 0
    for position, char in enumerate(text):
        if char == "[":
            depth += 1
            if depth > 1:
                raise ValueError(f"nested '[' in hostlist {text!r}")
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced ']' in hostlist {text!r}")
        elif char == "," and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    if depth:
        raise ValueError(f"unclosed '[' in hostlist {text!r}")
    parts.append(text[start:])
    return parts


def _expand_range(item: str, text: str) -> list[str]:
    low, dash, high = item.partition("-")
    if not _NUMBER.fullmatch(low) or (dash and not _NUMBER.fullmatch(high)):
        raise ValueError(
            f"bad range {item!r} in hostlist {text!r}; write numbers and ranges like [1-4,7]"
        )
    if not dash:
        return [low]
    first, last = int(low), int(high)
    if last < first:
        raise ValueError(
            f"range {item!r} in hostlist {text!r} runs backwards; write [{high}-{low}]"
        )
    width = len(low)
    return [str(number).zfill(width) for number in range(first, last + 1)]


def _expand_name(name: str, text: str) -> list[str]:
    if not name:
        raise ValueError(f"empty name in hostlist {text!r}")
    opening = name.find("[")
    if opening < 0:
        return [name]
    closing = name.index("]", opening)
    head, body, tail = name[:opening], name[opening + 1 : closing], name[closing + 1 :]
    numbers = [number for item in body.split(",") for number in _expand_range(item, text)]
    rests = _expand_name(tail, text) if tail else [""]
    return [f"{head}{number}{rest}" for number in numbers for rest in rests]


def expand_hostlist(text: str) -> tuple[str, ...]:
    """The names a hostlist stands for, in order: ``"gpu[01-03]"`` -> gpu01, gpu02, gpu03.

    :raises ValueError: for unbalanced brackets, empty names and ranges that are not numbers.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty hostlist; write names like n1,n2 or n[1-2]")
    names: list[str] = []
    for part in _split_top_level(text):
        names.extend(_expand_name(part.strip(), text))
    return tuple(names)


def compress_hostlist(names: Iterable[str]) -> str:
    """The canonical short hostlist of ``names``: n1,n2,n3 -> ``"n[1-3]"``; ``""`` for none.

    :raises ValueError: for a name that is empty or holds a bracket or a comma.
    """
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    plain: list[str] = []
    for name in dict.fromkeys(names):
        if not name or any(char in name for char in "[],") or name != name.strip():
            raise ValueError(f"cannot put {name!r} in a hostlist: names hold no [ ] , or spaces")
        match = _LAST_NUMBER.match(name)
        if match is None:
            plain.append(name)
            continue
        head, digits, tail = match.groups()
        groups.setdefault((head, tail), []).append((int(digits), digits))
    pieces = [(name, "") for name in plain]
    for (head, tail), numbers in groups.items():
        ranges = _ranges(sorted(numbers, key=lambda item: (item[0], len(item[1]))))
        if len(numbers) == 1:
            pieces.append((head, f"{numbers[0][1]}{tail}"))
        else:
            pieces.append((head, f"[{','.join(ranges)}]{tail}"))
    return ",".join(head + rest for head, rest in sorted(pieces))


def _ranges(numbers: list[tuple[int, str]]) -> list[str]:
    """Join runs of consecutive numbers that keep the first one's zero padding."""
    runs: list[list[tuple[int, str]]] = []
    for value, digits in numbers:
        if runs:
            run = runs[-1]
            last_value = run[-1][0]
            width = len(run[0][1])
            if value == last_value + 1 and digits == str(value).zfill(width):
                run.append((value, digits))
                continue
        runs.append([(value, digits)])
    return [run[0][1] if len(run) == 1 else f"{run[0][1]}-{run[-1][1]}" for run in runs]
