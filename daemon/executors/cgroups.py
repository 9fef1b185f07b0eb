"""Per-job cgroup v2 limits: memory (no swap), CPU bandwidth, OOM detection, whole-job kill.

The shepherd puts each job in ``<root>/berth/job_<id>_<restart>`` with ``memory.max``,
``memory.swap.max = 0`` and ``cpu.max = cpus*100000 100000`` (``cpus`` CPUs' worth of time in
every 100 ms), reads ``memory.events`` ``oom_kill`` at the end to report OOM (as Slurm does, the
job is marked OUT_OF_MEMORY even when only one of its processes was killed), and removes the
group afterwards. A cgroup also names every process of the job, however it forked or detached.

`open_job_cgroup` refuses (raising `CgroupUnavailable` with the reason) where cgroup v2 cannot
be used: a cgroup v1 or hybrid host (the v2 mount has no memory controller), a read-only
``/sys/fs/cgroup`` (an unprivileged container), a delegated subtree whose parent holds
processes. The shepherd then falls back to per-job RSS sampling (see `daemon.executors.supervise`).

Stdlib only: the shepherd imports this at every job start.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

_CONTROLLERS = ("cpu", "memory")
CPU_PERIOD_US = 100_000


class CgroupUnavailable(OSError):
    """cgroup v2 cannot confine jobs on this node; the message says why."""


class JobCgroup:
    """One job's cgroup (created by `open_job_cgroup`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def attach(self, pid: int) -> None:
        """Move ``pid`` (the job's first process, before it execs) into the group; its children
        are born inside."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def members(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except FileNotFoundError:
            return []
        return [int(line) for line in text.split()]

    def oom_killed(self) -> bool:
        """True when the kernel killed a process of the job for exceeding ``memory.max``."""
        try:
            text = (self.path / "memory.events").read_text()
        except FileNotFoundError:
            return False
        counts = dict(line.split() for line in text.splitlines() if line.strip())
        return int(counts.get("oom_kill", "0")) > 0

    def kill_all(self) -> None:
        """SIGKILL every process in the group (``cgroup.kill`` where the kernel has it, 5.14+)."""
        kill_file = self.path / "cgroup.kill"
        if kill_file.exists():
            kill_file.write_text("1")
            return
        for pid in self.members():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue

    def remove(self, *, wait_s: float = 5.0) -> None:
        """Delete the group once its processes are gone (a group can only be removed empty)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                self.kill_all()
                time.sleep(0.05)


def open_job_cgroup(root: Path, name: str, *, cpus: int, mem_mb: int) -> JobCgroup:
    """Create the job's group under ``root/berth`` with its limits.

    :raises CgroupUnavailable: where cgroup v2 cannot confine the job; the message says why.
    """
    parent = root / "berth"
    try:
        _check_v2(root)
        parent.mkdir(exist_ok=True)
        _enable_controllers(root)
        _enable_controllers(parent)
        group = parent / name
        if group.exists():  # left by a shepherd that died before removing it; it is empty
            group.rmdir()
        group.mkdir()
    except CgroupUnavailable:
        raise
    except OSError as error:
        raise CgroupUnavailable(f"cannot create a cgroup under {parent}: {error}") from error
    job = JobCgroup(group)
    try:
        if mem_mb > 0:
            (group / "memory.max").write_text(str(mem_mb * 1024 * 1024))
            swap = group / "memory.swap.max"
            if swap.exists():  # absent when the kernel runs without swap accounting
                swap.write_text("0")
        (group / "cpu.max").write_text(f"{max(cpus, 1) * CPU_PERIOD_US} {CPU_PERIOD_US}")
    except OSError as error:
        job.remove(wait_s=0)
        raise CgroupUnavailable(f"cannot set limits in {group}: {error}") from error
    return job


def _check_v2(root: Path) -> None:
    controllers_file = root / "cgroup.controllers"
    if not controllers_file.exists():
        raise CgroupUnavailable(f"{root} is not a cgroup v2 mount (cgroup v1 or hybrid host)")
    available = controllers_file.read_text().split()
    missing = [name for name in _CONTROLLERS if name not in available]
    if missing:
        raise CgroupUnavailable(
            f"cgroup v2 at {root} lacks the {' and '.join(missing)} controller "
            "(bound to a cgroup v1 hierarchy on this host)"
        )
    if not os.access(root, os.W_OK):
        raise CgroupUnavailable(f"{root} is not writable (run the daemon as root on the host)")


def _enable_controllers(group: Path) -> None:
    """Let ``group``'s children use the cpu and memory controllers."""
    control = group / "cgroup.subtree_control"
    enabled = control.read_text().split()
    wanted = [f"+{name}" for name in _CONTROLLERS if name not in enabled]
    if wanted:
        control.write_text(" ".join(wanted))
