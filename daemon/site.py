"""The site a daemon schedules: settings, cluster, policy and limits, read from ``BERTH_HOME``.

``berth.toml`` is optional. Without ``[[nodes]]`` the site is this machine alone: its CPUs, its
memory and its GPUs (NVML, else none) in one default partition ``main``, so ``berth daemon`` on a
fresh machine runs jobs at once (DESIGN §8). ``limits.yaml`` is optional too (no caps, one QOS
``normal``). Every error names the file, the table, the key and the fix.
"""

from __future__ import annotations

import os
import socket
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from daemon.gpus import discover_gpus
from daemon.settings import (
    DockerSettings,
    Settings,
    docker_settings_from_mapping,
    settings_from_mapping,
)
from scheduler import (
    Cluster,
    ConfigError,
    Limits,
    Node,
    Partition,
    Policy,
    cluster_from_mapping,
    limits_from_mapping,
    policy_from_mapping,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    settings: Settings
    cluster: Cluster
    policy: Policy
    docker: DockerSettings = field(default_factory=DockerSettings)  # the [docker] table

    @property
    def limits(self) -> Limits:
        return self.policy.limits

    @property
    def local_node(self) -> Node | None:
        """The node this daemon's own executor runs jobs on: ``node_name``, else the only node,
        else the node named like this host; None when every node has its own ``berth node``."""
        wanted = self.settings.node_name
        if wanted is not None:
            return self.cluster.node(wanted) if wanted else None
        if len(self.cluster.nodes) == 1:
            return self.cluster.nodes[0]
        host = socket.gethostname().split(".")[0]
        return next((node for node in self.cluster.nodes if node.name == host), None)


def load_site(home: Path) -> Site:
    """Read ``home/berth.toml`` and ``home/limits.yaml``. :raises ConfigError: what is wrong."""
    config_path = home / "berth.toml"
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            with config_path.open("rb") as stream:
                data = tomllib.load(stream)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError("", "", f"not valid TOML: {err}", source=str(config_path)) from None
    source = str(config_path)
    settings = settings_from_mapping(home, data.get("daemon", {}), source=source)
    cluster = (
        cluster_from_mapping(data, source=source) if "nodes" in data else _this_machine()
    )
    names = [node.name for node in cluster.nodes]
    if settings.node_name and settings.node_name not in names:
        raise ConfigError(
            "daemon", "node_name",
            f"names {settings.node_name!r}, which is not a [[nodes]] entry ({', '.join(names)}); "
            'name one, or "" when every node runs `berth node`',
            source=source,
        )  # fmt: skip
    policy = policy_from_mapping(data.get("policy", {}), _limits(home))
    docker = docker_settings_from_mapping(data.get("docker", {}), source=source)
    return Site(settings=settings, cluster=cluster, policy=policy, docker=docker)


def _limits(home: Path) -> Limits:
    path = home / "limits.yaml"
    if not path.exists():
        return Limits()
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError("", "", f"not valid YAML: {err}", source=str(path)) from None
    return limits_from_mapping(document, source=str(path))


def _this_machine() -> Cluster:
    name = socket.gethostname().split(".")[0] or "localhost"
    node = Node(
        name=name,
        cpus=len(os.sched_getaffinity(0)),
        mem_mb=_memory_mb(),
        gpus=discover_gpus(),
        partitions=("main",),
    )
    partition = Partition(name="main", nodes=(name,), default=True)
    return Cluster(nodes=(node,), partitions=(partition,))


def _memory_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 1024  # pragma: no cover - every Linux has MemTotal
