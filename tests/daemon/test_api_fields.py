"""The listing's ``fields=`` serves every key the commands ask for without building whole
resources (allocation, planned nodes, dependency, paths...), with the same values as the full
resource; ``test_only`` submissions name the id the job would get."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.daemon.harness import Daemon

KEYS = ["job_id", "allocation", "planned_nodes", "dependency", "command", "comment", "gpu_model",
        "eligible_time", "gid", "tasks_given", "stdout", "stderr", "image", "requeue",
        "cancelled_by", "node_list", "state"]  # fmt: skip


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    instance = Daemon()
    instance.start()
    yield instance
    instance.stop()
    shutil.rmtree(instance.home, ignore_errors=True)


def test_fields_match_the_full_resource(daemon: Daemon) -> None:
    running = daemon.submit("#!/bin/sh\nsleep 30\n", comment="c", gpus_per_node=1)
    daemon.wait_state(running, {"RUNNING"})
    waiting = daemon.submit("#!/bin/sh\ntrue\n", dependency=[{"kind": "afterok",
                                                               "job_id": running}])  # fmt: skip
    listed = daemon.client().get("/v1/jobs", ids=f"{running},{waiting}", fields=",".join(KEYS))
    full = {j["job_id"]: j for j in daemon.client().get("/v1/jobs", ids=f"{running},{waiting}")
            ["jobs"]}  # fmt: skip
    for job in listed["jobs"]:
        assert set(job) == set(KEYS)
        assert job == {key: full[job["job_id"]][key] for key in KEYS}
    by_id = {job["job_id"]: job for job in listed["jobs"]}
    assert by_id[running]["allocation"][0]["gpus"] == [0]
    assert by_id[waiting]["dependency"] == f"afterok:{running}"
    daemon.client().post("/v1/jobs/cancel", {"ids": [str(running), str(waiting)]})


def test_test_only_names_the_would_be_id(daemon: Daemon) -> None:
    reply = daemon.client().post("/v1/jobs", {"script": "#!/bin/sh\ntrue\n", "test_only": True,
                                              "workdir": str(daemon.work)})  # fmt: skip
    assert reply["job_id"] is None
    submitted = daemon.submit("#!/bin/sh\ntrue\n")
    assert reply["would_be_job_id"] == submitted
