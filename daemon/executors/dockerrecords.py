"""What the Docker executor's durable records say about a run, and how to read them back.

Two records outlive the executor: the container (its name, its labels, and once it exited its
``State``) and the run directory (``stop.json``, ``end.json``; see `daemon.executors.runfiles`).
An executor started after a crash knows only these, so everything it must enforce or judge is
in them: the timers in the labels, the stop it had asked for in ``stop.json``, the exit code,
OOM flag and times in the container's state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from daemon.executors.base import EndCause, LaunchSpec, RunEnd, RunKey
from daemon.executors.runfiles import RunDir, atomic_write

PROLOGUE_FAILED = 125  # the prologue's exit status: workdir or output file unusable
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Timers:
    """What the executor enforces while the container runs; kept in its labels, so an executor
    that adopts the container after a restart enforces the same."""

    deadline: int | None = None
    kill_wait_s: int = 30
    signal_number: int | None = None
    signal_before_s: int = 0
    signal_batch_only: bool = False

    @classmethod
    def of(cls, spec: LaunchSpec) -> Timers:
        return cls(
            deadline=spec.deadline,
            kill_wait_s=spec.kill_wait_s,
            signal_number=spec.signal_number,
            signal_before_s=spec.signal_before_s,
            signal_batch_only=spec.signal_batch_only,
        )

    def labels(self) -> dict[str, str]:
        return {
            "berth.deadline": "" if self.deadline is None else str(self.deadline),
            "berth.kill_wait": str(self.kill_wait_s),
            "berth.signal": "" if self.signal_number is None else str(self.signal_number),
            "berth.signal_before": str(self.signal_before_s),
            "berth.signal_batch_only": "1" if self.signal_batch_only else "0",
        }

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> Timers:
        def number(name: str) -> int | None:
            text = labels.get(name, "")
            return int(text) if text.lstrip("-").isdigit() else None

        return cls(
            deadline=number("berth.deadline"),
            kill_wait_s=number("berth.kill_wait") or 0,
            signal_number=number("berth.signal"),
            signal_before_s=number("berth.signal_before") or 0,
            signal_batch_only=labels.get("berth.signal_batch_only") == "1",
        )


def container_name(node: str, key: RunKey) -> str:
    """One name per run on an engine, so the engine itself refuses a second container."""
    return _NAME_UNSAFE.sub("_", f"berth-{node}-{key.job_id}.{key.restart_count}")


def run_labels(node: str, spec: LaunchSpec) -> dict[str, str]:
    """``berth.job_id`` and friends, and the timers."""
    return {
        "berth.job_id": str(spec.key.job_id),
        "berth.restart": str(spec.key.restart_count),
        "berth.node": node,
        "berth.user": spec.user,
        "berth.uid": str(spec.uid),
    } | Timers.of(spec).labels()


def key_of(labels: Mapping[str, str]) -> RunKey | None:
    try:
        return RunKey(job_id=int(labels["berth.job_id"]),
                      restart_count=int(labels["berth.restart"]))  # fmt: skip
    except (KeyError, ValueError):
        return None


def write_stop(record: RunDir, cause: EndCause, term_at: int) -> None:
    """``stop.json``: the executor is ending the run (``cause``), SIGTERM sent at ``term_at``."""
    record.path.mkdir(parents=True, exist_ok=True)  # an adopted run may have lost its directory
    atomic_write(record.path / "stop.json",
                 json.dumps({"cause": cause.value, "term_at": term_at}).encode())  # fmt: skip


def read_stop(record: RunDir) -> tuple[EndCause, int] | None:
    try:
        document = json.loads((record.path / "stop.json").read_bytes())
        return EndCause(document["cause"]), int(document["term_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def end_from_state(
    key: RunKey, state: Mapping[str, Any], *, stopping: EndCause | None, log_tail: str, now: int
) -> RunEnd:
    """How a run ended, from the engine's ``State`` of its container.

    An exit status above 128 is a signal (tini, like a shell, reports a child killed by signal
    N as 128+N; the engine reports 137 when PID 1 itself was SIGKILLed): a script that calls
    ``exit 130`` is reported as killed by SIGINT, the one ambiguity containers bring.
    """
    code = int(state.get("ExitCode") or 0)
    exit_code, signum = (0, code - 128) if 128 < code <= 128 + 64 else (code, 0)
    end_time = epoch(str(state.get("FinishedAt") or "")) or now
    message = ""
    if state.get("OOMKilled"):
        cause = EndCause.OOM
    elif stopping is not None:
        cause = stopping
    elif state.get("Status") == "created" or not epoch(str(state.get("StartedAt") or "")):
        cause = EndCause.LAUNCH_FAILED
        message = str(state.get("Error") or "the container was created but never started")
    elif code == PROLOGUE_FAILED and log_tail:
        cause = EndCause.LAUNCH_FAILED
        message = f"the job could not start: {log_tail}"
    else:
        cause = EndCause.EXITED
    return RunEnd(key=key, cause=cause, exit_code=exit_code, signal=signum,
                  end_time=end_time, message=message)  # fmt: skip


def epoch(stamp: str) -> int:
    """``2026-01-02T03:04:05.123456789Z`` -> epoch seconds; 0 for Docker's zero time."""
    if not stamp or stamp.startswith("0001-"):
        return 0
    try:
        moment = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return 0
    return int(moment.timestamp())
