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
"""

from __future__ import annotations

import functools
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scheduler import ConfigError, parse_memory_mb

_KEYS = (
    "database_url", "socket", "tcp", "admins", "executor", "node_name", "cluster_name",
    "min_job_age", "kill_wait", "requeue_delay", "pass_debounce", "pass_interval",
    "max_array_size", "default_mem_per_cpu", "usage_flush_interval", "heartbeat_timeout",
)  # fmt: skip
_EXECUTORS = ("auto", "process", "docker")


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


@functools.lru_cache(maxsize=4096)
def user_name(uid: int) -> str:
    """The login name of ``uid``; the number itself when the password database has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
