"""Job steps: what ``srun`` inside a job registers, so ``sacct`` lists ``<job>.<step>`` rows and
``scancel --signal`` reaches the steps rather than the batch shell (Slurm's targeting: without
``-b``/``-f`` a signal goes to the steps only; SLURM-CONTRACT.md §3 item 6).

A step record is ``{"name", "state", "exit_code", "exit_signal", "start_time", "end_time",
"node_list", "pid", "ntasks"}``; ``pid`` is srun's own process on the job's node, which
forwards what it receives to its tasks.
"""

from __future__ import annotations

import os
import signal as signals
from typing import Any

from daemon.auth import Caller
from daemon.controller import Controller
from daemon.errors import BadRequest, Conflict, Forbidden, NotFound
from daemon.records import JobRecord
from daemon.store import repository as repo
from scheduler import JobState

_STEP_END_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")


def _running_job(ctl: Controller, caller: Caller, text: str) -> JobRecord:
    if not text.isdigit():
        raise BadRequest(f"steps belong to a raw job id (a number), got {text!r}")
    record = ctl.mirror.jobs.get(int(text))
    if record is None:
        raise NotFound(f"Invalid job id specified: {text}")
    if not caller.may_act_on(record.uid):
        raise Forbidden(f"Access/permission denied: job {text} belongs to {record.user}")
    if record.state is not JobState.RUNNING:
        raise Conflict(f"Job {text} is not running ({record.state.value}): no steps can start")
    return record


async def register(ctl: Controller, caller: Caller, text: str, body: Any) -> dict[str, Any]:
    record = _running_job(ctl, caller, text)
    if not isinstance(body, dict):
        raise BadRequest("send {name, pid, ntasks}")
    pid, ntasks = body.get("pid"), body.get("ntasks", 1)
    if not isinstance(pid, int) or not isinstance(ntasks, int) or ntasks < 1:
        raise BadRequest("pid: srun's process id (int); ntasks: a count >= 1")
    now = ctl.clock.now()
    job_id = record.job_id
    node_list = ",".join(record.allocation.node_names) if record.allocation else ""
    step = {"name": str(body.get("name", "")), "state": "RUNNING", "exit_code": 0,
            "exit_signal": 0, "start_time": now, "end_time": None, "node_list": node_list,
            "pid": pid, "ntasks": ntasks}  # fmt: skip

    def write(connection: Any) -> int:
        taken = repo.steps_of(connection, [job_id]).get(job_id, [])
        step_id = 1 + max((s["step_id"] for s in taken), default=-1)
        repo.save_steps(connection, job_id, step_id, step)
        return step_id

    return {"job_id": job_id, "step_id": await ctl.db.write(write)}


async def finish(ctl: Controller, caller: Caller, text: str, step_text: str, body: Any
                 ) -> dict[str, Any]:  # fmt: skip
    if not text.isdigit() or not step_text.isdigit():
        raise BadRequest("a step is named by <job id>/<step id>, both numbers")
    record = ctl.mirror.jobs.get(int(text))
    if record is None:
        raise NotFound(f"Invalid job id specified: {text}")
    if not caller.may_act_on(record.uid):
        raise Forbidden(f"Access/permission denied: job {text} belongs to {record.user}")
    if not isinstance(body, dict) or body.get("state") not in _STEP_END_STATES:
        raise BadRequest(f"state: one of {', '.join(_STEP_END_STATES)}")
    job_id, step_id, now = int(text), int(step_text), ctl.clock.now()

    def write(connection: Any) -> dict[str, Any]:
        steps = {s["step_id"]: s for s in repo.steps_of(connection, [job_id]).get(job_id, [])}
        if step_id not in steps:
            raise NotFound(f"job {job_id} has no step {step_id}")
        step = dict(steps[step_id], state=body["state"], end_time=now,
                    exit_code=int(body.get("exit_code", 0)),
                    exit_signal=int(body.get("exit_signal", 0)))  # fmt: skip
        step.pop("step_id", None)
        repo.save_steps(connection, job_id, step_id, step)
        return step

    return {"job_id": job_id, "step_id": step_id, **await ctl.db.write(write)}


async def signal_steps(ctl: Controller, record: JobRecord, signum: int) -> bool:
    """Send ``signum`` to every running step of a job on this host; False when it has none."""
    steps = await ctl.db.read(lambda c: repo.steps_of(c, [record.job_id]))
    sent = False
    for step in steps.get(record.job_id, []):
        if step.get("state") == "RUNNING" and isinstance(step.get("pid"), int):
            try:
                os.kill(step["pid"], signals.Signals(signum))
                sent = True
            except (ProcessLookupError, ValueError):
                continue
    return sent
