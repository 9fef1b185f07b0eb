"""The queries and writes the controller and the API make, as plain functions of a connection.

Each function takes a SQLAlchemy `Connection` (the caller chose the transaction: the writer's
group, a reader's snapshot) and uses SQLAlchemy Core on the sqlmodel tables, which is several
times cheaper per row than ORM objects when a thousand submissions arrive at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, delete, func, or_, select, update

from daemon.records import ACTIVE, JobRecord, from_row, to_row
from daemon.store.tables import (
    AccountRow,
    GpuRow,
    JobEventRow,
    JobRow,
    MetaRow,
    NodeRow,
    StepRow,
    UsageRow,
    UserRow,
)
from scheduler import Cluster


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


JOBS = _table(JobRow)
EVENTS = _table(JobEventRow)
STEPS = _table(StepRow)
NODES = _table(NodeRow)
USAGE = _table(UsageRow)
META = _table(MetaRow)
GPUS = _table(GpuRow)
ACCOUNTS = _table(AccountRow)
USERS = _table(UserRow)


@dataclass(frozen=True, slots=True)
class Event:
    job_id: int
    time: int
    state: str
    reason: str = ""
    message: str = ""


def _columns(record: JobRecord) -> dict[str, Any]:
    return {
        "id": record.job_id,
        "user": record.user,
        "name": record.request.name,
        "state": record.state.value,
        "partition": record.request.partition,
        "array_job_id": record.request.array_job_id,
        "submit_time": record.request.submit_time,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "record": json.dumps(to_row(record), separators=(",", ":")),
    }


def insert_jobs(
    connection: Connection, submissions: Sequence[tuple[Sequence[JobRecord], str, str]]
) -> None:
    """Submissions of (records, script, environment JSON), with one multi-row INSERT for all of
    them: every task of an array shares its script and environment (stored per row, so a task
    can be read alone)."""
    rows = [
        dict(_columns(record), script=script, environment=environment)
        for records, script, environment in submissions
        for record in records
    ]
    connection.execute(JOBS.insert(), rows)
    add_events(
        connection,
        [
            Event(r.job_id, r.request.submit_time, r.state.value, "submitted")
            for records, _, _ in submissions
            for r in records
        ],
    )


def save_jobs(connection: Connection, records: Iterable[JobRecord]) -> None:
    """Write the current state of each record (one UPDATE per record)."""
    for record in records:
        values = _columns(record)
        job_id = values.pop("id")
        connection.execute(update(JOBS).where(JOBS.c.id == job_id).values(values))


def add_events(connection: Connection, events: Sequence[Event]) -> None:
    if events:
        connection.execute(
            EVENTS.insert(),
            [
                {"job_id": e.job_id, "time": e.time, "state": e.state, "reason": e.reason,
                 "message": e.message}
                for e in events
            ],
        )  # fmt: skip


def job_events(connection: Connection, job_id: int) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(EVENTS.c.time, EVENTS.c.state, EVENTS.c.reason, EVENTS.c.message)
        .where(EVENTS.c.job_id == job_id)
        .order_by(EVENTS.c.id)
    )
    return [dict(row._mapping) for row in rows]


def load_active(connection: Connection, finished_since: int) -> list[JobRecord]:
    """Jobs that are pending or running, and those that ended at or after ``finished_since``."""
    rows = connection.execute(
        select(JOBS.c.record).where(
            or_(
                JOBS.c.state.in_([s.value for s in ACTIVE]),
                JOBS.c.end_time >= finished_since,
            )
        )
    )
    return [from_row(json.loads(row[0])) for row in rows]


def load_jobs(connection: Connection, ids: Sequence[int]) -> list[JobRecord]:
    rows = connection.execute(select(JOBS.c.record).where(JOBS.c.id.in_(list(ids))))
    return [from_row(json.loads(row[0])) for row in rows]


def load_launch_inputs(connection: Connection, job_id: int) -> tuple[str, dict[str, str]]:
    row = connection.execute(
        select(JOBS.c.script, JOBS.c.environment).where(JOBS.c.id == job_id)
    ).one()
    return row[0], json.loads(row[1])


def max_job_id(connection: Connection) -> int:
    return int(connection.execute(select(func.max(JOBS.c.id))).scalar() or 0)


def accounting(
    connection: Connection,
    *,
    users: Sequence[str] = (),
    ids: Sequence[int] = (),
    array_ids: Sequence[int] = (),
    names: Sequence[str] = (),
    states: Sequence[str] = (),
    start: int | None = None,
    end: int | None = None,
    limit: int = 100_000,
) -> list[JobRecord]:
    """Jobs for ``sacct``: ``ids`` match a job id or an array's id (every task of it); without
    ids, the jobs that were eligible or running in ``[start, end]`` (Slurm's window)."""
    conditions: list[ColumnElement[bool]] = []
    if users:
        conditions.append(JOBS.c.user.in_(list(users)))
    if ids or array_ids:
        conditions.append(
            or_(JOBS.c.id.in_(list(ids)), JOBS.c.array_job_id.in_(list(array_ids) or list(ids)))
        )
    if names:
        conditions.append(JOBS.c.name.in_(list(names)))
    if states:
        conditions.append(JOBS.c.state.in_(list(states)))
    if start is not None:
        conditions.append(or_(JOBS.c.end_time.is_(None), JOBS.c.end_time >= start))
    if end is not None:
        conditions.append(JOBS.c.submit_time <= end)
    query = select(JOBS.c.record).order_by(JOBS.c.id).limit(limit)
    if conditions:
        query = query.where(and_(*conditions))
    return [from_row(json.loads(row[0])) for row in connection.execute(query)]


def save_steps(connection: Connection, job_id: int, step_id: int, record: dict[str, Any]) -> None:
    connection.execute(
        delete(STEPS).where(and_(STEPS.c.job_id == job_id, STEPS.c.step_id == step_id))
    )
    connection.execute(
        STEPS.insert().values(job_id=job_id, step_id=step_id, record=json.dumps(record))
    )


def steps_of(connection: Connection, job_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    rows = connection.execute(
        select(STEPS.c.job_id, STEPS.c.step_id, STEPS.c.record)
        .where(STEPS.c.job_id.in_(list(job_ids)))
        .order_by(STEPS.c.job_id, STEPS.c.step_id)
    )
    for job_id, step_id, record in rows:
        found.setdefault(job_id, []).append(dict(json.loads(record), step_id=step_id))
    return found


def close_steps(connection: Connection, job_id: int, state: str, now: int) -> None:
    """Steps still RUNNING when their job ends end with it (srun died with the job)."""
    for step_id, record in connection.execute(
        select(STEPS.c.step_id, STEPS.c.record).where(STEPS.c.job_id == job_id)
    ).all():
        step = json.loads(record)
        if step.get("state") == "RUNNING":
            step.update(state=state, end_time=now)
            save_steps(connection, job_id, step_id, step)


def node_states(connection: Connection) -> dict[str, tuple[str, str]]:
    rows = connection.execute(select(NODES.c.name, NODES.c.state, NODES.c.reason))
    return {name: (state, reason) for name, state, reason in rows}


def set_node_state(connection: Connection, name: str, state: str, reason: str, now: int) -> None:
    connection.execute(delete(NODES).where(NODES.c.name == name))
    connection.execute(
        NODES.insert().values(name=name, state=state, reason=reason, updated_at=now)
    )


def save_inventory(connection: Connection, cluster: Cluster, accounts: Sequence[str]) -> None:
    """The configured GPUs (by node and index, with UUID and model) and accounts, as of this
    start: what accounting and ``sinfo`` read about the site even while the daemon is down."""
    connection.execute(delete(GPUS))
    rows = [
        {"node": node.name, "index": gpu.index, "uuid": gpu.uuid, "model": gpu.model,
         "memory_mb": gpu.memory_mb, "health": "ok"}
        for node in cluster.nodes
        for gpu in node.gpus
    ]  # fmt: skip
    if rows:
        connection.execute(GPUS.insert(), rows)
    known = set(connection.execute(select(ACCOUNTS.c.name)).scalars())
    new = [{"name": name, "parent": "root", "shares": 1} for name in accounts if name not in known]
    if new:
        connection.execute(ACCOUNTS.insert(), new)


def remember_user(connection: Connection, name: str, uid: int, account: str) -> None:
    """A user the daemon has seen submit (``sacctmgr list user`` answers from here)."""
    if connection.execute(select(USERS.c.name).where(USERS.c.name == name)).first() is None:
        connection.execute(USERS.insert().values(name=name, uid=uid, default_account=account))


def users(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(USERS.c.name, USERS.c.uid, USERS.c.default_account))
    return [{"name": n, "uid": u, "default_account": a} for n, u, a in rows]


def load_usage(connection: Connection) -> list[tuple[str, str, float, int]]:
    rows = connection.execute(
        select(USAGE.c.user, USAGE.c.account, USAGE.c.usage, USAGE.c.updated_at)
    )
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def save_usage(
    connection: Connection, records: Iterable[tuple[str, str, float]], now: int
) -> None:
    connection.execute(delete(USAGE))
    rows = [{"user": u, "account": a, "usage": v, "updated_at": now} for u, a, v in records]
    if rows:
        connection.execute(USAGE.insert(), rows)
