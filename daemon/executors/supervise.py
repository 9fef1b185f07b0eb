"""Watching a started job until it is over: time limit, ``--signal``, kill requests, memory.

The shepherd enforces all of this itself, so it holds while the daemon is down:

* ``deadline - signal_before_s``: ``signal_number`` goes to the batch shell alone
  (``signal_batch_only``) or to every process of the job.
* ``deadline``: SIGCONT then SIGTERM to every process of the job, SIGKILL ``kill_wait_s`` later;
  the end is TIMEOUT. SIGTERM (or SIGINT) to the shepherd starts the same sequence and the end
  is KILLED: that is how `ProcessExecutor.kill` asks.
* Memory, where no cgroup holds the job: every `MEMORY_SAMPLE_S` the resident memory of all the
  job's processes is summed, and a job over ``mem_mb`` is SIGKILLed and ends as OOM. This is
  Slurm's ``OverMemoryKill`` approach. Rlimits were rejected: ``RLIMIT_AS`` counts reserved
  address space, so CUDA, the JVM and Go runtimes fail at start-up under any useful limit, and
  every rlimit is per process, not per job. A fast allocation can overshoot for up to one
  sample interval before it is caught; a cgroup has no such gap.
* When the batch shell exits, the job is over: processes it left behind are SIGKILLed at once
  (as Slurm ends a batch step), or at the end of a kill's grace period when one is running.

"Every process of the job" is the cgroup's members where there is one, else the members of the
job's session (see `daemon.executors.procfs.session_members`).

Waiting costs nothing: the loop sleeps in ``select`` on the shepherd's signal wake-up pipe
(SIGCHLD, SIGTERM) with a timeout to the next timer.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass

from daemon.executors import procfs
from daemon.executors.base import EndCause, LaunchSpec
from daemon.executors.cgroups import JobCgroup

MEMORY_SAMPLE_S = 0.5
SWEEP_POLL_S = 0.1  # while leftovers of an ended job are being killed
MAX_SLEEP_S = 1.0
SWEEP_GIVE_UP_S = 10.0  # processes that survive SIGKILL this long (stuck in D state) are left
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Outcome:
    cause: EndCause
    exit_code: int
    signal: int
    message: str = ""


def signal_job(leader: int, signum: int, members: Iterable[tuple[int, int]]) -> None:
    """``signum`` to the job's process group (led by its batch shell) in one call, then to each
    member ``(pid, pgid)`` that moved to another group (a step that made its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signum)
    for pid, pgid in members:
        if pgid != leader:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)


