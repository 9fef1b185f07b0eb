"""The executor contract: what the controller asks of whatever runs a job on a node.

The controller records a job RUNNING (with its allocation) in the store *before* it calls
`Executor.launch`, and calls `launch` again after a crash when it cannot tell whether the first
call got through. So `launch` must be idempotent: one `LaunchSpec` (a job id plus its restart
count) runs at most once, however often it is launched. Executors keep their own durable record
of what they started (files under the job's run directory, container labels) so that
`reconcile` can tell, after the daemon restarts, which jobs still run (adopt them), which ended
while nobody watched (report their exit), and which were never started (launch them).

Implementations: `daemon.executors.process` (a shepherd process per job, surviving the daemon)
and `daemon.executors.docker` (one container per job). Both are tested by one contract suite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class RunKey:
    """One run of a job: a requeued job runs again under the same id with ``restart_count + 1``."""

    job_id: int
    restart_count: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchSpec:
    """Everything needed to start one job on this node, already resolved by the controller:
    the environment is complete (submitter's variables plus Slurm's), the output paths have
    their ``%j``-style patterns expanded, GPUs are named by index and UUID."""

    key: RunKey
    name: str
    user: str
    uid: int
    gid: int
    script: str  # the batch script's text, written to the run directory and executed
    argv: tuple[str, ...] = ()  # the script's arguments
    workdir: str
    environment: Mapping[str, str] = field(default_factory=dict)
    stdout_path: str
    stderr_path: str  # equal to stdout_path when stderr goes to the same file
    append: bool = False  # --open-mode=append (always true after a requeue)
    cpus: int = 1
    mem_mb: int = 0  # 0: no memory limit
    gpu_indices: tuple[int, ...] = ()
    gpu_uuids: tuple[str, ...] = ()
    deadline: int | None = None  # epoch second at which the time limit is reached
    kill_wait_s: int = 30  # SIGTERM ... SIGKILL grace (Slurm's KillWait)
    image: str = ""  # container image (Docker executor only)
    # --signal=[B:]SIG@T: send ``signal_number`` ``signal_before_s`` before the deadline, to the
    # batch shell only (``signal_batch_only``) or to the job's steps.
    signal_number: int | None = None
    signal_before_s: int = 0
    signal_batch_only: bool = False


class EndCause(StrEnum):
    """Why a run ended, as far as the executor knows; the controller combines it with what it
    asked for (a cancel, a requeue) to choose Slurm's final state."""

    EXITED = "exited"  # the script exited (any code) or was killed by a signal nobody sent
    TIMEOUT = "timeout"  # killed by the executor at the deadline
    KILLED = "killed"  # killed on request (`Executor.kill`)
    OOM = "oom"  # killed for exceeding its memory limit (where the executor can tell)
    LAUNCH_FAILED = "launch_failed"  # never started: bad workdir, unknown user, missing image
    LOST = "lost"  # started, but its supervisor vanished without a record (node crash)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEnd:
    key: RunKey
    cause: EndCause
    exit_code: int = 0  # the script's exit status (0 when killed by a signal)
    signal: int = 0  # the signal that killed it, 0 if it exited
    end_time: int = 0  # epoch seconds
    message: str = ""  # for LAUNCH_FAILED / LOST: what went wrong, for the job's event log


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciled:
    """What `Executor.reconcile` found for the runs the store believes are running."""

    running: tuple[RunKey, ...] = ()  # alive: adopted, their ends will be reported
    ended: tuple[RunEnd, ...] = ()  # ended while nobody watched
    unknown: tuple[RunKey, ...] = ()  # no trace of a launch: the controller launches them


EndCallback = Callable[[RunEnd], Awaitable[None]]


class Executor(Protocol):
    """Runs jobs on one node. All methods are coroutines and never block the event loop."""

    async def start(self, on_end: EndCallback) -> None:
        """Begin watching; every run that ends from now on is reported once to ``on_end``."""

    async def stop(self) -> None:
        """Stop watching. Running jobs keep running (they outlive the daemon)."""

    async def launch(self, spec: LaunchSpec) -> None:
        """Start the run, unless this `RunKey` was launched before (then do nothing).
        A failure to start is reported through ``on_end`` as `EndCause.LAUNCH_FAILED`."""

    async def signal(self, key: RunKey, signum: int, *, batch_only: bool) -> bool:
        """Send ``signum`` to the run's processes (``batch_only``: the batch shell alone, else
        every process of the job). Returns False when the run is not alive."""

    async def kill(self, key: RunKey) -> None:
        """End the run: SIGTERM (SIGCONT first), SIGKILL after the spec's ``kill_wait_s``.
        Its end is reported through ``on_end`` with `EndCause.KILLED`."""

    async def reconcile(self, expected: Sequence[RunKey]) -> Reconciled:
        """Sort the runs the store records as RUNNING into alive, ended and never launched."""
