"""The process executor: each batch job runs as plain processes on this machine.

`ProcessExecutor.launch` writes the run directory (`daemon.executors.runfiles`) and starts a
shepherd (`daemon.executors.shepherd`) that claims the run, starts the job, enforces its time
limit and memory, and writes ``end.json`` when it is over. The shepherd detaches from the
daemon, so jobs keep running, and keep being supervised, while the daemon is down or restarting.

The executor itself only watches: every ``poll_interval_s`` it looks for ``end.json`` in the
runs it watches (one ``stat`` each) and, about once a second, checks that each shepherd is still
alive (pid and start time in ``/proc``). A run whose shepherd vanished without an end
(SIGKILLed, or the node rebooted) gets an ``end.json`` saying LOST, its leftover processes are
killed, and it is reported.

Reporting: each end is passed to ``on_end`` once, and the run stays watched until ``on_end``
returns (an exception there is logged and the end offered again at the next poll); the executor
then remembers, in memory, that it reported it, so a repeated `launch` does not report it again.
Nothing is written back to the run directory: the controller acknowledges an end by storing it,
and a daemon restart that happens in between is covered by `reconcile`, which returns every
``end.json`` of the runs the store still believes are running.

Deployment note: under systemd, the daemon's unit needs ``KillMode=process`` (as slurmd's has),
or stopping the daemon kills every shepherd in its cgroup, and with them the jobs.

Limits: see `daemon.executors.cgroups` (cgroup v2, preferred) and `daemon.executors.supervise`
(RSS sampling where cgroups cannot be used). GPUs are not confined: ``CUDA_VISIBLE_DEVICES``
holds node-global indices (`daemon.jobenv`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal as signals
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.clock import Clock, SystemClock
from daemon.executors import procfs
from daemon.executors.base import EndCallback, EndCause, LaunchSpec, Reconciled, RunEnd, RunKey
from daemon.executors.runfiles import (
    RunDir,
    atomic_write,
    end_to_json,
    read_end,
    read_ref,
    spec_to_json,
    temporary_beside,
)
from daemon.executors.supervise import signal_job

log = logging.getLogger(__name__)

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # where ``daemon`` can be imported from
_SHEPHERD_START_S = 60.0  # a shepherd that has not claimed its run by then has failed


class ProcessExecutor:
    """Runs jobs as processes under ``run_root`` (one directory per run; see the module doc).

    ``cgroup_root``: where cgroup v2 is mounted, or None to never use cgroups on this node.
    ``python``: the interpreter that runs the shepherds (this one by default).
    ``clock``: dates the ends the executor records itself (LOST, a shepherd that never started);
    the shepherds date theirs, as they must judge deadlines while the daemon is down.
    """

    def __init__(
        self,
        run_root: Path,
        *,
        node_name: str,
        poll_interval_s: float = 0.2,
        cgroup_root: Path | None = Path("/sys/fs/cgroup"),
        python: str = sys.executable,
        clock: Clock | None = None,
    ) -> None:
        self._run_root = run_root
        self._node_name = node_name
        self._poll_interval_s = poll_interval_s
        self._cgroup_root = cgroup_root
        self._python = python
        self._clock: Clock = clock or SystemClock()
        self._watched: set[RunKey] = set()
        self._reported: set[RunKey] = set()  # a repeated launch must not report an end again
        self._on_end: EndCallback | None = None
        self._task: asyncio.Task[None] | None = None

    def run_dir(self, key: RunKey) -> RunDir:
        return RunDir.of(self._run_root, key)

    async def start(self, on_end: EndCallback) -> None:
        self._on_end = on_end
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="process-executor-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def launch(self, spec: LaunchSpec) -> None:
        await asyncio.to_thread(self._launch, spec)
        if spec.key not in self._reported:
            self._watched.add(spec.key)

    async def signal(self, key: RunKey, signum: int, *, batch_only: bool) -> bool:
        return await asyncio.to_thread(self._signal, key, signum, batch_only)

    async def kill(self, key: RunKey) -> None:
        await asyncio.to_thread(self._kill, key)

    async def reconcile(self, expected: Sequence[RunKey]) -> Reconciled:
        found = await asyncio.to_thread(self._reconcile, tuple(expected))
        self._watched.update(found.running)
        return found

    # -- watching -------------------------------------------------------------------------------

    async def _watch(self) -> None:
        liveness_every = max(1, round(1.0 / self._poll_interval_s))
        polls = 0
        while True:
            await asyncio.sleep(self._poll_interval_s)
            polls += 1
            if not self._watched:
                continue
            keys = sorted(self._watched, key=lambda key: (key.job_id, key.restart_count))
            check_alive = polls % liveness_every == 0
            ends = await asyncio.to_thread(self._collect_ends, keys, check_alive)
            for end in ends:
                await self._report(end)

    async def _report(self, end: RunEnd) -> None:
        if end.key not in self._watched or self._on_end is None:
            return
        try:
            await self._on_end(end)
        except Exception:
            log.exception("reporting the end of job %s failed; retrying", end.key.job_id)
            return
        self._watched.discard(end.key)
        self._reported.add(end.key)

    def _collect_ends(self, keys: list[RunKey], check_alive: bool) -> list[RunEnd]:
        ends = []
        for key in keys:
            run = self.run_dir(key)
            end = read_end(run, key)
            if end is None and check_alive:
                end = self._lost_or_none(run, key)
            if end is not None:
                ends.append(end)
        return ends

    def _lost_or_none(self, run: RunDir, key: RunKey) -> RunEnd | None:
        """None while the run's shepherd lives; else its end (written as LOST if it left none)."""
        ref = read_ref(run.shepherd_pid)
        if ref is not None and procfs.is_alive(ref):
            return None
        end = read_end(run, key)  # it may have written its end just before exiting
        if end is not None:
            return end
        if ref is None:
            message = f"no shepherd claimed the run on node {self._node_name}"
        else:
            message = (
                f"the shepherd (pid {ref.pid}) vanished on node {self._node_name} without "
                "recording how the job ended; the job's remaining processes were killed"
            )
        self._kill_job_directly(run)
        end = RunEnd(key=key, cause=EndCause.LOST, end_time=self._clock.now(), message=message)
        atomic_write(run.end, end_to_json(end))
        return end

    # -- blocking work, run in threads ----------------------------------------------------------

    def _launch(self, spec: LaunchSpec) -> None:
        run = self.run_dir(spec.key)
        if run.shepherd_pid.exists() or run.end.exists():
            return  # launched before: launching again must not run it twice
        self._write_run(run, spec)
        try:
            with open(run.log, "ab") as log_file:
                shepherd = subprocess.Popen(
                    [self._python, "-m", "daemon.executors.shepherd", str(run.path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    close_fds=True,
                    start_new_session=True,
                    cwd="/",
                    env={"PYTHONPATH": str(_PACKAGE_ROOT), "PATH": os.defpath},
                )
            status = shepherd.wait(timeout=_SHEPHERD_START_S)
            problem = f"the shepherd exited with status {status} before claiming the run"
        except (OSError, subprocess.TimeoutExpired) as error:
            problem = f"cannot start the shepherd ({self._python}): {error}"
        if not (run.shepherd_pid.exists() or run.end.exists()):
            message = f"{problem}; see {run.log}"
            end = RunEnd(
                key=spec.key,
                cause=EndCause.LAUNCH_FAILED,
                end_time=self._clock.now(),
                message=message,
            )
            atomic_write(run.end, end_to_json(end))

    def _write_run(self, run: RunDir, spec: LaunchSpec) -> None:
        as_root = os.geteuid() == 0
        # 0711 when root: the job's user may reach its script, not list or read the rest.
        run.path.mkdir(parents=True, exist_ok=True)
        run.path.chmod(0o711 if as_root else 0o700)
        cgroup_root = "" if self._cgroup_root is None else str(self._cgroup_root)
        document = spec_to_json(spec, node_name=self._node_name, cgroup_root=cgroup_root)
        atomic_write(run.spec, document, mode=0o600)
        temporary = temporary_beside(run.script)
        temporary.write_bytes(spec.script.encode())
        temporary.chmod(0o700)
        if as_root:
            os.chown(temporary, spec.uid, spec.gid)
        os.replace(temporary, run.script)

    def _signal(self, key: RunKey, signum: int, batch_only: bool) -> bool:
        ref = read_ref(self.run_dir(key).job_pid)
        if ref is None or not procfs.is_alive(ref):
            return False
        if not batch_only:
            signal_job(ref.pid, signum, procfs.session_members(ref.pid))
            return True
        try:
            os.kill(ref.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def _kill(self, key: RunKey) -> None:
        run = self.run_dir(key)
        ref = read_ref(run.shepherd_pid)
        if ref is not None and procfs.is_alive(ref):
            try:
                os.kill(ref.pid, signals.SIGTERM)  # the shepherd runs TERM, grace, KILL
                return
            except ProcessLookupError:
                pass  # it exited just now
        self._kill_job_directly(run)

    @staticmethod
    def _kill_job_directly(run: RunDir) -> None:
        """No shepherd to ask: SIGKILL the job's processes, while its batch shell runs (once
        the shell is gone its pid may name a stranger)."""
        ref = read_ref(run.job_pid)
        if ref is not None and procfs.is_alive(ref):
            signal_job(ref.pid, signals.SIGKILL, procfs.session_members(ref.pid))

    def _reconcile(self, expected: tuple[RunKey, ...]) -> Reconciled:
        running: list[RunKey] = []
        ended: list[RunEnd] = []
        unknown: list[RunKey] = []
        for key in expected:
            run = self.run_dir(key)
            end = read_end(run, key)
            if end is not None:
                ended.append(end)
            elif not run.shepherd_pid.exists():
                unknown.append(key)  # never claimed: launching it now is safe
            else:
                end = self._lost_or_none(run, key)
                if end is None:
                    running.append(key)
                else:
                    ended.append(end)
        return Reconciled(running=tuple(running), ended=tuple(ended), unknown=tuple(unknown))


if TYPE_CHECKING:
    from daemon.executors.base import Executor

    _: type[Executor] = ProcessExecutor
