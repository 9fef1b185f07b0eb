"""How a run's end becomes Slurm's final state.

The executor says what it saw (`RunEnd.cause`, exit code, signal); the record says what the
controller had asked for (``intent``: a cancel, a requeue, a preemption). The combination, in
Slurm's terms (observed on 22.05, SLURM-BEHAVIOUR.md "States / exit codes in sacct"):

| what happened | final state |
|---|---|
| exit 0 | COMPLETED 0:0 |
| exit N | FAILED N:0 |
| killed by signal S nobody sent | FAILED 0:S |
| cancelled (``scancel``) | CANCELLED (by uid) |
| time limit | TIMEOUT |
| memory limit (OOM kill) | OUT_OF_MEMORY |
| launch failed | FAILED 1:0, the message in the job's events |
| supervisor lost (node crash) | requeued if requeueable, else NODE_FAIL |
| requeue asked (``scontrol requeue``, preemption) | PENDING again, restart count + 1 |
| preempted, not requeueable | PREEMPTED |
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.executors.base import EndCause, RunEnd
from daemon.records import JobRecord
from scheduler import JobState


@dataclass(frozen=True, slots=True)
class Outcome:
    state: JobState
    requeue: bool = False  # back to PENDING under the same id
    message: str = ""


def outcome(record: JobRecord, end: RunEnd) -> Outcome:
    intent = record.intent
    if intent == "cancel":
        return Outcome(JobState.CANCELLED)
    if intent == "requeue":
        return Outcome(JobState.PENDING, requeue=True, message="requeued")
    if intent == "preempt":
        if record.request.requeue:
            return Outcome(JobState.PENDING, requeue=True, message="preempted and requeued")
        return Outcome(JobState.PREEMPTED, message="preempted")
    if end.cause is EndCause.TIMEOUT:
        return Outcome(JobState.TIMEOUT)
    if end.cause is EndCause.OOM:
        return Outcome(JobState.OUT_OF_MEMORY, message="killed for exceeding its memory limit")
    if end.cause is EndCause.LAUNCH_FAILED:
        return Outcome(JobState.FAILED, message=f"launch failed: {end.message}")
    if end.cause is EndCause.LOST:
        if record.request.requeue:
            return Outcome(JobState.PENDING, requeue=True, message=f"node failure: {end.message}")
        return Outcome(JobState.NODE_FAIL, message=end.message)
    if end.cause is EndCause.KILLED:  # killed on a request the record lost: count as cancel
        return Outcome(JobState.CANCELLED)
    if end.signal or end.exit_code:
        return Outcome(JobState.FAILED)
    return Outcome(JobState.COMPLETED)
