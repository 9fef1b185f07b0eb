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
