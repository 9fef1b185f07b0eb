"""The store's tables (sqlmodel). Bump `SCHEMA_VERSION` and add a step to
`daemon.store.migrations` for every change, from the first release on.

A job's searchable facts (user, state, name, times) are columns with indexes for ``sacct`` and
``squeue`` filters; the rest of its record is one JSON column that `daemon.records` reads and
writes, so adding a field to a job needs no migration. The script and the environment are
separate columns read only at launch.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 1


class JobRow(SQLModel, table=True):
    __tablename__ = "jobs"
    id: int = Field(primary_key=True)
    user: str = Field(index=True)
    name: str = Field(index=True)
    state: str = Field(index=True)
    partition: str
    array_job_id: int | None = Field(default=None, index=True)
    submit_time: int
    start_time: int | None = None
    end_time: int | None = Field(default=None, index=True)
    record: str  # JSON: daemon.records.to_row
    script: str
    environment: str  # JSON object


class JobEventRow(SQLModel, table=True):
    """Every state change of every job, with time and reason (``sacct`` history, audits)."""

    __tablename__ = "job_events"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(index=True)
    time: int
    state: str
    reason: str = ""
    message: str = ""


class StepRow(SQLModel, table=True):
    """A job step (``srun`` inside a job): ``<job>.<step>`` rows in ``sacct``."""

    __tablename__ = "steps"
    job_id: int = Field(primary_key=True)
    step_id: int = Field(primary_key=True)
    record: str  # JSON: name, state, exit code, signal, times, node list, pids


class NodeRow(SQLModel, table=True):
    """Administrative node state (``scontrol update state=drain reason=...``); the nodes' sizes
    come from the configuration, not from here."""

    __tablename__ = "nodes"
    name: str = Field(primary_key=True)
    state: str = ""  # "" (as configured), "drain" or "down"
    reason: str = ""
    updated_at: int = 0


class GpuRow(SQLModel, table=True):
    __tablename__ = "gpus"
    node: str = Field(primary_key=True)
    index: int = Field(primary_key=True)
    uuid: str = ""
    model: str = ""
    memory_mb: int = 0
    health: str = "ok"


class UsageRow(SQLModel, table=True):
    """Decayed fair-share usage of one association, as of ``updated_at``."""

    __tablename__ = "usage"
    user: str = Field(primary_key=True)
    account: str = Field(primary_key=True)
    usage: float = 0.0
    updated_at: int = 0


class AccountRow(SQLModel, table=True):
    __tablename__ = "accounts"
    name: str = Field(primary_key=True)
    parent: str = "root"
    shares: int = 1


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    name: str = Field(primary_key=True)
    uid: int | None = None
    default_account: str = ""
    shares: int = 1


class MetaRow(SQLModel, table=True):
    """Key/value facts of the store itself: ``schema_version``, ``next_job_id``."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str
