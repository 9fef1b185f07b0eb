"""The per-job shepherd: ``python -m daemon.executors.shepherd RUN_DIR``.

The process executor starts one shepherd per run, in its own session, and the shepherd at once
forks itself away: the process the daemon started exits as soon as the claim below is decided,
so the daemon is never the shepherd's parent (no zombie to reap, nothing that dies with it) and
the job outlives a daemon that is restarted or SIGKILLed. Then, in order:

1. **Claim** the run, atomically: write ``shepherd.pid`` (pid and start time) to a temporary name
   and ``link()`` it into place; ``link`` fails if the name exists, so of two shepherds launched
   for one run (a launch repeated after a crash, or two at once) exactly one goes on. This is
   what makes `ProcessExecutor.launch` idempotent.
2. Read ``spec.json``; set up the limits (a cgroup v2 group, else memory sampling); start the
   batch script (`daemon.executors.spawn`); write ``job.pid``.
3. Supervise it (`daemon.executors.supervise`): time limit, ``--signal``, SIGTERM from the
   executor, memory.
4. Write ``end.json`` atomically and exit. Nothing else is removed: the run directory is the
   record the executor reconciles from.

Anything that stops the job from starting ends as ``launch_failed`` with a message for the job's
owner. Stdlib only (with the stdlib-only modules beside it), for a fast start. Being its own
program, which must judge epoch-second deadlines while the daemon is down, it reads the wall
clock itself rather than through ``daemon.clock``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

from daemon.executors import procfs
from daemon.executors.base import EndCause, RunEnd, RunKey
from daemon.executors.cgroups import CgroupUnavailable, JobCgroup, open_job_cgroup
from daemon.executors.runfiles import (
    RunDir,
    StoredSpec,
    atomic_write,
    end_to_json,
    spec_from_json,
    temporary_beside,
)
from daemon.executors.spawn import StartError, credentials_for, start_job
from daemon.executors.supervise import Supervisor


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m daemon.executors.shepherd RUN_DIR\n")
        return 2
    return detach_and_claim(RunDir(Path(args[0])))


def detach_and_claim(run: RunDir) -> int:
    """Fork; the parent exits once the child has claimed the run (0) or found it claimed (0),
    or died trying (1). The child becomes the shepherd."""
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        answer = os.read(read_end, 1)
        return 0 if answer else 1
    os.close(read_end)
    if not claim(run):
        os.write(write_end, b"0")
        return 0
    os.write(write_end, b"1")
    os.close(write_end)
    return shepherd(run)


def claim(run: RunDir) -> bool:
    """Create ``shepherd.pid`` with this process's `ProcRef` unless it exists already."""
    me = procfs.ref_of(os.getpid())
    assert me is not None
    temporary = temporary_beside(run.shepherd_pid)
    temporary.write_text(me.dumps())
    try:
        os.link(temporary, run.shepherd_pid)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)


def shepherd(run: RunDir) -> int:
    wake_fd = _catch_signals()
    try:
        stored = spec_from_json(run.spec.read_bytes())
    except (OSError, ValueError, KeyError, TypeError) as error:
        _finish(run, EndCause.LAUNCH_FAILED, message=f"cannot read {run.spec}: {error}")
        return 1
    cgroup, limits = _limits(stored)
    _log(run, f"limits: {limits}")
    pid = 0
    try:
        creds = credentials_for(stored.spec)
        pid = start_job(stored.spec, str(run.script), cgroup=cgroup, creds=creds)
        ref = procfs.ref_of(pid) or procfs.ProcRef(pid, 0)  # not reaped yet: /proc still has it
        atomic_write(run.job_pid, ref.dumps().encode())
        outcome = Supervisor(stored.spec, pid, wake_fd=wake_fd, cgroup=cgroup).run()
    except StartError as error:
        _release(run, cgroup)
        _finish(run, EndCause.LAUNCH_FAILED, message=str(error), limits=limits)
        return 0
    except Exception as error:  # noqa: BLE001 - a bug: stop the job, never leave it unwatched
        traceback.print_exc()
        if pid:
            _kill_group(pid)
        _release(run, cgroup)
        cause = EndCause.LOST if pid else EndCause.LAUNCH_FAILED
        _finish(run, cause, message=f"the shepherd failed: {type(error).__name__}: {error}")
        return 1
    _release(run, cgroup)
    _finish(
        run,
        outcome.cause,
        exit_code=outcome.exit_code,
        signum=outcome.signal,
        message=outcome.message,
        limits=limits,
    )
    return 0


def _catch_signals() -> int:
    """Route SIGTERM, SIGINT and SIGCHLD to a non-blocking pipe the supervisor sleeps on."""
    read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(write_end)

    def note(signum: int, frame: FrameType | None) -> None:
        """The byte in the wake-up pipe is the whole message."""

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
        signal.signal(signum, note)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    return read_end


def _limits(stored: StoredSpec) -> tuple[JobCgroup | None, str]:
    """The job's cgroup, or None; and a line saying which limits apply, for the record."""
    spec = stored.spec
    reason = "cgroups disabled for this node"
    if stored.cgroup_root:
        name = f"job_{spec.key.job_id}_{spec.key.restart_count}"
        try:
            cgroup = open_job_cgroup(
                Path(stored.cgroup_root), name, cpus=spec.cpus, mem_mb=spec.mem_mb
            )
            return cgroup, f"cgroup v2 {cgroup.path}"
        except CgroupUnavailable as error:
            reason = str(error)
    if spec.mem_mb > 0:
        return None, f"memory by RSS sampling, CPUs unlimited ({reason})"
    return None, f"none ({reason})"


def _release(run: RunDir, cgroup: JobCgroup | None) -> None:
    if cgroup is None:
        return
    try:
        cgroup.kill_all()
        cgroup.remove()
    except OSError as error:
        _log(run, f"cannot remove {cgroup.path}: {error}")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _finish(
    run: RunDir,
    cause: EndCause,
    *,
    exit_code: int = 0,
    signum: int = 0,
    message: str = "",
    limits: str = "",
) -> None:
    # end.json does not store the key: the directory names the run.
    end = RunEnd(
        key=RunKey(job_id=0),
        cause=cause,
        exit_code=exit_code,
        signal=signum,
        end_time=int(time.time()),
        message=message,
    )
    atomic_write(run.end, end_to_json(end, limits=limits))
    _log(run, f"end: {cause.value}, exit code {exit_code}, signal {signum} {message}".rstrip())


def _log(run: RunDir, text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    sys.stderr.write(f"{stamp} shepherd {os.getpid()} {run.path.name}: {text}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
