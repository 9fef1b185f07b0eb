"""The ``[[nodes]]`` and ``[[partitions]]`` tables of ``berth.toml`` -> `Cluster`.

The drivers read the file with ``tomllib`` and pass the parsed document; this module reads only
its ``nodes`` and ``partitions`` arrays (``[policy]`` belongs to `policy_from_mapping`, the other
tables to the daemon's settings). Example::

    [[nodes]]
    name = "gpu[01-04]"      # a hostlist declares identical nodes, as Slurm's NodeName=
    cpus = 64
    mem = "512G"             # Slurm sizes; a bare number is MiB
    gpus = 8                 # a count, with gpu_model, gpu_mem, gpu_link_group_size (GPUs
    gpu_model = "a100"       #   0-3 in link group 0, 4-7 in 1); or a list of tables
    gpu_link_group_size = 4  #   {index, uuid, model, memory, link_group}
    features = ["nvlink"]
    state = "idle"           # idle (default), drain or down; `reason` says why

    [[partitions]]
    name = "gpu"
    nodes = ["gpu[01-04]"]   # hostlists, or "ALL"
    max_time = "2-00:00:00"  # Slurm time formats; "UNLIMITED" (the default)
    default_time = "1:00:00" # defaults to max_time, as Slurm's DefaultTime; 1 h if unlimited
    max_nodes = 2            # per job; "UNLIMITED" (the default)
    priority_job_factor = 1
    default = true           # at most one; the first partition when none says so
    state = "up"             # or "down": jobs queue but do not start

Without ``[[partitions]]`` every node is in one default partition ``main``. Every error is a
`ConfigError` naming the table, the key and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from scheduler.configtable import ConfigTable, boolean, choice, strings, text
from scheduler.errors import ConfigError
from scheduler.hostlist import compress_hostlist, expand_hostlist
from scheduler.model import Cluster, GpuDevice, Node, NodeState, Partition
from scheduler.units import parse_count, parse_memory_mb, parse_slurm_time_s

NODE_KEYS: tuple[str, ...] = ("name", "cpus", "mem", "gpus", "gpu_model", "gpu_mem")
NODE_KEYS += ("gpu_link_group_size", "features", "state", "reason")
GPU_KEYS = ("index", "uuid", "model", "memory", "link_group")
PARTITION_KEYS: tuple[str, ...] = ("name", "nodes", "max_time", "default_time", "max_nodes")
PARTITION_KEYS += ("priority_job_factor", "default", "state")
DEFAULT_PARTITION = "main"
_NODE_STATES = {"idle": NodeState.IDLE, "drain": NodeState.DRAIN, "down": NodeState.DOWN}
_PARTITION_STATES = {"up": True, "down": False}
_DEFAULT_TIME_S = 3600  # a partition without max_time or default_time gives jobs one hour


def cluster_from_mapping(data: Mapping[str, Any], *, source: str = "") -> Cluster:
    """Build the `Cluster` from a parsed ``berth.toml`` (its ``nodes`` and ``partitions``).

    :raises ConfigError: naming the table, the key and the fix: a missing or bad value, an unknown
        key, duplicate node names or GPU indices, a partition naming an unknown node, more than
        one default partition.
    """
    document = ConfigTable("berth", data, source=source)
    nodes = _nodes(document)
    partitions = _partitions(document, nodes)
    member_of: dict[str, list[str]] = {node.name: [] for node in nodes}
    for partition in partitions:
        for name in partition.nodes:
            member_of[name].append(partition.name)
    return Cluster(
        nodes=tuple(replace(node, partitions=tuple(member_of[node.name])) for node in nodes),
        partitions=tuple(partitions),
    )


def _array(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"expected an array of tables ([[...]] in TOML), got {value!r}")
    return value


def _hostnames(value: object) -> tuple[str, ...]:
    return tuple(name for item in strings(value) for name in expand_hostlist(item))


def _any_text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _positive_size(value: Any) -> int:
    size = parse_memory_mb(value)
    if size < 1:
        raise ValueError(f"expected a memory size above 0, got {value!r}")
    return size


def _nodes(document: ConfigTable) -> list[Node]:
    entries: list[object] = document.get("nodes", _array, [])
    if not entries:
        raise document.error(
            "nodes",
            "no [[nodes]] declared; add at least one [[nodes]] table with name, cpus and mem "
            "(berth daemon discovers this machine when berth.toml has no [[nodes]])",
        )
    nodes: list[Node] = []
    seen: dict[str, str] = {}
    uuids: dict[str, str] = {}
    for position, entry in enumerate(entries):
        names = ConfigTable(f"nodes[{position}]", entry, source=document.source).required(
            "name", _hostnames
        )
        table = ConfigTable(
            f"nodes.{compress_hostlist(names)}", entry, source=document.source, allowed=NODE_KEYS
        )
        cpus = table.required("cpus", lambda value: parse_count(value, minimum=1))
        mem_mb = table.required("mem", _positive_size)
        gpus = _gpus(table)
        features: tuple[str, ...] = table.get("features", strings, ())
        state = table.get("state", choice(_NODE_STATES), NodeState.IDLE)
        reason = table.get("reason", _any_text, "")
        for name in names:
            if name in seen:
                raise table.error("name", f"node {name!r} is declared twice; rename one")
            seen[name] = table.name
            for gpu in gpus:
                if gpu.uuid and uuids.setdefault(gpu.uuid, name) != name:
                    raise table.error(
                        "gpus",
                        f"GPU uuid {gpu.uuid!r} is on nodes {uuids[gpu.uuid]!r} and {name!r}; "
                        "a uuid names one device: give each node its own [[nodes]] table",
                    )
            nodes.append(
                Node(
                    name=name,
                    cpus=cpus,
                    mem_mb=mem_mb,
                    gpus=gpus,
                    state=state,
                    features=features,
                    reason=reason,
                )
            )
    return nodes


def _gpus(table: ConfigTable) -> tuple[GpuDevice, ...]:
    model = table.get("gpu_model", text, "")
    memory_mb = table.get("gpu_mem", parse_memory_mb, 0)
    group_size = table.get("gpu_link_group_size", lambda v: parse_count(v, minimum=1), None)
    raw = table.data.get("gpus", 0)
    if not isinstance(raw, list):
        count = table.parse("gpus", parse_count) if "gpus" in table.data else 0
        return tuple(
            GpuDevice(
                index=index,
                model=model,
                memory_mb=memory_mb,
                link_group=index // group_size if group_size else 0,
            )
            for index in range(count)
        )
    devices: list[GpuDevice] = []
    for position, entry in enumerate(raw):
        gpu = ConfigTable(
            f"{table.name}.gpus[{position}]", entry, source=table.source, allowed=GPU_KEYS
        )
        index = gpu.get("index", parse_count, position)
        if any(device.index == index for device in devices):
            raise gpu.error("index", f"GPU index {index} appears twice on this node; renumber")
        devices.append(
            GpuDevice(
                index=index,
                uuid=gpu.get("uuid", text, ""),
                model=gpu.get("model", text, model),
                memory_mb=gpu.get("memory", parse_memory_mb, memory_mb),
                link_group=gpu.get(
                    "link_group", parse_count, index // group_size if group_size else 0
                ),
            )
        )
    return tuple(devices)


def _partitions(document: ConfigTable, nodes: Sequence[Node]) -> list[Partition]:
    entries: list[object] = document.get("partitions", _array, [])
    all_names = tuple(node.name for node in nodes)
    if not entries:
        return [Partition(name=DEFAULT_PARTITION, nodes=all_names, default=True)]
    partitions: list[Partition] = []
    for position, entry in enumerate(entries):
        name = ConfigTable(f"partitions[{position}]", entry, source=document.source).required(
            "name", text
        )
        table = ConfigTable(
            f"partitions.{name}", entry, source=document.source, allowed=PARTITION_KEYS
        )
        if any(partition.name == name for partition in partitions):
            raise table.error("name", f"partition {name!r} is declared twice; rename one")
        partitions.append(_partition(table, name, all_names))
    defaults = [partition.name for partition in partitions if partition.default]
    if len(defaults) > 1:
        raise ConfigError(
            f"partitions.{defaults[1]}",
            "default",
            f"partitions {', '.join(map(repr, defaults))} all say default = true; "
            "keep it on one of them",
            source=document.source,
        )
    if not defaults:  # Berth names the first one default, so jobs without -p have a home
        partitions[0] = replace(partitions[0], default=True)
    return partitions


def _partition(table: ConfigTable, name: str, all_names: tuple[str, ...]) -> Partition:
    listed = table.required("nodes", strings)
    members = all_names if listed == ("ALL",) else table.parse("nodes", _hostnames)
    if not members:
        raise table.error("nodes", "a partition needs at least one node")
    known = set(all_names)
    for member in members:
        if member not in known:
            raise table.error(
                "nodes",
                f"unknown node {member!r}; the nodes are {compress_hostlist(all_names)} "
                "(declare it in a [[nodes]] table or remove it here)",
            )
    if len(set(members)) != len(members):
        raise table.error("nodes", "a node is listed twice; list each node once")
    max_time_s = table.get("max_time", parse_slurm_time_s, None)
    default_time_s = table.get("default_time", parse_slurm_time_s, None)
    if "default_time" in table.data and default_time_s is None:
        raise table.error("default_time", "must be a finite time such as 1:00:00")
    if default_time_s is None:
        default_time_s = max_time_s or _DEFAULT_TIME_S
    if max_time_s is not None and default_time_s > max_time_s:
        raise table.error(
            "default_time", "is longer than max_time; lower default_time or raise max_time"
        )
    return Partition(
        name=name,
        nodes=members,
        max_time_s=max_time_s,
        default_time_s=default_time_s,
        priority_job_factor=table.get("priority_job_factor", parse_count, 1),
        max_nodes_per_job=table.get("max_nodes", _count_or_unlimited, None),
        default=table.get("default", boolean, False),
        up=table.get("state", choice(_PARTITION_STATES), True),
    )


def _count_or_unlimited(value: object) -> int | None:
    if isinstance(value, str) and value.lower() in ("unlimited", "infinite"):
        return None
    return parse_count(value, minimum=1)
