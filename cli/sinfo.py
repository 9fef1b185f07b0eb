"""``sinfo``: partitions and nodes (SLURM-CONTRACT.md row 21).

Slurm's behaviour followed (``SchedMD/slurm:src/sinfo/opts.c``, ``print.c``): the default
format ``%9P %.5a %.10l %.6D %.6t %N``, ``-o`` formats with natural widths when no width is
given (``sinfo -o %P`` -> ``PARTITION`` then ``main*``), ``-N`` one line per node (format
``%N %.6D %.9P %.6t``, as Slurm's ``-N``), ``-l`` long states, ``-h``, ``-p`` partitions,
``-n`` nodes, ``-t`` node states. A partition line splits per node state (`cli.sinfoformat`).

The daemon's ``GET /v1/nodes`` records are mapped here to the formatter's shape
(`node_record`, `partition_record`): ``cpus_allocated`` -> ``alloc_cpus``, ``up`` -> ``state``,
and a partition limit of 365 days or more (the daemon's "unlimited") -> ``infinite``.
Berth: ``--json`` prints ``{"nodes": [...], "partitions": [...]}`` as the API sends them.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from cli.client import Client
from cli.command import arguments, parse_arguments, run_command
from cli.formats import format_json, format_sinfo, parse_percent_format
from cli.options import ArgKind, OptionTable, ParsedArgs, option
from cli.sinfoformat import DEFAULT_FORMAT, node_state
from cli.timefmt import is_unlimited

_NONE = ArgKind.NONE
USAGE = "sinfo [-hlN] [-p partition] [-n nodes] [-t states] [-o format] [--json]"
NODE_FORMAT = "%N %.6D %.9P %.6t"
LONG_FORMAT = "%9P %.5a %.10l %.6D %.11T %N"
NODE_LONG_FORMAT = "%N %.6D %.9P %.11T %.4c %.6m %20E"
TABLE = OptionTable(
    "sinfo",
    (
        option("all", "all", "a", _NONE, help="accepted (no hidden partitions)", inert=True),
        option("clusters", "clusters", "M", help="accepted; Berth is one cluster", inert=True),
        option("format", "format", "o", help="output format (%P %a %l %D %t %N %C %G ...)"),
        option("help", "help", "", _NONE, help="print this help and exit"),
        option("noheader", "noheader", "h", _NONE, help="no header line"),
        option("json", "json", "", _NONE, help="nodes and partitions as JSON"),
        option("long", "long", "l", _NONE, help="long node states"),
        option("node_lines", "Node", "N", _NONE, help="one line per node"),
        option("nodes", "nodes", "n", help="only these nodes (comma list)"),
        option("partition", "partition", "p", help="only these partitions (comma list)"),
        option("states", "states", "t", help="only nodes in these states (idle,mix,...)"),
        option("usage", "usage", "", _NONE, help="print a short usage and exit"),
        option("verbose", "verbose", "v", _NONE, help="accepted", inert=True),
        option("version", "version", "V", _NONE, help="print the version and exit"),
    ),
)
_STATE_WORDS = {"mix": "mixed", "alloc": "allocated", "comp": "completing", "drng": "draining",
                "drain": "drained", "drained": "drained", "draining": "draining"}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv)


def run(argv: Sequence[str] | None = None, *, rich: bool = False) -> int:
    """sinfo; ``rich`` (``berth info`` on a terminal) draws the lines as a Rich table."""
    words = arguments(argv)
    return run_command("sinfo", lambda: _sinfo(words, rich))


def node_record(node: Mapping[str, Any]) -> dict[str, Any]:
    """A ``GET /v1/nodes`` node in `cli.sinfoformat`'s shape."""
    return {**node, "alloc_cpus": node.get("cpus_allocated", node.get("alloc_cpus", 0))}


def partition_record(partition: Mapping[str, Any]) -> dict[str, Any]:
    """A ``GET /v1/nodes`` partition in `cli.sinfoformat`'s shape."""
    limit = partition.get("max_time_s")
    return {**partition, "state": "up" if partition.get("up", True) else "down",
            "max_time_s": None if is_unlimited(limit) else limit}  # fmt: skip


def _sinfo(words: list[str], rich: bool) -> int:
    args = parse_arguments(TABLE, words, USAGE, positionals=False)
    with Client() as client:
        reply = client.get("/v1/nodes")
    nodes, partitions = _select(args, reply["nodes"], reply["partitions"])
    if args.given("json"):
        sys.stdout.write(format_json(nodes=nodes, partitions=partitions))
        return 0
    fmt = args.value("format")
    if fmt is None:
        formats = {(True, False): NODE_FORMAT, (True, True): NODE_LONG_FORMAT,
                   (False, True): LONG_FORMAT, (False, False): DEFAULT_FORMAT}  # fmt: skip
        fmt = formats[(args.given("node_lines"), args.given("long"))]
    shaped = [node_record(n) for n in nodes]
    parts = [partition_record(p) for p in partitions]
    oriented = args.given("node_lines")
    if rich and not args.given("noheader"):
        from cli.table import SEPARATOR, print_table, split_rows

        plain = SEPARATOR.join(f"%{c.key}" for c in parse_percent_format(fmt).columns)
        print_table(split_rows(format_sinfo(shaped, parts, fmt=plain, node_oriented=oriented)))
        return 0
    header = not args.given("noheader")
    sys.stdout.write(format_sinfo(shaped, parts, fmt=fmt, header=header, node_oriented=oriented))
    return 0


def _select(
    args: ParsedArgs, nodes: list[dict[str, Any]], partitions: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    wanted_partitions = _words(args.values("partition"))
    if wanted_partitions:
        partitions = [p for p in partitions if p["name"] in wanted_partitions]
        nodes = [n for n in nodes if set(n.get("partitions") or ()) & wanted_partitions]
    wanted_nodes = _words(args.values("nodes"))
    if wanted_nodes:
        nodes = [n for n in nodes if n["name"] in wanted_nodes]
    states = {_STATE_WORDS.get(w, w) for w in _words(args.values("states"), lower=True)}
    if states:
        nodes = [n for n in nodes if node_state(node_record(n)) in states
                 or str(n.get("state")) in states]  # fmt: skip
    if wanted_nodes or states:  # a partition none of whose nodes are left prints no line
        kept = {p for n in nodes for p in n.get("partitions") or ()}
        partitions = [p for p in partitions if p["name"] in kept]
    return nodes, partitions


def _words(values: list[str], *, lower: bool = False) -> set[str]:
    words = {word.strip() for value in values for word in value.split(",") if word.strip()}
    return {word.lower() for word in words} if lower else words


if __name__ == "__main__":
    sys.exit(main())
