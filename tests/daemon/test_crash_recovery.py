"""Kill -9 of the daemon in the middle of a batch loses no job and runs none twice."""

from __future__ import annotations

import threading
from collections import Counter

from cli.client import ApiError, Client
from tests.daemon.harness import CONFIG, TERMINAL, Daemon

BIG_NODE = CONFIG.replace("cpus = 4", "cpus = 16").replace('mem = "4G"', 'mem = "16G"')


def test_sigkill_mid_batch_then_restart_every_job_ends_exactly_once() -> None:
    daemon = Daemon(BIG_NODE)
    ledger = daemon.work / "ledger"
    script = f"#!/bin/sh\necho $SLURM_JOB_ID >> {ledger}\nsleep 0.4\n"
    daemon.start()
    try:
        ids = [daemon.submit(script) for _ in range(200)]

        def some_done() -> bool:
            return ledger.exists() and len(ledger.read_text().split()) >= 40

        daemon.wait_for(some_done, timeout=60, what="40 jobs started")
        daemon.kill9()
        started_before = set(ledger.read_text().split())
        assert len(started_before) < 200  # the kill landed mid-batch
        daemon.start()
        states = {}
        for job_id in ids:
            states[job_id] = daemon.wait_state(job_id, TERMINAL, timeout=120)["state"]
        runs = Counter(int(line) for line in ledger.read_text().split())
        assert set(runs) == set(ids)
        assert max(runs.values()) == 1, [job for job, n in runs.items() if n > 1]
        assert set(states.values()) == {"COMPLETED"}
        client = daemon.client()
        for job_id in ids[::20]:
            events = [e["state"] for e in client.get(f"/v1/jobs/{job_id}/events")["events"]]
            assert events == ["PENDING", "RUNNING", "COMPLETED"], (job_id, events)
    finally:
        daemon.stop()


def test_sigkill_during_a_burst_of_submissions_loses_no_acknowledged_job() -> None:
    daemon = Daemon(BIG_NODE)
    ledger = daemon.work / "burst"
    script = f"#!/bin/sh\necho $SLURM_JOB_ID >> {ledger}\n"
    acknowledged: list[int] = []
    daemon.start()
    try:
        stop = threading.Event()

        def submit_forever() -> None:
            with Client(daemon.socket, timeout=5) as client:
                body = {"script": script, "workdir": str(daemon.work)}
                while not stop.is_set():
                    try:
                        acknowledged.append(client.post("/v1/jobs", body)["job_id"])
                    except ApiError:
                        return  # the daemon died under us: what was acknowledged must survive

        submitter = threading.Thread(target=submit_forever)
        submitter.start()
        daemon.wait_for(lambda: len(acknowledged) >= 30, what="30 acknowledged submissions")
        daemon.kill9()
        stop.set()
        submitter.join(timeout=10)
        daemon.start()
        for job_id in acknowledged:
            assert daemon.wait_state(job_id, TERMINAL, timeout=60)["state"] == "COMPLETED"
        runs = Counter(int(line) for line in ledger.read_text().split())
        assert set(acknowledged) <= set(runs)
        assert max(runs.values()) == 1
    finally:
        daemon.stop()