class Supervisor:
    """Runs the timers of one job until its batch shell is reaped and its processes are gone."""

    def __init__(
        self, spec: LaunchSpec, pid: int, *, wake_fd: int, cgroup: JobCgroup | None
    ) -> None:
        self._spec = spec
        self._pid = pid  # also the job's process group and session id
        self._wake_fd = wake_fd
        self._cgroup = cgroup
        deadline = spec.deadline
        self._deadline: float | None = None if deadline is None else float(deadline)
        self._warn_at: float | None = None
        if deadline is not None and spec.signal_number is not None:
            self._warn_at = float(deadline - spec.signal_before_s)
        sampling = cgroup is None and spec.mem_mb > 0
        self._mem_limit = spec.mem_mb * _MIB if sampling else 0
        self._next_sample = time.time()
        self._cause: EndCause | None = None
        self._message = ""
        self._kill_at: float | None = None
        self._sigkilled = False
        self._status: int | None = None
        self._give_up_at = 0.0
        self._swept = False

    def run(self) -> Outcome:
        while not self._swept:
            now = time.time()
            self._on_time(now)
            if self._swept:
                break
            self._wait(self._next_wake(now) - now)
            self._reap()
        return self._outcome()

    # -- the job's processes --------------------------------------------------------------------

    def _members(self) -> list[tuple[int, int]]:
        if self._cgroup is None:
            return procfs.session_members(self._pid)
        pgids = ((pid, procfs.pgid_of(pid)) for pid in self._cgroup.members())
        return [(pid, pgid) for pid, pgid in pgids if pgid is not None]

    def _signal_all(self, signum: int) -> None:
        signal_job(self._pid, signum, self._members())

    # -- timers ---------------------------------------------------------------------------------

    def _on_time(self, now: float) -> None:
        if self._status is None:
            if self._warn_at is not None and now >= self._warn_at:
                self._warn_at = None
                self._send_warning()
            if self._deadline is not None and now >= self._deadline:
                self._begin_kill(EndCause.TIMEOUT, now)
            if self._mem_limit and now >= self._next_sample:
                self._next_sample = now + MEMORY_SAMPLE_S
                self._check_memory(now)
        if self._kill_at is not None and now >= self._kill_at and not self._sigkilled:
            self._sigkilled = True
            self._signal_all(signal.SIGKILL)
        if self._status is not None:
            self._sweep(now)

    def _next_wake(self, now: float) -> float:
        times = [now + MAX_SLEEP_S]
        if self._status is None:
            if self._warn_at is not None:
                times.append(self._warn_at)
            if self._kill_at is None and self._deadline is not None:
                times.append(self._deadline)
            if self._mem_limit:
                times.append(self._next_sample)
        else:
            times.append(now + SWEEP_POLL_S)
        if self._kill_at is not None and not self._sigkilled:
            times.append(self._kill_at)
        return min(times)

    def _send_warning(self) -> None:
        signum = self._spec.signal_number
        if signum is None:
            return
        if self._spec.signal_batch_only:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signum)
        else:
            self._signal_all(signum)

    def _begin_kill(self, cause: EndCause, now: float) -> None:
        """SIGCONT+SIGTERM now, SIGKILL after the grace; the first cause given wins."""
        if self._status is not None:
            return  # the job already ended by itself
        if self._cause is None:
            self._cause = cause
        if self._kill_at is not None:
            return
        self._signal_all(signal.SIGCONT)
        self._signal_all(signal.SIGTERM)
        self._kill_at = now + self._spec.kill_wait_s

    def _check_memory(self, now: float) -> None:
        used = procfs.rss_bytes([pid for pid, _ in self._members()])
        if used <= self._mem_limit or self._sigkilled:
            return
        if self._cause is None:
            self._cause = EndCause.OOM
            self._message = (
                f"the job used {used // _MIB} MiB, over its memory limit of "
                f"{self._spec.mem_mb} MiB, and was killed"
            )
        self._kill_at = now
        self._sigkilled = True
        self._signal_all(signal.SIGKILL)

    def _sweep(self, now: float) -> None:
        """After the batch shell: wait out a running grace period, then kill what is left."""
        grace_running = self._kill_at is not None and not self._sigkilled
        members = self._members()
        if not members or now >= self._give_up_at:
            self._swept = True
        elif not grace_running:
            for pid, _ in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    # -- waiting --------------------------------------------------------------------------------

    def _wait(self, timeout: float) -> None:
        readable, _, _ = select.select([self._wake_fd], [], [], max(timeout, 0.0))
        if not readable:
            return
        try:
            received = os.read(self._wake_fd, 512)
        except BlockingIOError:
            return
        if signal.SIGTERM in received or signal.SIGINT in received:
            self._begin_kill(EndCause.KILLED, time.time())

    def _reap(self) -> None:
        if self._status is not None:
            return
        pid, status = os.waitpid(self._pid, os.WNOHANG)
        if pid:
            self._status = status
            now = time.time()
            grace_left = max((self._kill_at or now) - now, 0.0)
            self._give_up_at = now + grace_left + SWEEP_GIVE_UP_S

    def _outcome(self) -> Outcome:
        assert self._status is not None
        code = os.waitstatus_to_exitcode(self._status)
        exit_code, signum = (code, 0) if code >= 0 else (0, -code)
        cause = self._cause
        if cause is None:
            oom = self._cgroup is not None and self._cgroup.oom_killed()
            cause = EndCause.OOM if oom else EndCause.EXITED
            if oom:
                self._message = f"a process of the job exceeded its {self._spec.mem_mb} MiB limit"
        return Outcome(cause, exit_code, signum, self._message)
