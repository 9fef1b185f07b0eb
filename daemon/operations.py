"""What users and admins ask of jobs and nodes: submit, cancel, hold, release, requeue, update,
drain. Each function checks who may do it (a user acts on their own jobs, an admin on all),
changes the records through the controller (store first, then the mirror) and wakes a pass.
The API handlers only parse and serialise around these.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from daemon.auth import Caller
from daemon.controller import Controller
from daemon.errors import BadRequest, Conflict, Forbidden, NotFound, Unsatisfiable
from daemon.executors.base import RunKey
from daemon.executors.images import image_refusal
from daemon.intake import build_records
from daemon.records import JobRecord
from daemon.store import repository as repo
from daemon.store.repository import Event
from daemon.submission import Draft, SubmitError, parse_submission
from scheduler import (
    Dependency,
    DependencyKind,
    Hold,
    JobRequest,
    JobState,
    Snapshot,
    parse_slurm_time_s,
    schedule,
    validate,
)


async def submit(ctl: Controller, body: Any, caller: Caller) -> dict[str, Any]:
    if os.geteuid() != 0 and caller.uid != os.geteuid():
        raise Forbidden(
            f"this daemon runs as uid {os.geteuid()}, so it can run only that user's jobs; "
            "run `berth daemon` as root to serve several users"
        )
    try:
        draft = parse_submission(body, caller=caller, site=ctl.site)
    except SubmitError as err:
        raise BadRequest(str(err)) from None
    if draft.image:  # checked again at launch: the allowlist may change meanwhile
        refusal = image_refusal(draft.image, ctl.site.docker.allowed_images)
        if refusal is not None:
            raise BadRequest(refusal)
    now = ctl.clock.now()
    dependencies = await _dependencies(ctl, draft)
    count = max(1, len(draft.array_indices))
    first = ctl.next_id
    records = build_records(
        draft, user=caller.user, uid=caller.uid, gid=caller.gid, now=now, first_id=first,
        dependencies=dependencies,
    )  # fmt: skip
    _validate(ctl, records[0], count)
    if draft.test_only:
        return await _test_only(ctl, records[0], now)
    ctl.next_id = first + count
    await ctl.insert(records, draft)
    return {
        "job_id": first,
        "array_job_id": first if draft.array_indices else None,
        "job_ids": [r.job_id for r in records],
    }


def _validate(ctl: Controller, record: JobRecord, count: int) -> None:
    active = _submit_scope(ctl, record)
    if active is not None:
        active = active + [record.request] * (count - 1)
    problems = validate(
        record.request, ctl.mirror.cluster_view(), ctl.site.limits, active=active or ()
    )
    if problems:
        raise Unsatisfiable("; ".join(problems))


def _submit_scope(ctl: Controller, record: JobRecord) -> list[JobRequest] | None:
    """The active jobs the submit caps (pending + running jobs) must count: none when the site
    sets no such cap (the common case, and O(1) per submission), the user's own jobs when only
    per-user caps exist, every active job when a QOS or account cap spans users."""
    limits = ctl.site.limits
    request = record.request
    qos = limits.qos.get(request.qos)
    account = limits.accounts.get(request.account)
    if (qos is not None and qos.group.submitted_jobs is not None) or (
        account is not None and account.submitted_jobs is not None
    ):
        return [r.request for r in ctl.mirror.jobs.values() if r.active]
    if (qos is not None and qos.per_user.submitted_jobs is not None) or (
        limits.for_user(request.user).total.submitted_jobs is not None
    ):
        return [r.request for r in ctl.mirror.active_by_user.get(request.user, {}).values()]
    return None


async def _test_only(ctl: Controller, record: JobRecord, now: int) -> dict[str, Any]:
    snapshot, _ = ctl.mirror.snapshot(now, ctl.site.policy.half_life_s)
    what_if = replace(snapshot, pending=(*snapshot.pending, record.request))
    plan = await asyncio.to_thread(_plan, what_if, now, ctl)
    for start in plan.starts:
        if start.job_id == record.job_id:
            return {"job_id": None, "estimated_start": now,
                    "node_list": ",".join(start.allocation.node_names)}  # fmt: skip
    pending = plan.pending_by_id().get(record.job_id)
    return {
        "job_id": None,
        "estimated_start": None if pending is None else pending.estimated_start,
        "node_list": "" if pending is None else ",".join(pending.planned_nodes),
        "reason": "" if pending is None else pending.reason.value,
    }


def _plan(snapshot: Snapshot, now: int, ctl: Controller) -> Any:
    return schedule(snapshot, now, ctl.site.policy)


async def _dependencies(ctl: Controller, draft: Draft) -> tuple[Dependency, ...]:
    found: list[Dependency] = []
    for kind, job_id, task in draft.dependencies:
        if kind == "singleton":
            found.append(Dependency(kind=DependencyKind.SINGLETON))
            continue
        assert job_id is not None
        text = f"{job_id}_{task}" if task is not None else str(job_id)
        targets = ctl.mirror.find(text)
        if not targets:
            targets = await _stored_targets(ctl, job_id, task)
            for target in targets:
                ctl.remember_target(target)
        if not targets:
            raise BadRequest(f"dependency: Job dependency problem: job {text} does not exist")
        found.extend(Dependency(kind=DependencyKind(kind), job_id=t.job_id) for t in targets)
    return tuple(found)


async def _stored_targets(ctl: Controller, job_id: int, task: int | None) -> list[JobRecord]:
    records = await ctl.db.read(lambda c: repo.accounting(c, ids=[job_id]))
    if task is not None:
        return [r for r in records if r.request.array_job_id == job_id
                and r.request.array_task_id == task]  # fmt: skip
    tasks = [r for r in records if r.request.array_job_id == job_id]
    return tasks or [r for r in records if r.job_id == job_id]


# -- cancel ---------------------------------------------------------------------------------


async def cancel(ctl: Controller, caller: Caller, body: Any) -> dict[str, Any]:
    """``scancel``: by ids, and/or filters (user, name, state); with ``signal`` only signal."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    ids = body.get("ids") or []
    user, name, state = body.get("user") or "", body.get("name") or "", body.get("state") or ""
    signum = body.get("signal")
    if not isinstance(ids, list) or (signum is not None and not isinstance(signum, int)):
        raise BadRequest("ids: a list of job ids such as 123 or 123_4; signal: a number")
    if not ids and not (user or name or state):
        raise BadRequest("name jobs to cancel: ids, or a user, name or state filter")
    chosen, not_found = _select(ctl, [str(i) for i in ids], user, name, state)
    for record in chosen:
        if not caller.may_act_on(record.uid):
            raise Forbidden(
                f"Access/permission denied: job {record.job_id} belongs to {record.user}; "
                "you may cancel only your own jobs"
            )
    if signum is not None:
        target = "batch" if body.get("batch_only") else "full" if body.get("full") else "steps"
        return await _signal(ctl, chosen, signum, target, not_found)
    now = ctl.clock.now()
    cancelled, changed, events = [], [], []
    kills: list[JobRecord] = []
    for record in chosen:
        if record.state is JobState.PENDING:
            record.state = JobState.CANCELLED
            record.end_time = now
        elif record.state is JobState.RUNNING and not record.intent:
            record.intent = "cancel"
            record.state = JobState.COMPLETING
            kills.append(record)
        else:
            continue
        record.cancelled_by = caller.uid
        cancelled.append(record.job_id)
        changed.append(record)
        events.append(Event(record.job_id, now, "CANCELLED", f"cancelled by {caller.uid}"))
    if changed:
        await ctl.change(changed, events)
        ctl.notify()
    for record in kills:
        await ctl.kill(record)
    return {"cancelled": cancelled, "signalled": [], "not_found": not_found}


