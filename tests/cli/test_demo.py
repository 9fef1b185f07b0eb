"""``berth demo`` shows what the README says it shows: the SLURM-BEHAVIOUR.md backfill scene."""

from __future__ import annotations

import json

import pytest

from cli.main import main


def _plan(policy: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["demo", "--policy", policy, "--json"]) == 0
    plan: dict[str, object] = json.loads(capsys.readouterr().out)
    return plan


@pytest.mark.parametrize("policy", ["easy", "conservative"])
def test_short_job_backfills_next_to_the_one_gpu_jobs(
    policy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _plan(policy, capsys)
    assert plan["starts"] == [
        {"job_id": 9, "backfilled": True, "nodes": [{"node": "n2", "gpus": [2]}]}
    ]
    pending = {entry["job_id"]: entry for entry in plan["pending"]}  # type: ignore[attr-defined]
    assert pending[8]["reason"] == "Resources"
    assert pending[8]["estimated_start"] == 300
    assert pending[8]["planned_nodes"] == ["n1", "n2", "n3", "n4"]
    assert (pending[10]["reason"], pending[10]["estimated_start"]) == ("Priority", 900)


def test_fcfs_lets_nothing_pass_the_big_job(capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan("fcfs", capsys)
    assert plan["starts"] == []
    reasons = {entry["job_id"]: entry["reason"] for entry in plan["pending"]}  # type: ignore[attr-defined]
    assert reasons == {8: "Resources", 9: "Priority", 10: "Priority"}
