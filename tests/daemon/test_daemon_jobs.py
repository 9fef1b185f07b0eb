"""End to end through a real daemon: real shell jobs, over the unix socket."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.client import ApiError, Client
from tests.daemon.harness import Daemon

SH = "#!/bin/sh\n"


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    running = Daemon()
    running.start()
    yield running
    running.stop()


def test_a_job_runs_to_completion_with_its_output_and_slurm_environment(daemon: Daemon) -> None:
    job_id = daemon.submit(SH + 'echo "hello $SLURM_JOB_ID $SLURM_JOB_NAME $SLURM_SUBMIT_DIR"\n',
                           name="hello")  # fmt: skip
    job = daemon.wait_state(job_id)
    assert (job["state"], job["exit_code"], job["exit_signal"]) == ("COMPLETED", 0, 0)
    assert job["node_list"] == "node1"
    output = Path(daemon.work, f"slurm-{job_id}.out").read_text()
    assert output == f"hello {job_id} hello {daemon.work}\n"
    assert job["start_time"] is not None
    assert job["end_time"] >= job["start_time"]


def test_exit_codes_and_signals_are_recorded_as_slurm_does(daemon: Daemon) -> None:
    failed = daemon.submit(SH + "exit 3\n")
    killed = daemon.submit(SH + "kill -9 $$\n")
    job = daemon.wait_state(failed)
    assert (job["state"], job["exit_code"], job["exit_signal"]) == ("FAILED", 3, 0)
    job = daemon.wait_state(killed)
    assert (job["state"], job["exit_code"], job["exit_signal"]) == ("FAILED", 0, 9)


def test_cancel_a_running_job_records_who_cancelled(daemon: Daemon) -> None:
    job_id = daemon.submit(SH + "sleep 60\n")
    daemon.wait_state(job_id, {"RUNNING"})
    result = daemon.client().post("/v1/jobs/cancel", {"ids": [str(job_id)]})
    assert result["cancelled"] == [job_id]
    job = daemon.wait_state(job_id)
    assert job["state"] == "CANCELLED"
    assert job["cancelled_by"] == os.geteuid()


def test_a_job_past_its_time_limit_times_out(daemon: Daemon) -> None:
    job_id = daemon.submit(SH + "sleep 60\n", time="0:02")  # M:S, two seconds
    job = daemon.wait_state(job_id, timeout=30)
    assert job["state"] == "TIMEOUT"
    assert 2 <= job["end_time"] - job["start_time"] <= 6


def test_hold_and_release(daemon: Daemon) -> None:
    job_id = daemon.submit(SH + "true\n", hold=True)
    time.sleep(1.5)
    job = daemon.job(job_id)
    assert (job["state"], job["reason"]) == ("PENDING", "JobHeldUser")
    daemon.client().post(f"/v1/jobs/{job_id}/release")
    assert daemon.wait_state(job_id)["state"] == "COMPLETED"


def test_array_with_throttle_runs_every_task_at_most_two_at_once(daemon: Daemon) -> None:
    log = daemon.work / "array.log"
    script = SH + (
        f'echo "start $SLURM_ARRAY_TASK_ID $(date +%s.%N)" >> {log}\n'
        "sleep 0.6\n"
        f'echo "end $SLURM_ARRAY_TASK_ID $(date +%s.%N)" >> {log}\n'
    )
    array_id = daemon.submit(
        script, array={"indices": [0, 1, 2, 3, 4], "throttle": 2}, cpus_per_task=1
    )
    tasks = daemon.client().get("/v1/jobs", ids=str(array_id), all="1")["jobs"]
    assert [t["array_task_id"] for t in tasks] == [0, 1, 2, 3, 4]
    assert all(t["array_job_id"] == array_id for t in tasks)
    for task in tasks:
        assert daemon.wait_state(task["job_id"])["state"] == "COMPLETED"
    events = sorted(
        (float(stamp), kind)
        for kind, _, stamp in (line.split() for line in log.read_text().splitlines())
    )
    running = peak = 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak <= 2
    first = tasks[0]["job_id"]
    assert Path(daemon.work, f"slurm-{array_id}_0.out").exists()
    assert first == array_id


def test_dependencies_afterok_waits_and_never_satisfied_is_reported(daemon: Daemon) -> None:
    marker = daemon.work / "dep.order"
    first = daemon.submit(SH + f"sleep 1; echo first >> {marker}\n")
    second = daemon.submit(SH + f"echo second >> {marker}\n",
                           dependency=[{"kind": "afterok", "job_id": first}])  # fmt: skip
    assert daemon.wait_state(second)["state"] == "COMPLETED"
    assert marker.read_text() == "first\nsecond\n"
    failing = daemon.submit(SH + "exit 1\n")
    never = daemon.submit(SH + "true\n", dependency=[{"kind": "afterok", "job_id": failing}])
    daemon.wait_state(failing)
    daemon.wait_for(lambda: daemon.job(never)["reason"] == "DependencyNeverSatisfied",
                    what="DependencyNeverSatisfied")  # fmt: skip
    daemon.client().post("/v1/jobs/cancel", {"ids": [str(never)]})


def test_an_impossible_request_is_refused_at_submit_with_slurms_words(daemon: Daemon) -> None:
    with pytest.raises(ApiError) as refused:
        daemon.submit(SH + "true\n", gpus_per_node=3)
    assert refused.value.status == 400
    assert "Requested node configuration is not available" in refused.value.message
    with pytest.raises(ApiError) as malformed:
        daemon.submit("echo no shebang\n")
    assert "#!" in malformed.value.message


def test_requeue_runs_the_job_again_under_the_same_id(daemon: Daemon) -> None:
    marker = daemon.work / "requeue.count"
    job_id = daemon.submit(SH + f'echo "run $SLURM_RESTART_COUNT" >> {marker}\nsleep 30\n')
    daemon.wait_state(job_id, {"RUNNING"})
    daemon.wait_for(marker.exists, what="first run")
    daemon.client().post(f"/v1/jobs/{job_id}/requeue")
    daemon.wait_for(lambda: marker.read_text().count("run") == 2, what="second run")
    job = daemon.wait_state(job_id, {"RUNNING"})
    assert job["restart_count"] == 1
    assert marker.read_text() == "run \nrun 1\n"  # SLURM_RESTART_COUNT unset on the first run
    daemon.client().post("/v1/jobs/cancel", {"ids": [str(job_id)]})
    assert daemon.wait_state(job_id)["state"] == "CANCELLED"


def test_accounting_keeps_finished_jobs_with_their_events(daemon: Daemon) -> None:
    job_id = daemon.submit(SH + "true\n", name="acct-me")
    daemon.wait_state(job_id)
    jobs = daemon.client().get("/v1/accounting", name="acct-me")["jobs"]
    assert [j["job_id"] for j in jobs] == [job_id]
    events = daemon.client().get(f"/v1/jobs/{job_id}/events")["events"]
    assert [e["state"] for e in events] == ["PENDING", "RUNNING", "COMPLETED"]


def test_metrics_and_openapi_describe_the_daemon(daemon: Daemon) -> None:
    client = daemon.client()
    document = client.get("/v1/openapi.json")
    assert "post" in document["paths"]["/v1/jobs"]
    assert "/v1/jobs/{id}/requeue" in document["paths"]
    status, body = client.raw("GET", "/metrics")
    assert status == 200
    text = body.decode()
    assert "# TYPE berth_jobs gauge" in text
    assert 'berth_gpus{node="node1",state="free"}' in text


def _as_nobody(daemon: Daemon, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """Call the daemon as uid 65534 (needs root): a forked child drops to that user, so the
    daemon sees its credentials on the socket. Returns (HTTP status, reply or error text)."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            with Client(daemon.socket, timeout=10) as client:
                try:
                    answer = [200, client.request(method, path, body=body)]
                except ApiError as err:
                    answer = [err.status, err.message]
            os.write(write_end, json.dumps(answer).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        data = stream.read()
    os.waitpid(child, 0)
    status, reply = json.loads(data)
    return status, reply


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root (CI runs as root)")
def test_a_user_cannot_cancel_another_users_job(daemon: Daemon) -> None:
    job_id = daemon.submit(SH + "sleep 30\n")
    status, message = _as_nobody(daemon, "POST", "/v1/jobs/cancel", {"ids": [str(job_id)]})
    assert status == 403
    assert message.startswith("Access/permission denied"), message
    assert daemon.job(job_id)["state"] in ("PENDING", "RUNNING")
    body = {"script": "#!/bin/sh\nid -u\n", "workdir": str(daemon.work)}
    status, reply = _as_nobody(daemon, "POST", "/v1/jobs", body)
    assert status == 200, reply  # the helper reports any success as 200
    nobody_job = reply["job_id"]
    assert daemon.wait_state(nobody_job)["state"] == "COMPLETED"
    assert daemon.job(nobody_job)["user"] == "nobody"
    assert Path(daemon.work, f"slurm-{nobody_job}.out").read_text() == "65534\n"
    daemon.client().post("/v1/jobs/cancel", {"ids": [str(job_id)]})


def _step_job(daemon: Daemon, tag: str) -> tuple[str, Path, Path]:
    """A batch script whose one step (a Python process registered like srun) records a USR1,
    and whose batch shell traps USR1 too: which one got it says where the signal went."""
    marker, ready = daemon.work / f"{tag}.signals", daemon.work / f"{tag}.ready"
    repo_root = Path(__file__).resolve().parents[2]
    step = (
        "import os, signal, sys, time\n"
        "from cli.client import Client\n"
        f"def got(*_):\n    open({str(marker)!r}, 'a').write('step got USR1\\n'); sys.exit(0)\n"
        "signal.signal(signal.SIGUSR1, got)\n"
        "client = Client(os.environ['BERTH_SOCKET'])\n"
        "path = '/v1/jobs/' + os.environ['SLURM_JOB_ID'] + '/steps'\n"
        "reply = client.post(path, {'name': 'py', 'pid': os.getpid(), 'ntasks': 1})\n"
        f"open({str(ready)!r}, 'w').write(str(reply['step_id']))\n"
        "time.sleep(30)\n"
    )
    (daemon.work / f"{tag}.py").write_text(step)
    script = SH + (
        f"trap 'echo batch got USR1 >> {marker}' USR1\n"
        f"PYTHONPATH={repo_root} {sys.executable} {daemon.work / f'{tag}.py'}\n"
    )
    return script, marker, ready


def test_scancel_signal_reaches_registered_steps_not_the_batch_shell(daemon: Daemon) -> None:
    script, marker, ready = _step_job(daemon, "scancel")
    job_id = daemon.submit(script)
    daemon.wait_for(ready.exists, what="the step registered")
    assert ready.read_text() == "0"
    result = daemon.client().post("/v1/jobs/cancel", {"ids": [str(job_id)], "signal": 10})
    assert result["signalled"] == [job_id]
    assert daemon.wait_state(job_id)["state"] == "COMPLETED"
    assert marker.read_text() == "step got USR1\n"  # the batch shell's trap never ran
    steps = daemon.job(job_id)["steps"]
    assert [s["step_id"] for s in steps] == ["batch", "0"]
    assert steps[0]["state"] == "COMPLETED"


def test_signal_before_the_time_limit_goes_to_the_steps(daemon: Daemon) -> None:
    script, marker, _ = _step_job(daemon, "warning")
    job_id = daemon.submit(script, time="0:12", signal={"signum": 10, "seconds": 10})
    job = daemon.wait_state(job_id, timeout=30)
    assert job["state"] == "COMPLETED"  # the step exited on the warning, before the limit
    assert marker.read_text() == "step got USR1\n"
    assert job["end_time"] - job["start_time"] < 10


def test_a_listing_can_ask_for_only_some_fields(daemon: Daemon) -> None:
    job_id = daemon.submit(SH + "true\n", hold=True, name="few")
    jobs = daemon.client().get("/v1/jobs", ids=str(job_id), fields="job_id,state,reason,steps")
    assert jobs["jobs"] == [{"job_id": job_id, "state": "PENDING", "reason": "JobHeldUser",
                             "steps": []}]  # fmt: skip
    daemon.client().post("/v1/jobs/cancel", {"ids": [str(job_id)]})


def test_cancel_right_after_a_start_is_never_lost(daemon: Daemon) -> None:
    """A cancel that lands between "recorded RUNNING" and "process started" must still end
    the job (CANCELLED, and its process gone), whichever side of the launch it falls on."""
    marker = daemon.work / "late-cancel"
    ids = [daemon.submit(SH + f"echo $SLURM_JOB_ID >> {marker}\nsleep 30\n") for _ in range(4)]
    client = daemon.client()
    pending = set(ids)
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        jobs = client.get("/v1/jobs", ids=",".join(map(str, pending)), fields="job_id,state")
        for job in jobs["jobs"]:
            if job["state"] == "RUNNING":  # cancel at the first sight of RUNNING
                client.post("/v1/jobs/cancel", {"ids": [str(job["job_id"])]})
                pending.discard(job["job_id"])
    assert not pending
    for job_id in ids:
        assert daemon.wait_state(job_id, timeout=20)["state"] == "CANCELLED"


def test_an_uneven_array_tells_each_task_its_count_min_and_max(daemon: Daemon) -> None:
    script = SH + ('echo "$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT $SLURM_ARRAY_TASK_MIN '
                   '$SLURM_ARRAY_TASK_MAX $SLURM_ARRAY_TASK_STEP"\n')  # fmt: skip
    array_id = daemon.submit(script, array={"indices": [1, 3, 10]}, output="uneven-%a.out")
    tasks = daemon.client().get("/v1/jobs", ids=str(array_id), all="1")["jobs"]
    for task in tasks:
        daemon.wait_state(task["job_id"])
    found = [Path(daemon.work, f"uneven-{i}.out").read_text() for i in (1, 3, 10)]
    assert found == ["1 3 1 10 1\n", "3 3 1 10 1\n", "10 3 1 10 1\n"]
