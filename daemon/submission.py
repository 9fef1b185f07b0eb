"""A submit request (the JSON body of ``POST /v1/jobs``, docs/API.md) -> the core's `JobRequest`.

The client (``sbatch``) has already merged ``#SBATCH`` lines with its command line; the daemon
resolves Slurm's forms (``4G``, ``1-00:00:00``) with the same parsers as the config files, fills
in the defaults the site configured, translates the request into the core's per-node shape, and
refuses what is malformed (`SubmitError`, HTTP 400, saying which key and what to send).
Whether the request can *ever* run is `scheduler.validate`'s question, asked by the controller.

Translations, where Slurm's request and the core's model differ:
- ``--gpus=N`` (per job) becomes N / nodes per node; it must divide evenly.
- ``--mem=0`` asks for all of a node's memory: the largest node of the partition.
- ``--mem-per-cpu`` / ``--mem-per-gpu`` are multiplied out per node.
- no memory request gets ``default_mem_per_cpu`` per CPU (by default the partition's smallest
  memory-per-CPU ratio, so a job that asks nothing never takes a whole node's memory).
- ``--cpus-per-gpu`` sets the CPUs per task from the GPUs per node.
- ``-t`` given as an integer is minutes, as on Slurm's command line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from daemon.auth import Caller
from daemon.records import SignalSpec
from daemon.site import Site
from scheduler import (
    Hold,
    Partition,
    parse_memory_mb,
    parse_slurm_time_s,
)

_UNLIMITED_S = 365 * 86400  # a job with no limit in a partition with none
_KEYS = frozenset((
    "script", "argv", "command", "workdir", "environment", "name", "output", "error",
    "open_mode", "partition", "account", "qos", "time", "nodes", "tasks", "tasks_per_node",
    "cpus_per_task", "cpus_per_gpu", "mem", "mem_per_cpu", "mem_per_gpu", "gpus_per_node",
    "gpus", "gpu_model", "constraint", "dependency", "dependency_any", "begin_time", "hold",
    "array", "requeue", "signal", "nice", "comment", "image", "test_only",
))  # fmt: skip
DEPENDENCY_KINDS = ("after", "afterany", "afterok", "afternotok", "singleton")


class SubmitError(Exception):
    """A malformed submission; the message names the key and the fix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """A parsed submission before the controller gives it ids and checks dependencies."""

    script: str
    argv: tuple[str, ...]
    command: str
    workdir: str
    environment: Mapping[str, str]
    name: str
    output: str | None
    error: str | None
    append: bool
    partition: str
    account: str
    qos: str
    time_limit_s: int
    nodes: int
    tasks: int
    tasks_given: bool
    cpus_per_task: int
    cpus_per_task_given: bool
    mem_mb: int
    gpus_per_node: int
    gpus_per_job: int | None
    gpu_model: str | None
    features: tuple[str, ...]
    dependencies: tuple[tuple[str, int | None, int | None], ...]  # kind, job id, task id
    dependency_any: bool
    begin_time: int | None
    hold: Hold
    array_indices: tuple[int, ...]
    array_throttle: int | None
    requeue: bool
    signal: SignalSpec | None
    nice: int
    comment: str
    image: str
    test_only: bool


