"""sinfo's output (``SchedMD/slurm:src/sinfo/print.c``, ``sinfo.c``) from node and partition
records.

Records (the daemon's ``GET /v1/nodes``; only these keys are read): a node has ``name``,
``state`` (Berth's ``idle``, ``mixed``, ``allocated``, ``completing``, ``drain``, ``down``),
``partitions`` (names), ``cpus``, ``alloc_cpus``, ``mem_mb``, ``gpus`` (a count or a list of
devices with ``model``), ``features`` and ``reason``; a partition has ``name``, ``default``,
``max_time_s`` (``None`` = infinite) and ``state`` (``up``). A node's ``drain`` state prints
as ``drained`` with nothing allocated and ``draining`` otherwise, as in Slurm.

Lines: one per group of nodes that print the same in every field of the format except the
aggregates ``%N`` (folded node list), ``%D`` (count), ``%C`` (CPUs allocated/idle/other/total,
other = on drained or down nodes) and ``%A`` (nodes allocated/idle) - so a partition splits
per node state when the format shows the state (``comp n1`` / ``idle n[2-4]``). Without
``%P`` in the format, partitions do not split lines and each node counts once. ``-N``
(``node_oriented``) prints one line per node. ``%P`` marks the default partition with ``*``.
Default format ``%9P %.5a %.10l %.6D %.6t %N``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cli.columns import FormatError, Layout, fit, parse_percent_format
from cli.hostnames import compress_hostnames
from cli.timefmt import format_run_time

DEFAULT_FORMAT = "%9P %.5a %.10l %.6D %.6t %N"
Record = Mapping[str, Any]
_AGGREGATES = frozenset("NDCA")
_COMPACT = {"idle": "idle", "mixed": "mix", "allocated": "alloc", "completing": "comp",
            "drained": "drain", "draining": "drng", "down": "down"}  # fmt: skip
_HEADERS = {
    "P": "PARTITION", "a": "AVAIL", "l": "TIMELIMIT", "D": "NODES", "t": "STATE", "T": "STATE",
    "N": "NODELIST", "C": "CPUS(A/I/O/T)", "G": "GRES", "c": "CPUS", "m": "MEMORY",
    "A": "NODES(A/I)", "E": "REASON", "f": "AVAIL_FEATURES",
}  # fmt: skip


def node_state(node: Record) -> str:
    """sinfo's long state word for a node record."""
    state = str(node.get("state", "unknown")).lower()
    if state == "alloc":
        return "allocated"
    if state in ("drain", "drained", "draining"):
        return "draining" if int(node.get("alloc_cpus") or 0) else "drained"
    return state


def gres_text(node: Record) -> str:
    """``gpu:4``, ``gpu:a100:4``; ``(null)`` for a node without GPUs."""
    gpus = node.get("gpus") or 0
    count = gpus if isinstance(gpus, int) else len(gpus)
    if not count:
        return "(null)"
    models = (
        {str(gpu.get("model")) for gpu in gpus if gpu.get("model")}
        if isinstance(gpus, list)
        else set()
    )
    return f"gpu:{models.pop()}:{count}" if len(models) == 1 else f"gpu:{count}"


def _cpu_counts(nodes: Sequence[Record]) -> tuple[int, int, int, int]:
    alloc = idle = other = total = 0
    for node in nodes:
        cpus, used = int(node.get("cpus") or 0), int(node.get("alloc_cpus") or 0)
        total += cpus
        if node_state(node) in ("drained", "down"):
            other += cpus - used
            alloc += used
        else:
            alloc, idle = alloc + used, idle + cpus - used
    return alloc, idle, other, total


def _partition_value(letter: str, partition: Record) -> str:
    if letter == "P":
        return str(partition["name"]) + ("*" if partition.get("default") else "")
    if letter == "a":
        return str(partition.get("state") or "up")
    limit = partition.get("max_time_s")
    return "infinite" if limit is None else format_run_time(int(limit))


_NodeValue = Callable[[Record], str]
_NODE_VALUES: dict[str, _NodeValue] = {
    "t": lambda n: _COMPACT.get(node_state(n), node_state(n)),
    "T": node_state,
    "G": gres_text,
    "c": lambda n: str(n.get("cpus", 0)),
    "m": lambda n: str(n.get("mem_mb", 0)),
    "E": lambda n: str(n.get("reason") or "none"),
    "f": lambda n: ",".join(n.get("features") or ()) or "(null)",
}


def _aggregate(letter: str, nodes: Sequence[Record]) -> str:
    if letter == "N":
        return compress_hostnames(str(node["name"]) for node in nodes)
    if letter == "D":
        return str(len(nodes))
    if letter == "C":
        return "/".join(str(count) for count in _cpu_counts(nodes))
    busy = sum(1 for node in nodes if node_state(node) in ("allocated", "mixed", "completing"))
    return f"{busy}/{sum(1 for node in nodes if node_state(node) == 'idle')}"


def format_sinfo(
    nodes: Iterable[Record],
    partitions: Iterable[Record],
    *,
    fmt: str | None = None,
    header: bool = True,
    node_oriented: bool = False,
) -> str:
    """sinfo's whole output.

    :raises FormatError: for a field letter sinfo does not know.
    """
    layout = parse_percent_format(DEFAULT_FORMAT if fmt is None else fmt)
    for column in layout.columns:
        if column.key not in _HEADERS:
            raise FormatError(f"Invalid node format specification: {column.key}")
    lines = [_line(layout, [_HEADERS[c.key] for c in layout.columns])] if header else []
    for partition, members in _groups(list(nodes), list(partitions), layout, node_oriented):
        lines.append(_line(layout, [_value(c.key, partition, members) for c in layout.columns]))
    return "".join(line + "\n" for line in lines)


def _value(letter: str, partition: Record | None, members: Sequence[Record]) -> str:
    if letter in _AGGREGATES:
        return _aggregate(letter, members)
    if letter in "Pal":
        assert partition is not None  # these letters make lines per partition (_groups)
        return _partition_value(letter, partition)
    return _NODE_VALUES[letter](members[0]) if members else "n/a"


def _groups(
    nodes: list[Record], partitions: list[Record], layout: Layout, node_oriented: bool
) -> list[tuple[Record | None, list[Record]]]:
    keys = [c.key for c in layout.columns if c.key not in _AGGREGATES and c.key not in "Pal"]
    by_partition = any(c.key in "Pal" for c in layout.columns)
    scopes: list[tuple[Record | None, list[Record]]]
    if by_partition:
        scopes = [(p, [n for n in nodes if p["name"] in (n.get("partitions") or ())])
                  for p in partitions]  # fmt: skip
    else:
        scopes = [(None, nodes)]
    groups: list[tuple[Record | None, list[Record]]] = []
    for partition, members in scopes:
        found: dict[tuple[str, ...], list[Record]] = {}
        for node in members:
            key = (
                (str(node["name"]),)
                if node_oriented
                else tuple(_NODE_VALUES[k](node) for k in keys)
            )
            found.setdefault(key, []).append(node)
        groups.extend((partition, group) for group in found.values())
        if not members and partition is not None:
            groups.append((partition, []))  # an empty partition still has its line
    return groups


def _line(layout: Layout, values: list[str]) -> str:
    parts = [layout.prefix]
    for column, text in zip(layout.columns, values, strict=True):
        parts.append(fit(text, column.width, right=column.right) + column.suffix)
    return "".join(parts)
