"""Kill -9 of the daemon in the middle of a batch loses no job and runs none twice."""

from __future__ import annotations

from collections import Counter

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
