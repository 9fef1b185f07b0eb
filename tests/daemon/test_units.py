"""Unit tables for the daemon's pure pieces: submissions, records, final states, tokens,
settings, migrations, the OpenAPI document."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from daemon.app import create_app
from daemon.auth import AuthError, Caller, issue_token, verify_token
from daemon.clock import ManualClock
from daemon.controller import Controller
from daemon.ending import outcome
from daemon.executors.base import EndCause, RunEnd, RunKey
from daemon.records import ArraySpec, JobRecord, SignalSpec, from_row, to_row
from daemon.settings import Settings, settings_from_mapping
from daemon.site import Site
from daemon.store.database import Database
from daemon.store.migrations import SchemaTooNew
from daemon.submission import SubmitError, parse_submission
from scheduler import (
    Allocation,
    Cluster,
    ConfigError,
    Dependency,
    DependencyKind,
    Hold,
    JobRequest,
    JobState,
    Node,
    NodeAllocation,
    Partition,
    Policy,
)

CLUSTER = Cluster(
    nodes=(Node(name="a", cpus=8, mem_mb=16384, partitions=("p",)),
           Node(name="b", cpus=4, mem_mb=16384, partitions=("p",))),
    partitions=(Partition(name="p", nodes=("a", "b"), default=True, max_time_s=7200,
                          default_time_s=600),),
)  # fmt: skip
USER = Caller(uid=1000, gid=1000, user="alice", admin=False)


def site(tmp_path: Path, **settings: Any) -> Site:
    return Site(settings=Settings(home=tmp_path, **settings), cluster=CLUSTER, policy=Policy())


def body(**keys: Any) -> dict[str, Any]:
    return {"script": "#!/bin/sh\ntrue\n", "workdir": "/tmp", **keys}


@pytest.mark.parametrize(
    ("keys", "field", "expected"),
    [
        ({}, "time_limit_s", 600),  # the partition's default
        ({"time": "1:30:00"}, "time_limit_s", 5400),
        ({"time": 90}, "time_limit_s", 5400),  # an int is minutes, as sbatch -t 90
        ({"time": "UNLIMITED"}, "time_limit_s", 7200),  # capped by the partition
        ({}, "mem_mb", 2048),  # default: the smallest mem/cpu ratio (a: 2048, b: 4096) x 1 cpu
        ({"mem": "4G"}, "mem_mb", 4096),
        ({"mem": 0}, "mem_mb", 16384),  # --mem=0: a whole node
        ({"mem_per_cpu": "1G", "cpus_per_task": 3}, "mem_mb", 3072),
        ({"tasks_per_node": 2, "nodes": 2}, "tasks", 4),
        ({"gpus": 4, "nodes": 2}, "gpus_per_node", 2),
        ({"hold": True}, "hold", Hold.USER),
        ({"array": {"indices": [3, 1, 2, 3], "throttle": 2}}, "array_indices", (1, 2, 3)),
        ({"open_mode": "append"}, "append", True),
    ],
)
def test_submission_translates_slurm_requests(
    tmp_path: Path, keys: dict[str, Any], field: str, expected: Any
) -> None:
    draft = parse_submission(body(**keys), caller=USER, site=site(tmp_path))
    assert getattr(draft, field) == expected


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"script": "echo hi\n"}, "must start with #!"),
        ({"script": "#!/bin/sh\r\ntrue\r\n"}, "DOS line breaks"),
        ({"script": "   "}, "empty"),
        ({"workdir": "relative"}, "not an absolute path"),
        ({"partition": "nope"}, "invalid partition name"),
        ({"time": "soon"}, "Invalid time limit"),
        ({"mem": "lots"}, "Invalid memory"),
        ({"gpus": 3, "nodes": 2}, "spread evenly"),
        ({"nice": -5}, "administrator"),
        ({"array": {"indices": [1001]}}, "MaxArraySize=1001"),
        ({"dependency": [{"kind": "afterwards", "job_id": 1}]}, "kind one of"),
        ({"bogus": 1}, "unknown key(s) bogus"),
    ],
)
def test_malformed_submissions_are_refused_naming_the_key(
    tmp_path: Path, keys: dict[str, Any], message: str
) -> None:
    with pytest.raises(SubmitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_submission(body(**keys), caller=USER, site=site(tmp_path))


def test_a_record_survives_the_round_trip_through_its_json_row() -> None:
    request = JobRequest(
        job_id=7, user="alice", submit_time=100, time_limit_s=60, name="x", nodes=2, tasks=4,
        dependencies=(Dependency(kind=DependencyKind.AFTEROK, job_id=3),
                      Dependency(kind=DependencyKind.SINGLETON)),
        hold=Hold.ADMIN, array_job_id=5, array_task_id=2, features=("nvlink",),
    )  # fmt: skip
    record = JobRecord(
        request=request, uid=1000, gid=100, state=JobState.RUNNING, start_time=150,
        allocation=Allocation(nodes=(NodeAllocation(node="a", cpus=2, mem_mb=10,
                                                    gpu_indices=(0, 1)),)),
        signal=SignalSpec(signum=10, before_s=30, batch_only=True),
        array=ArraySpec(count=3, minimum=0, maximum=4, step=2), argv=("--x",),
        planned_nodes=("a",),
    )  # fmt: skip
    assert from_row(to_row(record)) == record


def _ended(intent: str = "", requeue: bool = True, **end: Any) -> JobState:
    request = JobRequest(job_id=1, user="u", submit_time=0, time_limit_s=60, requeue=requeue)
    record = JobRecord(request=request, uid=0, gid=0, intent=intent)
    return outcome(record, RunEnd(key=RunKey(job_id=1), **end)).state


@pytest.mark.parametrize(
    ("intent", "requeue", "end", "state"),
    [
        ("", True, {"cause": EndCause.EXITED}, JobState.COMPLETED),
        ("", True, {"cause": EndCause.EXITED, "exit_code": 3}, JobState.FAILED),
        ("", True, {"cause": EndCause.EXITED, "signal": 9}, JobState.FAILED),
        ("", True, {"cause": EndCause.TIMEOUT, "signal": 15}, JobState.TIMEOUT),
        ("", True, {"cause": EndCause.OOM, "signal": 9}, JobState.OUT_OF_MEMORY),
        ("", True, {"cause": EndCause.LAUNCH_FAILED}, JobState.FAILED),
        ("", True, {"cause": EndCause.LOST}, JobState.PENDING),  # requeued
        ("", False, {"cause": EndCause.LOST}, JobState.NODE_FAIL),
        ("cancel", True, {"cause": EndCause.KILLED, "signal": 15}, JobState.CANCELLED),
        ("cancel", True, {"cause": EndCause.EXITED}, JobState.CANCELLED),  # raced its own end
        ("requeue", True, {"cause": EndCause.KILLED}, JobState.PENDING),
        ("preempt", False, {"cause": EndCause.KILLED}, JobState.PREEMPTED),
    ],
)
def test_final_states_follow_slurm(intent: str, requeue: bool, end: dict[str, Any],
                                   state: JobState) -> None:  # fmt: skip
    assert _ended(intent, requeue, **end) == state


def test_tokens_are_signed_and_expire() -> None:
    key = os.urandom(32)
    token = issue_token(key, "alice", 1000, expiry=200)
    assert verify_token(key, token, now=100) == ("alice", 1000)
    with pytest.raises(AuthError, match="expired"):
        verify_token(key, token, now=300)
    with pytest.raises(AuthError, match="signature"):
        verify_token(os.urandom(32), token, now=100)
    forged = token.replace("alice:1000", "root:0")
    with pytest.raises(AuthError, match="signature"):
        verify_token(key, forged, now=100)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kill_wait": -1}, "kill_wait"),
        ({"executor": "kubernetes"}, "expected one of auto, process, docker"),
        ({"admins": "alice"}, "list of user names"),
        ({"tcp": "localhost"}, "HOST:PORT"),
        ({"sockett": "/x"}, "unknown key"),
    ],
)
def test_bad_daemon_settings_name_the_key(tmp_path: Path, table: dict[str, Any], message: str
                                          ) -> None:  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping(tmp_path, table, source="berth.toml")


def test_migrations_create_the_schema_once_and_refuse_a_newer_store(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/s.db")
    assert database.migrate() == 0
    assert database.migrate() == 1  # already current: nothing to do
    database.write_now(lambda c: c.execute(
        text("UPDATE meta SET value = '99' WHERE key = 'schema_version'")))  # fmt: skip
    with pytest.raises(SchemaTooNew, match="newer than this Berth"):
        database.migrate()
    mode = database.read_now(lambda c: c.exec_driver_sql("PRAGMA journal_mode").scalar())
    assert mode == "wal"
    database.close()


def test_every_route_is_in_the_openapi_document(tmp_path: Path) -> None:
    from daemon.api.openapi import document

    database = Database(f"sqlite:///{tmp_path}/s.db")
    controller = Controller(site(tmp_path), database, None, ManualClock())  # type: ignore[arg-type]
    app = create_app(controller, background=False)
    paths = document(app)["paths"]
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        info = route.resource.get_info()
        path = info.get("path") or info["formatter"]
        assert route.method.lower() in paths[path], path
    database.close()
