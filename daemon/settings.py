"""Where the daemon keeps its files, and the ``[daemon]`` table of ``berth.toml``.

``BERTH_HOME`` (``--home``) holds ``berth.toml``, ``limits.yaml``, ``berth.db``, ``berth.sock``,
``secret`` (the token key) and ``runs/`` (one directory per job run). Every setting has a
default, so a home with no ``berth.toml`` at all is a working single-node site (DESIGN §8).

``[daemon]`` keys (all optional)::

    database_url = "sqlite:////var/lib/berth/berth.db"  # or postgresql+psycopg://...
    socket = "/var/lib/berth/berth.sock"
    tcp = "0.0.0.0:6820"        # also serve the API on TCP (signed tokens only)
    admins = ["alice"]          # act on every job, drain nodes (root always may)
    executor = "auto"           # auto (Docker when reachable, else processes), process, docker
    node_name = "labbox"        # which [[nodes]] entry this host is (default: the only one)
    cluster_name = "berth"      # SLURM_CLUSTER_NAME
    min_job_age = 300           # seconds a finished job stays in squeue -t all (MinJobAge)
    kill_wait = 30              # seconds between SIGTERM and SIGKILL (KillWait)
    requeue_delay = 120         # a requeued job is eligible again after this (Slurm: 120 s)
    pass_debounce = 1           # a pass this long after a submit or job end ...
    pass_interval = 30          # ... and at least this often
    max_array_size = 1001       # MaxArraySize: array indices must be below it
    default_mem_per_cpu = "2G"  # memory for jobs that ask none (default: node mem / node cpus)
    usage_flush_interval = 60   # seconds between writes of fair-share usage to the store
    heartbeat_timeout = 30      # a `berth node` silent this long goes DOWN, its jobs requeued

Which nodes this daemon runs itself: ``node_name``; without it, the only node of a one-node
cluster, or the node named like this host. Every other node is served by a ``berth node`` agent.

``[docker]`` keys (all optional; they matter where jobs run in containers, see
`daemon.executors.docker`)::

    allowed_images = ["python:3.*", "ghcr.io/lab/*"]  # glob patterns (daemon.executors.images);
                                # none: no image may run (the default)
    default_image = ""          # jobs without --container-image run in it; "": as processes
    allow_host_network = false  # true: containers share the host's network (else Docker's bridge)
    read_only_mounts = ["/datasets", "/srv/models:/models"]  # HOST[:CONTAINER], read-only
    pids_limit = 4096           # processes per job container

Whether this node's Docker has the NVIDIA runtime is probed when the daemon starts, not set here.
"""

from __future__ import annotations

import functools
import os
import pwd
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.executors.images import image_refusal, is_reference
from scheduler import ConfigError, parse_memory_mb

_KEYS = (
    "database_url", "socket", "tcp", "admins", "executor", "node_name", "cluster_name",
    "min_job_age", "kill_wait", "requeue_delay", "pass_debounce", "pass_interval",
    "max_array_size", "default_mem_per_cpu", "usage_flush_interval", "heartbeat_timeout",
)  # fmt: skip
_EXECUTORS = ("auto", "process", "docker")
_DOCKER_KEYS = (
    "allowed_images", "default_image", "allow_host_network", "read_only_mounts", "pids_limit",
)  # fmt: skip


def default_home() -> Path:
    """``$BERTH_HOME``, else ``/var/lib/berth`` for root and ``~/.local/state/berth`` otherwise."""
    configured = os.environ.get("BERTH_HOME")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/lib/berth")
    return Path.home() / ".local" / "state" / "berth"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    home: Path
    database_url: str = ""
    socket: Path = Path()
    tcp: str | None = None
    admins: tuple[str, ...] = ()
    executor: str = "auto"
    node_name: str | None = None
    cluster_name: str = "berth"
    min_job_age_s: int = 300
    kill_wait_s: int = 30
    requeue_delay_s: int = 120
    pass_debounce_s: int = 1
    pass_interval_s: int = 30
    max_array_size: int = 1001
    default_mem_per_cpu_mb: int | None = None
    usage_flush_interval_s: int = 60
    heartbeat_timeout_s: int = 30
    source: str = field(default="", compare=False)

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def secret_path(self) -> Path:
        return self.home / "secret"

    def is_admin(self, uid: int, user: str) -> bool:
        return uid == 0 or uid == os.geteuid() or user in self.admins


