"""Running one ``srun`` step's tasks on this node (SLURM-CONTRACT.md §3 items 4-7).

- Each task is forked into its own process group (``setpgid``), never its own session, so the
  job's shepherd, which follows the job's session, still reaches it at the job's end.
- Environment: the inherited one plus the per-task variables of
  ``SchedMD/slurm:src/common/env.c`` (`task_environment`), ``SLURM_TASK_PID`` being the
  task's own pid; ``SLURM_JOB_*``, ``SLURM_ARRAY_*`` and ``CUDA_VISIBLE_DEVICES`` stay as they
  are.
- I/O: tasks inherit srun's stdout/stderr unless `Streams` name files (opened once per path,
  append or truncate); ``-l`` pipes each task's lines through srun to prefix ``<task>: ``.
- Signals INT, TERM, HUP, QUIT, USR1, USR2 and CONT received by srun are forwarded to every
  task's process group (``scancel --signal`` reaches a step through srun's pid).
- Exit status (``SchedMD/slurm:src/srun/srun_job.c``): the highest exit code, or ``128+signo``
  when a task died of a signal; each failure is reported as ``srun: error: <node>: task <i>:
  Exited with exit code <n>`` (tasks with the same code grouped, ``tasks 0-3``); with
  ``kill_on_bad_exit`` the first failure kills the other tasks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

from cli.arrays import fold_ranges

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGCONT)  # fmt: skip


@dataclass(slots=True)
class Streams:
    """Per task: the fds for stdin, stdout and stderr (``None``: srun's own)."""

    stdin: list[int | None]
    stdout: list[int | None]
    stderr: list[int | None]
    label: bool = False
    opened: list[int] = field(default_factory=list)  # fds srun closes at the end

    def close(self) -> None:
        for fd in dict.fromkeys(self.opened):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass(frozen=True, slots=True)
class Outcome:
    exit_code: int  # what srun exits with
    worst_code: int  # the highest plain exit code
    worst_signal: int  # a signal that killed a task, 0 if none


def task_environment(base: Mapping[str, str], *, task: int, ntasks: int, step: int, node: str,
                     cpus_per_task: int | None) -> dict[str, str]:  # fmt: skip
    env = dict(base)
    count = str(ntasks)
    env.update(
        SLURM_PROCID=str(task), SLURM_LOCALID=str(task), SLURM_NODEID="0", SLURM_NTASKS=count,
        SLURM_NPROCS=count, SLURM_STEP_ID=str(step), SLURM_STEPID=str(step),
        SLURM_STEP_NUM_TASKS=count, SLURM_STEP_NUM_NODES="1", SLURM_STEP_NODELIST=node,
        SLURM_STEP_TASKS_PER_NODE=count, SLURMD_NODENAME=node,
    )  # fmt: skip
    if cpus_per_task is not None:
        env["SLURM_CPUS_PER_TASK"] = str(cpus_per_task)
    return env


class Launcher:
    """Forks the tasks, forwards signals, pumps labelled output, waits and reports."""

    def __init__(self, command: Sequence[str], envs: Sequence[Mapping[str, str]],
                 streams: Streams, *, node: str, chdir: str | None = None) -> None:  # fmt: skip
        self.command = list(command)
        self.envs = envs
        self.streams = streams
        self.node = node
        self.chdir = chdir
        self.pids: dict[int, int] = {}  # pid -> task
        self._previous: dict[int, object] = {}

    def forward(self, signum: int, _: FrameType | None = None) -> None:
        for pid in list(self.pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signum)

    def trap_signals(self) -> None:
        for signum in FORWARDED:
            self._previous[signum] = signal.signal(signum, self.forward)

    def restore_signals(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def run(self, *, kill_on_bad_exit: bool = False) -> Outcome:
        labelled: list[tuple[int, list[tuple[int, int]]]] = []
        for task, env in enumerate(self.envs):
            out, err = self.streams.stdout[task], self.streams.stderr[task]
            pipes: list[tuple[int, int]] = []
            if self.streams.label:
                out, err = _pipe_to(out, 1, pipes), _pipe_to(err, 2, pipes)
            pid = self._fork(env, self.streams.stdin[task], out, err)
            self.pids[pid] = task
            if self.streams.label:
                for write_end in (out, err):
                    assert write_end is not None
                    os.close(write_end)  # the task has its own copy
                labelled.append((task, pipes))
        pumps = [pump for task, pipes in labelled for pump in self._pump(task, pipes)]
        statuses = self._wait(kill_on_bad_exit)
        for pump in pumps:
            pump.join()
        return self._report(statuses)

    # -- processes --------------------------------------------------------------------------

    def _fork(self, env: Mapping[str, str], stdin: int | None, stdout: int | None,
              stderr: int | None) -> int:  # fmt: skip
        pid = os.fork()
        if pid == 0:  # the task: never returns
            try:
                for signum in FORWARDED:
                    signal.signal(signum, signal.SIG_DFL)
                os.setpgid(0, 0)
                for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
                    if fd is not None:
                        os.dup2(fd, target)
                if self.chdir:
                    os.chdir(self.chdir)
                os.execvpe(self.command[0], self.command,
                           {**env, "SLURM_TASK_PID": str(os.getpid())})  # fmt: skip
            except OSError as err:
                message = f"srun: error: execve(): {self.command[0]}: {err.strerror}\n"
                os.write(2, message.encode(errors="replace"))
            finally:
                os._exit(2)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also here, so no signal can slip in before the child does it
        return pid

    def _wait(self, kill_on_bad_exit: bool) -> dict[int, int]:
        """task -> exit code (``-signo`` for a signal), once every task has ended."""
        codes: dict[int, int] = {}
        while len(codes) < len(self.pids):
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            task = self.pids.get(pid)
            if task is None:
                continue
            codes[task] = os.waitstatus_to_exitcode(status)
            if kill_on_bad_exit and codes[task] != 0:
                kill_on_bad_exit = False
                self.forward(signal.SIGKILL)
        return codes

    # -- labelled output --------------------------------------------------------------------

    def _pump(self, task: int, pipes: list[tuple[int, int]]) -> list[threading.Thread]:
        width = len(str(len(self.envs) - 1))
        prefix = f"{task:>{width}}: ".encode()
        threads = []
        for read_end, target in pipes:
            thread = threading.Thread(target=_copy_lines, args=(read_end, target, prefix),
                                      daemon=True)  # fmt: skip
            thread.start()
            threads.append(thread)
        return threads

    # -- exit status ------------------------------------------------------------------------

    def _report(self, codes: dict[int, int]) -> Outcome:
        by_word: dict[str, list[int]] = {}
        worst_code = worst_signal = 0
        for task, code in sorted(codes.items()):
            if code > 0:
                worst_code = max(worst_code, code)
                by_word.setdefault(f"Exited with exit code {code}", []).append(task)
            elif code < 0:
                worst_signal = worst_signal or -code
                by_word.setdefault(signal.strsignal(-code) or f"Signal {-code}", []).append(task)
        for word, tasks in by_word.items():
            label = f"task {tasks[0]}" if len(tasks) == 1 else f"tasks {fold_ranges(tasks)}"
            sys.stderr.write(f"srun: error: {self.node}: {label}: {word}\n")
        exit_code = 128 + worst_signal if worst_signal else worst_code
        return Outcome(exit_code, worst_code, worst_signal)


def _pipe_to(target: int | None, default: int, pipes: list[tuple[int, int]]) -> int:
    """A pipe whose lines go to ``target`` (srun's ``default`` fd when None): its write end."""
    read_end, write_end = os.pipe()
    pipes.append((read_end, default if target is None else target))
    return write_end


def _copy_lines(read_end: int, target: int, prefix: bytes) -> None:
    """Copy ``read_end`` to ``target`` line by line, each line after ``prefix``."""
    with os.fdopen(read_end, "rb", buffering=0) as source:
        pending = b""
        while chunk := source.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if lines:
                _write_all(target, b"".join(prefix + line + b"\n" for line in lines))
        if pending:
            _write_all(target, prefix + pending + b"\n")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except OSError:
            return
        view = view[written:]
