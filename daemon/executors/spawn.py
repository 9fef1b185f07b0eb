"""Starting the batch script: fork, become the job, exec the script itself.

The child does, in order: its own session (so its process group and session id equal its pid,
and every process it starts can be found and signalled), the cgroup, the submitter's
credentials (supplementary groups, gid, uid: only when the shepherd is root and the job's uid
differs), the working directory, stdin ``/dev/null`` and the output files, then ``execve`` of
the script file with its arguments and exactly the spec's environment. The script is executed
directly (the kernel reads its ``#!`` line), never through ``/bin/sh -c``.

The directory and the output files are opened *after* the switch to the job's uid, so a job can
only write where its user may; the error message then says what that user could not do.

Errors in the child travel back over a close-on-exec pipe: a successful ``execve`` closes it
empty, a failure writes one line a person can act on ("cannot open output file /x/y.out:
Permission denied") and the shepherd records it as LAUNCH_FAILED.
"""

from __future__ import annotations

import errno
import os
import pwd
import signal
from collections.abc import Callable
from dataclasses import dataclass

from daemon.executors.base import LaunchSpec
from daemon.executors.cgroups import JobCgroup

# Signals the shepherd handles or Python ignores; the job must start with the defaults.
_RESET_SIGNALS = (
    signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ,
)  # fmt: skip


class StartError(Exception):
    """The job could not be started; the message is for the job's owner."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Whom the job runs as, when the shepherd has to switch to it."""

    user: str
    uid: int
    gid: int


def credentials_for(spec: LaunchSpec) -> Credentials | None:
    """The credentials to switch to, or None when the job runs as the shepherd's own user.

    :raises StartError: when the uid is unknown here or the shepherd may not switch to it.
    """
    if spec.uid == os.geteuid():
        return None
    if os.geteuid() != 0:
        raise StartError(
            f"cannot run job as uid {spec.uid} ({spec.user}): the daemon runs as uid "
            f"{os.geteuid()}, and only root may start jobs for other users"
        )
    try:
        entry = pwd.getpwuid(spec.uid)
    except KeyError:
        raise StartError(
            f"unknown uid {spec.uid} ({spec.user}) on this node: create the user here"
        ) from None
    return Credentials(entry.pw_name, spec.uid, spec.gid)


def start_job(
    spec: LaunchSpec, script: str, *, cgroup: JobCgroup | None, creds: Credentials | None
) -> int:
    """Fork and exec the batch script; returns the job's pid (its session and group id).

    :raises StartError: with the child's message when it could not exec.
    """
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        try:
            _become_job(spec, script, cgroup, creds, write_end)
        except StartError as error:
            message = str(error)
        except BaseException as error:  # noqa: BLE001 - the child must report, never return
            message = f"{type(error).__name__}: {error}"
        os.write(write_end, message.encode(errors="replace"))
        os._exit(127)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    if chunks:
        os.waitpid(pid, 0)
        raise StartError(b"".join(chunks).decode(errors="replace"))
    return pid


def _become_job(
    spec: LaunchSpec,
    script: str,
    cgroup: JobCgroup | None,
    creds: Credentials | None,
    error_pipe: int,
) -> None:
    signal.set_wakeup_fd(-1)
    for signum in _RESET_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    os.setsid()
    if cgroup is not None:
        _step(f"cannot move the job into {cgroup.path}", cgroup.attach, os.getpid())
    if creds is not None:
        who = f"cannot switch to user {creds.user} (uid {creds.uid}, gid {creds.gid})"
        _step(who, os.initgroups, creds.user, creds.gid)
        _step(who, os.setgid, creds.gid)
        _step(who, os.setuid, creds.uid)
    umask = spec.environment.get("SLURM_UMASK", "")  # sbatch's umask, when it passed one
    os.umask(int(umask, 8) if umask.isdigit() and set(umask) <= set("01234567") else 0o022)
    _step(f"cannot change to working directory {spec.workdir}", os.chdir, spec.workdir)
    stdin = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    stdout = _open_output(spec.stdout_path, spec.append, "output")
    same = spec.stderr_path == spec.stdout_path
    stderr = stdout if same else _open_output(spec.stderr_path, spec.append, "error")
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)  # the copy is inheritable, the original closes on exec
    os.closerange(3, error_pipe)
    os.closerange(error_pipe + 1, os.sysconf("SC_OPEN_MAX"))
    try:
        os.execve(script, [script, *spec.argv], dict(spec.environment))
    except OSError as error:
        raise StartError(f"cannot execute batch script {script}: {_reason(error)}") from None


def _step(what: str, action: Callable[..., object], *args: object) -> None:
    try:
        action(*args)
    except OSError as error:
        raise StartError(f"{what}: {error.strerror}") from None


def _open_output(path: str, append: bool, kind: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
    try:
        return os.open(path, flags, 0o666)
    except OSError as error:
        raise StartError(f"cannot open {kind} file {path}: {error.strerror}") from None


def _reason(error: OSError) -> str:
    hints = {
        errno.ENOEXEC: " (the script must start with a #! line naming its interpreter)",
        errno.ENOENT: " (the interpreter named on its #! line does not exist here)",
        errno.EACCES: " (the script or its interpreter is not executable by the job's user)",
    }
    return f"{error.strerror}{hints.get(error.errno or 0, '')}"