async def _signal(
    ctl: Controller, chosen: Sequence[JobRecord], signum: int, target: str,
    not_found: list[str],
) -> dict[str, Any]:  # fmt: skip
    """``scancel --signal``: to the steps (default), the batch shell (``-b``) or everything
    (``-f``), as Slurm targets them."""
    from daemon.steps import signal_steps

    signalled, not_running = [], []
    for record in chosen:
        key = RunKey(job_id=record.job_id, restart_count=record.restart_count)
        if record.state is not JobState.RUNNING:
            sent = False
        elif target == "steps":
            sent = await signal_steps(ctl, record, signum)
        else:
            executor = ctl.executor_for(record)
            sent = await executor.signal(key, signum, batch_only=target == "batch")
        if sent:
            signalled.append(record.job_id)
        else:
            not_running.append(str(record.job_id))
    return {"cancelled": [], "signalled": signalled, "not_found": not_found + not_running}


def _select(
    ctl: Controller, ids: Sequence[str], user: str, name: str, state: str
) -> tuple[list[JobRecord], list[str]]:
    not_found: list[str] = []
    if ids:
        pool: list[JobRecord] = []
        for text in ids:
            found = ctl.mirror.find(text)
            if not found:
                not_found.append(text)
            pool.extend(found)
    else:
        pool = list(ctl.mirror.jobs.values())
    chosen = [
        r for r in pool
        if r.active
        and (not user or r.user == user)
        and (not name or r.request.name == name)
        and (not state or r.state.value == state.upper())
    ]  # fmt: skip
    return chosen, not_found


