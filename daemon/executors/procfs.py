"""What ``/proc`` says about processes: identity, liveness, session members, memory.

A pid alone does not name a process: after it exits the kernel may give the number to another
one, and a daemon that restarts hours later must not signal or adopt a stranger. So runs record
a `ProcRef`, the pid plus the process's start time (field 22 of ``/proc/<pid>/stat``, clock ticks
since boot), and a process counts as the one recorded only while both match.

Stdlib only: the shepherd imports this at every job start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Offsets in the fields after the ")" that ends the command name: field 3 (state) is offset 0.
_STATE, _PGRP, _SESSION, _START_TIME = 0, 2, 3, 19


@dataclass(frozen=True, slots=True)
class ProcRef:
    """A process named beyond pid reuse."""

    pid: int
    start_time: int

    def dumps(self) -> str:
        return f"{self.pid} {self.start_time}\n"

    @classmethod
    def loads(cls, text: str) -> ProcRef | None:
        """The reference written by `dumps`; None for anything else (a torn or empty file)."""
        parts = text.split()
        if len(parts) != 2 or not all(part.isdigit() for part in parts):
            return None
        return cls(int(parts[0]), int(parts[1]))


def _stat(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except OSError:  # gone (ENOENT/ESRCH), or hidden from us
        return None
    # The command name may hold spaces and parentheses; it ends at the last ")".
    return data[data.rindex(b")") + 2 :].split()


def ref_of(pid: int) -> ProcRef | None:
    """The `ProcRef` of a live process, None if it is gone."""
    fields = _stat(pid)
    if fields is None:
        return None
    return ProcRef(pid, int(fields[_START_TIME]))


def is_alive(ref: ProcRef) -> bool:
    """True while the recorded process runs: same start time, and not a zombie (a zombie has
    exited; only its parent has not collected the status yet)."""
    fields = _stat(ref.pid)
    if fields is None or fields[_STATE] in (b"Z", b"X"):
        return False
    return int(fields[_START_TIME]) == ref.start_time


def pgid_of(pid: int) -> int | None:
    fields = _stat(pid)
    return None if fields is None else int(fields[_PGRP])


def session_members(sid: int) -> list[tuple[int, int]]:
    """``(pid, pgid)`` of every live process of session ``sid``.

    The job's batch shell leads its own session, and a child that moves to another process
    group (a shell's job control, an ``srun`` step) stays in it: only ``setsid`` leaves, which
    is as far as a job can be followed without cgroups.
    """
    members: list[tuple[int, int]] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat(int(name))
        if fields is None or fields[_STATE] in (b"Z", b"X"):
            continue
        if int(fields[_SESSION]) == sid:
            members.append((int(name), int(fields[_PGRP])))
    return members


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of ``pids`` together. Pages shared between them count once per process
    (as Slurm's jobacct_gather counts RSS), so the sum errs high, never low."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as file:
                total += int(file.read().split()[1]) * _PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
    return total
