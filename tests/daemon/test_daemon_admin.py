"""Tokens over TCP, updates of pending jobs, node drain and resume, through a real daemon."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli.client import ApiError
from tests.daemon.harness import CONFIG, Daemon


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


PORT = _free_port()


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    running = Daemon(CONFIG.replace("[daemon]", f'[daemon]\ntcp = "127.0.0.1:{PORT}"'))
    running.start()
    yield running
    running.stop()


def _tcp(method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = None if body is None else json.dumps(body)
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    data = json.loads(response.read())
    connection.close()
    return response.status, data


def test_tcp_needs_a_signed_token_and_the_token_names_the_user(daemon: Daemon) -> None:
    status, reply = _tcp("GET", "/v1/jobs", None)
    assert status == 401
    assert "berth token" in reply["error"]
    status, reply = _tcp("GET", "/v1/jobs", "nobody:65534:99999999999:forged")
    assert (status, reply["code"]) == (401, "unauthenticated")
    token = subprocess.run(
        [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())",
         "token", "nobody", "--home", str(daemon.home)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    body = {"script": "#!/bin/sh\ntrue\n", "workdir": str(daemon.work), "hold": True}
    status, reply = _tcp("POST", "/v1/jobs", token, body)
    assert status == 201, reply
    assert daemon.job(reply["job_id"])["user"] == "nobody"
    # nobody may not touch root's jobs
    mine = daemon.submit("#!/bin/sh\ntrue\n", hold=True)
    status, reply = _tcp("POST", f"/v1/jobs/{mine}/release", token)
    assert status == 403


def test_a_pending_job_can_be_updated_within_the_rules(daemon: Daemon) -> None:
    job_id = daemon.submit("#!/bin/sh\ntrue\n", hold=True, time="30:00")
    client = daemon.client()
    client.request("PATCH", f"/v1/jobs/{job_id}", body={"time": "10:00", "name": "renamed",
                                                        "nice": 5})  # fmt: skip
    job = daemon.job(job_id)
    assert (job["time_limit_s"], job["name"], job["nice"]) == (600, "renamed", 5)
    with pytest.raises(ApiError, match="Requested time limit is invalid"):
        client.request("PATCH", f"/v1/jobs/{job_id}", body={"time": "5:00:00"})
    with pytest.raises(ApiError, match="cannot update"):
        client.request("PATCH", f"/v1/jobs/{job_id}", body={"script": "x"})


def test_draining_a_node_keeps_jobs_pending_until_resumed(daemon: Daemon) -> None:
    client = daemon.client()
    with pytest.raises(ApiError, match="reason"):
        client.request("PATCH", "/v1/nodes/node1", body={"state": "drain"})
    client.request("PATCH", "/v1/nodes/node1", body={"state": "drain", "reason": "maintenance"})
    node = client.get("/v1/nodes")["nodes"][0]
    assert (node["state"], node["reason"]) == ("drain", "maintenance")
    job_id = daemon.submit("#!/bin/sh\ntrue\n")
    time.sleep(1.5)
    assert daemon.job(job_id)["state"] == "PENDING"
    client.request("PATCH", "/v1/nodes/node1", body={"state": "resume"})
    assert daemon.wait_state(job_id)["state"] == "COMPLETED"


def test_a_refused_update_changes_nothing(daemon: Daemon) -> None:
    job_id = daemon.submit("#!/bin/sh\ntrue\n", hold=True, time="30:00", name="keep")
    with pytest.raises(ApiError):
        daemon.client().request("PATCH", f"/v1/jobs/{job_id}",
                                body={"time": "5:00:00", "name": "lost"})  # fmt: skip
    job = daemon.job(job_id)
    assert (job["time_limit_s"], job["name"]) == (1800, "keep")


def test_a_begin_time_holds_the_job_until_then(daemon: Daemon) -> None:
    begin = int(time.time()) + 4
    job_id = daemon.submit("#!/bin/sh\ntrue\n", begin_time=begin)
    daemon.wait_for(lambda: daemon.job(job_id)["reason"] == "BeginTime", what="BeginTime")
    job = daemon.wait_state(job_id)
    assert job["state"] == "COMPLETED"
    assert job["start_time"] >= begin


def test_the_store_keeps_the_inventory_and_the_users_it_has_seen(daemon: Daemon) -> None:
    from sqlalchemy import create_engine, text

    daemon.submit("#!/bin/sh\ntrue\n", hold=True)
    engine = create_engine(f"sqlite:///{daemon.home / 'berth.db'}")
    with engine.connect() as connection:
        gpus = connection.execute(text('SELECT node, "index" FROM gpus ORDER BY 2')).all()
        users = connection.execute(text("SELECT name FROM users")).scalars().all()
    engine.dispose()
    assert [tuple(g) for g in gpus] == [("node1", 0), ("node1", 1)]
    assert "root" in users