def parse_submission(body: Any, *, caller: Caller, site: Site) -> Draft:
    if not isinstance(body, dict):
        raise SubmitError("the body must be a JSON object (see /v1/openapi.json)")
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise SubmitError(f"unknown key(s) {', '.join(unknown)}; see /v1/openapi.json")
    fields = _Fields(body)
    script = fields.text("script", None)
    if script is None:
        raise SubmitError("script: missing; send the batch script's text")
    _check_script(script)
    workdir = fields.text("workdir", "/") or "/"
    if not os.path.isabs(workdir):
        raise SubmitError(f"workdir: {workdir!r} is not an absolute path; send the full path")
    partition = _partition(site, fields.text("partition", "") or "")
    nodes = fields.count("nodes", 1)
    tasks_per_node = fields.optional_count("tasks_per_node")
    tasks = fields.optional_count("tasks")
    if tasks is None:
        tasks = nodes * (tasks_per_node or 1)
    tasks_given = "tasks" in body or tasks_per_node is not None
    gpus_per_node, gpus_per_job = _gpus(fields, nodes)
    cpus_per_task = fields.count("cpus_per_task", 1)
    cpus_per_gpu = fields.optional_count("cpus_per_gpu")
    if cpus_per_gpu is not None and gpus_per_node:
        per_node_tasks = -(-tasks // nodes)
        cpus_per_task = max(cpus_per_task, -(-cpus_per_gpu * gpus_per_node // per_node_tasks))
    cpus_per_node = -(-tasks // nodes) * cpus_per_task
    mem_mb = _memory(fields, site, partition, cpus_per_node, gpus_per_node)
    array = fields.raw("array", None)
    indices, throttle = _array(array, site.settings.max_array_size)
    nice = fields.integer("nice", 0)
    if nice < 0 and not caller.admin:
        raise SubmitError("nice: only an administrator may set a negative nice value")
    open_mode = fields.text("open_mode", "truncate")
    if open_mode not in ("truncate", "append"):
        raise SubmitError(f"open_mode: expected truncate or append, got {open_mode!r}")
    return Draft(
        script=script,
        argv=fields.strings("argv"),
        command=fields.text("command", "") or "",
        workdir=workdir,
        environment=_environment(fields.raw("environment", {})),
        name=fields.text("name", "") or "sbatch",
        output=fields.text("output", None) or None,
        error=fields.text("error", None) or None,
        append=open_mode == "append",
        partition=partition.name,
        account=fields.text("account", "") or "",
        qos=fields.text("qos", "") or "normal",
        time_limit_s=_time_limit(fields.raw("time", None), partition),
        nodes=nodes,
        tasks=tasks,
        tasks_given=tasks_given,
        cpus_per_task=cpus_per_task,
        cpus_per_task_given="cpus_per_task" in body,
        mem_mb=mem_mb,
        gpus_per_node=gpus_per_node,
        gpus_per_job=gpus_per_job,
        gpu_model=fields.text("gpu_model", None) or None,
        features=fields.strings("constraint"),
        dependencies=_dependencies(fields.raw("dependency", [])),
        dependency_any=fields.boolean("dependency_any", False),
        begin_time=fields.optional_integer("begin_time"),
        hold=Hold.USER if fields.boolean("hold", False) else Hold.NONE,
        array_indices=indices,
        array_throttle=throttle,
        requeue=fields.boolean("requeue", True),
        signal=_signal(fields.raw("signal", None)),
        nice=nice,
        comment=fields.text("comment", "") or "",
        image=fields.text("image", "") or "",
        test_only=fields.boolean("test_only", False),
    )


class _Fields:
    """Typed access to the body's keys, each failure naming the key."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def raw(self, key: str, default: Any) -> Any:
        return self.body.get(key, default)

    def text(self, key: str, default: str | None) -> str | None:
        value = self.body.get(key, default)
        if value is not None and not isinstance(value, str):
            raise SubmitError(f"{key}: expected a string, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.body.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SubmitError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.body.get(key, default)
        if not isinstance(value, bool):
            raise SubmitError(f"{key}: expected true or false, got {value!r}")
        return value

    def optional_integer(self, key: str) -> int | None:
        value = self.body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise SubmitError(f"{key}: expected a whole number, got {value!r}")
        return value

    def integer(self, key: str, default: int) -> int:
        value = self.optional_integer(key)
        return default if value is None else value

    def optional_count(self, key: str) -> int | None:
        value = self.optional_integer(key)
        if value is not None and value < 1:
            raise SubmitError(f"{key}: expected a whole number >= 1, got {value!r}")
        return value

    def count(self, key: str, default: int) -> int:
        value = self.optional_count(key)
        return default if value is None else value


def _check_script(script: str) -> None:
    """The checks of Slurm's sbatch, repeated here for clients other than Berth's sbatch."""
    if not script.strip():
        raise SubmitError("script: Batch script is empty")
    if not script.startswith("#!"):
        raise SubmitError(
            "script: This does not look like a batch script. The first line must start with "
            "#! followed by the path to an interpreter (for instance #!/bin/sh)"
        )
    if "\0" in script:
        raise SubmitError("script: The batch script contains a NULL character")
    if "\r\n" in script:
        raise SubmitError(
            "script: Batch script contains DOS line breaks (\\r\\n) instead of expected UNIX "
            "line breaks (\\n); convert it with dos2unix"
        )


def _partition(site: Site, name: str) -> Partition:
    cluster = site.cluster
    if not name:
        default = cluster.default_partition
        if default is None:  # pragma: no cover - cluster_from_mapping always makes one
            raise SubmitError("partition: this site has no default partition; name one")
        return default
    for partition in cluster.partitions:
        if partition.name == name:
            return partition
    known = ", ".join(p.name for p in cluster.partitions)
    raise SubmitError(f"partition: invalid partition name specified {name!r}; the partitions "
                      f"are {known}")  # fmt: skip


def _time_limit(value: Any, partition: Partition) -> int:
    if value is None:
        return partition.default_time_s
    try:
        seconds = parse_slurm_time_s(value)
    except (TypeError, ValueError) as err:
        raise SubmitError(f"time: Invalid time limit specification: {err}") from None
    if seconds is None:  # UNLIMITED: as long as the partition allows
        return partition.max_time_s or _UNLIMITED_S
    return seconds


def _gpus(fields: _Fields, nodes: int) -> tuple[int, int | None]:
    per_node = fields.optional_integer("gpus_per_node")
    per_job = fields.optional_integer("gpus")
    if per_node is not None and per_job is not None:
        raise SubmitError("gpus: give either gpus (per job) or gpus_per_node, not both")
    if per_job is not None:
        if per_job < 0 or per_job % nodes:
            raise SubmitError(
                f"gpus: {per_job} GPUs cannot be spread evenly over {nodes} nodes; "
                "ask a multiple of the node count or use --gpus-per-node"
            )
        return per_job // nodes, per_job
    if per_node is not None and per_node < 0:
        raise SubmitError(f"gpus_per_node: expected a count >= 0, got {per_node}")
    return per_node or 0, None


def _memory(
    fields: _Fields, site: Site, partition: Partition, cpus_per_node: int, gpus_per_node: int
) -> int:
    given = [key for key in ("mem", "mem_per_cpu", "mem_per_gpu") if key in fields.body]
    if len(given) > 1:
        raise SubmitError(f"{', '.join(given)}: give only one of mem, mem_per_cpu, mem_per_gpu")
    members = [site.cluster.node(name) for name in partition.nodes]

    def size(key: str) -> int:
        try:
            return parse_memory_mb(fields.body[key])
        except (TypeError, ValueError) as err:
            raise SubmitError(f"{key}: Invalid memory specification: {err}") from None

    if given == ["mem"]:
        mem = size("mem")
        return mem or max((node.mem_mb for node in members), default=0)
    if given == ["mem_per_cpu"]:
        return size("mem_per_cpu") * cpus_per_node
    if given == ["mem_per_gpu"]:
        return size("mem_per_gpu") * gpus_per_node
    per_cpu = site.settings.default_mem_per_cpu_mb
    if per_cpu is None:
        ratios = [node.mem_mb // node.cpus for node in members if node.cpus]
        per_cpu = min(ratios, default=0)
    return per_cpu * cpus_per_node


def _environment(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise SubmitError("environment: expected an object of string values")
    return value


def _dependencies(value: Any) -> tuple[tuple[str, int | None, int | None], ...]:
    if not isinstance(value, list):
        raise SubmitError("dependency: expected a list of {kind, job_id} objects")
    found = []
    for entry in value:
        if not isinstance(entry, dict) or entry.get("kind") not in DEPENDENCY_KINDS:
            raise SubmitError(
                f"dependency: expected {{kind, job_id}} with kind one of "
                f"{', '.join(DEPENDENCY_KINDS)}; got {entry!r}"
            )
        job_id, task = entry.get("job_id"), entry.get("array_task_id")
        if entry["kind"] != "singleton" and not isinstance(job_id, int):
            raise SubmitError(f"dependency: {entry['kind']} needs a job_id, got {entry!r}")
        found.append((str(entry["kind"]), job_id, task if isinstance(task, int) else None))
    return tuple(found)


def _array(value: Any, max_size: int) -> tuple[tuple[int, ...], int | None]:
    if value is None:
        return (), None
    indices = value.get("indices") if isinstance(value, dict) else None
    if not isinstance(indices, list) or not indices or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in indices
    ):
        raise SubmitError("array: expected {indices: [int, ...], throttle: int or null}")
    if min(indices) < 0 or max(indices) >= max_size:
        raise SubmitError(
            f"array: Invalid job array specification: indices must be between 0 and "
            f"{max_size - 1} (MaxArraySize={max_size})"
        )
    throttle = value.get("throttle")
    if throttle is not None and (not isinstance(throttle, int) or throttle < 1):
        raise SubmitError(f"array: throttle must be a count >= 1, got {throttle!r}")
    return tuple(sorted(set(indices))), throttle


def _signal(value: Any) -> SignalSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("signum"), int):
        raise SubmitError("signal: expected {signum: int, seconds: int, batch_only: bool}")
    seconds = value.get("seconds", 60)
    if not isinstance(seconds, int) or seconds < 0 or seconds > 0xFFFF:
        raise SubmitError(f"signal: seconds must be 0..65535, got {seconds!r}")
    return SignalSpec(
        signum=value["signum"], before_s=seconds, batch_only=bool(value.get("batch_only"))
    )