# -- hold, release, requeue, update -------------------------------------------------------------


def _owned(ctl: Controller, caller: Caller, text: str) -> list[JobRecord]:
    records = ctl.mirror.find(text)
    if not records:
        raise NotFound(f"Invalid job id specified: {text}")
    for record in records:
        if not caller.may_act_on(record.uid):
            raise Forbidden(
                f"Access/permission denied: job {record.job_id} belongs to {record.user}"
            )
    return records


async def hold(ctl: Controller, caller: Caller, text: str) -> list[int]:
    records = [r for r in _owned(ctl, caller, text) if r.state is JobState.PENDING]
    if not records:
        raise Conflict(f"Job is no longer pending execution for job {text}")
    now = ctl.clock.now()
    kind = Hold.ADMIN if caller.admin and caller.uid != records[0].uid else Hold.USER
    for record in records:
        record.request = replace(record.request, hold=kind)
        record.reason = "JobHeldAdmin" if kind is Hold.ADMIN else "JobHeldUser"
        record.priority = 0
    await ctl.change(records, [Event(r.job_id, now, "PENDING", r.reason) for r in records])
    return [r.job_id for r in records]


async def release(ctl: Controller, caller: Caller, text: str) -> list[int]:
    records = [r for r in _owned(ctl, caller, text) if r.request.hold is not Hold.NONE]
    for record in records:
        if record.request.hold is Hold.ADMIN and not caller.admin:
            raise Forbidden(f"job {record.job_id} was held by an administrator; ask one")
    now = ctl.clock.now()
    for record in records:
        record.request = replace(record.request, hold=Hold.NONE)
        record.reason = "None"
    await ctl.change(records, [Event(r.job_id, now, "PENDING", "released") for r in records])
    ctl.notify()
    return [r.job_id for r in records]


async def requeue(ctl: Controller, caller: Caller, text: str) -> list[int]:
    """``scontrol requeue``: a running job is stopped and queued again under the same id (its
    end is handled as a requeue); a finished job is queued again at once."""
    records = _owned(ctl, caller, text)
    now = ctl.clock.now()
    stopping, finished = [], []
    for record in records:
        if record.state is JobState.RUNNING and not record.intent:
            record.intent = "requeue"
            stopping.append(record)
        elif not record.active:
            ctl.requeue_record(record, now)
            finished.append(record)
    if not stopping and not finished:
        raise Conflict(f"Job {text} is pending: only running or finished jobs can be requeued")
    events = [Event(r.job_id, now, r.state.value, "requeue requested") for r in stopping + finished]
    await ctl.change(stopping + finished, events)
    for record in stopping:
        await ctl.kill(record)
    ctl.notify()
    return [r.job_id for r in stopping + finished]


