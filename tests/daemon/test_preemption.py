"""QOS preemption through a real daemon: a job of a QOS that may preempt requeues a running
job of a lower QOS, starts on its resources, and the victim runs again afterwards."""

from __future__ import annotations

from tests.daemon.harness import CONFIG, Daemon

LIMITS = """
qos:
  normal: {}
  low: {}
  high: {priority: 100, preempt: [low]}
"""


def test_a_high_qos_job_requeues_a_low_qos_job_and_both_complete() -> None:
    daemon = Daemon(CONFIG + "\n[policy]\npreemption = true\n")
    (daemon.home / "limits.yaml").write_text(LIMITS)
    ledger = daemon.work / "preempt.ledger"
    daemon.start()
    try:
        low = daemon.submit(
            "#!/bin/sh\n"
            f'echo "low ${{SLURM_RESTART_COUNT:-0}}" >> {ledger}\n'
            '[ -n "$SLURM_RESTART_COUNT" ] || sleep 30\n',
            qos="low", cpus_per_task=4,
        )  # fmt: skip
        daemon.wait_state(low, {"RUNNING"})
        high = daemon.submit(f"#!/bin/sh\necho high >> {ledger}\nsleep 1\n", qos="high",
                             cpus_per_task=4)  # fmt: skip
        assert daemon.wait_state(high)["state"] == "COMPLETED"
        victim = daemon.wait_state(low)
        assert (victim["state"], victim["restart_count"]) == ("COMPLETED", 1)
        assert ledger.read_text().splitlines() == ["low 0", "high", "low 1"]
        events = [e["message"] or e["reason"]
                  for e in daemon.client().get(f"/v1/jobs/{low}/events")["events"]]  # fmt: skip
        assert any(f"preempted by {high}" in text for text in events), events
    finally:
        daemon.stop()
