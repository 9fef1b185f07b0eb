"""Node names folded into Slurm's host list form, for sinfo ``%N`` and squeue ``%Y``.

``n1, n2, n3, n5`` -> ``n[1-3,5]`` as ``hostlist_ranged_string`` prints it
(``SchedMD/slurm:src/common/hostlist.c``): names that differ only in their last number share
one bracket; numbers keep their zero padding (``gpu[01-04]``); names without a number stay as
they are. Groups keep the order of their first name. The daemon already sends jobs' node lists
folded; this is for lists the CLI assembles itself, without importing the policy core.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_LAST_NUMBER = re.compile(r"(.*?)(\d+)(\D*)")


def compress_hostnames(names: Iterable[str]) -> str:
    """``["n1", "n2", "n3", "n5", "login"]`` -> ``"n[1-3,5],login"``; ``[]`` -> ``""``."""
    parsed: list[tuple[str, tuple[str, str, str] | None]] = []
    padded: set[tuple[str, str, int]] = set()  # (head, tail, width) of zero-padded numbers
    for name in dict.fromkeys(names):
        match = _LAST_NUMBER.fullmatch(name)
        if match is None:
            parsed.append((name, None))
            continue
        head, digits, tail = match.group(1), match.group(2), match.group(3)
        parsed.append((name, (head, digits, tail)))
        if len(digits) > 1 and digits.startswith("0"):
            padded.add((head, tail, len(digits)))
    groups: dict[tuple[str, str, int], list[int]] = {}
    order: list[tuple[str, str, int] | str] = []
    for name, parts in parsed:
        if parts is None:
            order.append(name)
            continue
        head, digits, tail = parts
        width = len(digits) if (head, tail, len(digits)) in padded else 0
        key = (head, tail, width)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(int(digits))
    return ",".join(item if isinstance(item, str) else _group(item, groups[item]) for item in order)


def _group(key: tuple[str, str, int], numbers: list[int]) -> str:
    head, tail, width = key
    ranges: list[str] = []
    ordered = sorted(set(numbers))
    start = previous = ordered[0]
    for number in [*ordered[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        first, last = f"{start:0{width}d}", f"{previous:0{width}d}"
        ranges.append(first if start == previous else f"{first}-{last}")
        if number is not None:
            start = previous = number
    if len(ordered) == 1:
        return f"{head}{ranges[0]}{tail}"
    return f"{head}[{','.join(ranges)}]{tail}"


def expand_hostnames(text: str) -> list[str]:
    """Slurm's host list form back to names, as ``scontrol show hostnames`` prints them:
    ``"n[1-3,5],gpu[01-02],login"`` -> ``n1 n2 n3 n5 gpu01 gpu02 login`` (padding kept;
    several bracket groups in one name multiply out, ``r[1-2]n[1-2]`` -> four names).

    :raises ValueError: for an unbalanced bracket or a malformed range.
    """
    names: list[str] = []
    for item in _split_top_level(text.replace(" ", ",")):
        names.extend(_expand_one(item))
    return names


def _split_top_level(text: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += (char == "[") - (char == "]")
        if depth < 0 or depth > 1:
            raise ValueError(f"Invalid hostlist: {text}")
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise ValueError(f"Invalid hostlist: {text}")
    items.append("".join(current))
    return [item for item in items if item]


def _expand_one(item: str) -> list[str]:
    head, bracket, rest = item.partition("[")
    if not bracket:
        return [item]
    inside, _, tail = rest.partition("]")
    numbers: list[str] = []
    for part in inside.split(","):
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"Invalid hostlist: {item}")
        width = len(first) if first.startswith("0") else 0
        stop = int(last) if dash else int(first)
        numbers.extend(f"{n:0{width}d}" for n in range(int(first), stop + 1))
    return [f"{head}{number}{name}" for number in numbers for name in _expand_one(tail)]