_UPDATABLE = ("time", "nice", "partition", "qos", "name", "begin_time", "priority", "comment")


async def update(ctl: Controller, caller: Caller, text: str, body: Any) -> list[int]:
    """``scontrol update job``: pending jobs only; a user may lower the time limit and raise
    nice; raising the limit, a negative nice or a fixed priority need an administrator."""
    if not isinstance(body, dict) or not body:
        raise BadRequest(f"send a JSON object with some of {', '.join(_UPDATABLE)}")
    unknown = sorted(set(body) - set(_UPDATABLE))
    if unknown:
        raise BadRequest(f"cannot update {', '.join(unknown)}; updatable: {', '.join(_UPDATABLE)}")
    records = _owned(ctl, caller, text)
    if any(r.state is not JobState.PENDING for r in records):
        raise Conflict(f"Job {text} is not pending: only pending jobs can be updated")
    changes = _changes(body, caller, records[0])
    comment = changes.pop("comment", None)
    now = ctl.clock.now()
    updated = [replace(record.request, **changes) for record in records]
    for request in updated:  # check all before changing any: a refusal changes nothing
        problems = validate(request, ctl.mirror.cluster_view(), ctl.site.limits)
        if problems:
            raise Unsatisfiable("; ".join(problems))
    for record, request in zip(records, updated, strict=True):
        record.request = request
        if comment is not None:
            record.comment = comment
    await ctl.change(records, [Event(r.job_id, now, "PENDING", "updated") for r in records])
    ctl.notify()
    return [r.job_id for r in records]


def _changes(body: dict[str, Any], caller: Caller, record: JobRecord) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key == "time":
            try:
                seconds = parse_slurm_time_s(value)
            except (TypeError, ValueError) as err:
                raise BadRequest(f"time: {err}") from None
            limit = seconds if seconds is not None else 365 * 86400
            if limit > record.request.time_limit_s and not caller.admin:
                raise Forbidden("only an administrator may raise a job's time limit")
            changes["time_limit_s"] = limit
        elif key == "nice":
            if not isinstance(value, int) or (value < 0 and not caller.admin):
                raise BadRequest("nice: a whole number; negative values need an administrator")
            changes["nice"] = value
        elif key == "priority":
            if not caller.admin:
                raise Forbidden("only an administrator may set a job's priority")
            changes["admin_priority"] = value if isinstance(value, int) else None
        elif key == "begin_time":
            changes["begin_time"] = value if isinstance(value, int) else None
        elif key == "comment":
            changes["comment"] = str(value)
        elif isinstance(value, str) and value:
            changes[key] = value
        else:
            raise BadRequest(f"{key}: expected a non-empty string, got {value!r}")
    return changes


async def set_node(ctl: Controller, caller: Caller, name: str, body: Any) -> dict[str, Any]:
    """``scontrol update nodename=X state=drain reason=...`` / ``state=resume``."""
    if not caller.admin:
        raise Forbidden("only an administrator may change a node's state")
    if name not in {node.name for node in ctl.site.cluster.nodes}:
        raise NotFound(f"Invalid node name specified: {name}")
    if not isinstance(body, dict):
        raise BadRequest("send {state: drain|down|resume, reason: text}")
    state, reason = str(body.get("state", "")).lower(), str(body.get("reason", ""))
    if state in ("drain", "down") and not reason:
        raise BadRequest("you must specify a reason when draining or downing a node")
    if state not in ("drain", "down", "resume", "idle"):
        raise BadRequest(f"state: expected drain, down or resume, got {state!r}")
    admin_state = "" if state in ("resume", "idle") else state
    now = ctl.clock.now()
    await ctl.db.write(lambda c: repo.set_node_state(c, name, admin_state, reason, now))
    ctl.mirror.set_node_admin(name, admin_state, reason)
    ctl.notify()
    return {"name": name, "state": admin_state or "resumed", "reason": reason}