def settings_from_mapping(home: Path, table: Mapping[str, Any], *, source: str = "") -> Settings:
    """The ``[daemon]`` table -> `Settings`. :raises ConfigError: naming the key and the fix."""

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError("daemon", key, problem, source=source)

    for key in table:
        if key not in _KEYS:
            raise fail(key, f"unknown key; the [daemon] table takes {', '.join(_KEYS)}")

    def seconds(key: str, default: int, minimum: int = 0) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise fail(key, f"expected a whole number of seconds >= {minimum}, got {value!r}")
        return value

    def string(key: str, default: str | None) -> str | None:
        value = table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise fail(key, f"expected a string, got {value!r}")
        return value

    executor = string("executor", "auto") or "auto"
    if executor not in _EXECUTORS:
        raise fail("executor", f"expected one of {', '.join(_EXECUTORS)}, got {executor!r}")
    admins = table.get("admins", [])
    if not isinstance(admins, list) or not all(isinstance(a, str) for a in admins):
        raise fail("admins", f"expected a list of user names, got {admins!r}")
    mem_per_cpu = table.get("default_mem_per_cpu")
    try:
        default_mem = None if mem_per_cpu is None else parse_memory_mb(mem_per_cpu)
    except (TypeError, ValueError) as err:
        raise fail("default_mem_per_cpu", str(err)) from None
    tcp = string("tcp", None)
    if tcp is not None and tcp.rpartition(":")[2].isdigit() is False:
        raise fail("tcp", f"expected HOST:PORT such as 127.0.0.1:6820, got {tcp!r}")
    return Settings(
        home=home,
        database_url=string("database_url", None) or f"sqlite:///{home / 'berth.db'}",
        socket=Path(string("socket", None) or home / "berth.sock"),
        tcp=tcp,
        admins=tuple(admins),
        executor=executor,
        node_name=string("node_name", None),
        cluster_name=string("cluster_name", "berth") or "berth",
        min_job_age_s=seconds("min_job_age", 300),
        kill_wait_s=seconds("kill_wait", 30),
        requeue_delay_s=seconds("requeue_delay", 120),
        pass_debounce_s=seconds("pass_debounce", 1),
        pass_interval_s=seconds("pass_interval", 30, minimum=1),
        max_array_size=seconds("max_array_size", 1001, minimum=1),
        default_mem_per_cpu_mb=default_mem,
        usage_flush_interval_s=seconds("usage_flush_interval", 60, minimum=1),
        heartbeat_timeout_s=seconds("heartbeat_timeout", 30, minimum=1),
        source=source,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DockerSettings:
    """The ``[docker]`` table (see the module docstring)."""

    allowed_images: tuple[str, ...] = ()
    default_image: str = ""
    allow_host_network: bool = False
    read_only_mounts: tuple[tuple[str, str], ...] = ()  # (host path, container path)
    pids_limit: int = 4096


def docker_settings_from_mapping(table: Mapping[str, Any], *, source: str = "") -> DockerSettings:
    """The ``[docker]`` table -> `DockerSettings`. :raises ConfigError: naming the key and fix."""

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError("docker", key, problem, source=source)

    for key in table:
        if key not in _DOCKER_KEYS:
            raise fail(key, f"unknown key; the [docker] table takes {', '.join(_DOCKER_KEYS)}")
    images = table.get("allowed_images", [])
    if not isinstance(images, list) or not all(isinstance(i, str) and i for i in images):
        raise fail("allowed_images", f"expected a list of image patterns, got {images!r}")
    default = table.get("default_image", "")
    if not isinstance(default, str) or (default and not is_reference(default)):
        raise fail("default_image", f"expected an image reference such as python:3.11, "
                                    f"got {default!r}")  # fmt: skip
    if default and (refusal := image_refusal(default, images)) is not None:
        raise fail("default_image", f"{refusal}; add it to allowed_images")
    host_network = table.get("allow_host_network", False)
    if not isinstance(host_network, bool):
        raise fail("allow_host_network", f"expected true or false, got {host_network!r}")
    pids = table.get("pids_limit", 4096)
    if isinstance(pids, bool) or not isinstance(pids, int) or pids < 16:
        raise fail("pids_limit", f"expected a whole number >= 16, got {pids!r}")
    return DockerSettings(
        allowed_images=tuple(images),
        default_image=default,
        allow_host_network=host_network,
        read_only_mounts=_mounts(table.get("read_only_mounts", []), fail),
        pids_limit=pids,
    )


def _mounts(value: Any, fail: Callable[[str, str], ConfigError]) -> tuple[tuple[str, str], ...]:
    """``["/datasets", "/srv/models:/models"]`` -> ``(("/datasets", "/datasets"), ...)``."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise fail("read_only_mounts", f"expected a list of HOST[:CONTAINER] paths, got {value!r}")
    mounts = []
    for item in value:
        host, _, inside = item.partition(":")
        inside = inside or host
        if not (host.startswith("/") and inside.startswith("/")):
            raise fail("read_only_mounts", f"{item!r}: both paths must be absolute")
        mounts.append((host, inside))
    return tuple(mounts)


@functools.lru_cache(maxsize=4096)
def user_name(uid: int) -> str:
    """The login name of ``uid``; the number itself when the password database has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
