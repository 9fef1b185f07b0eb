"""A real daemon in a subprocess on a temporary BERTH_HOME, for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.client import ApiError, Client

CONFIG = """
[daemon]
pass_debounce = 0
pass_interval = 1
kill_wait = 1
requeue_delay = 0
min_job_age = 600

[[nodes]]
name = "node1"
cpus = 4
mem = "4G"
gpus = 2

[[partitions]]
name = "main"
nodes = ["node1"]
default = true
max_time = "1:00:00"
default_time = "10:00"
"""

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
            "PREEMPTED"}  # fmt: skip


class Daemon:
    def __init__(self, config: str = CONFIG) -> None:
        # Not under pytest's tmp_path: its parents are private to root, and tests also connect
        # and run jobs as an unprivileged user.
        self.home = Path(tempfile.mkdtemp(prefix="berth-test-"))
        self.home.chmod(0o755)
        (self.home / "berth.toml").write_text(config)
        self.work = self.home / "work"
        self.work.mkdir()
        self.work.chmod(0o777)
        self.process: subprocess.Popen[bytes] | None = None
        self._client: Client | None = None
        self.log = self.home / "daemon.log"

    @property
    def socket(self) -> str:
        return str(self.home / "berth.sock")

    def start(self, timeout: float = 20.0) -> None:
        env = dict(os.environ, BERTH_HOME=str(self.home))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c",
                 "import sys; from cli.main import main; sys.exit(main(['daemon']))"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited: {self.log.read_text()}")
            try:
                with Client(self.socket, timeout=2) as probe:
                    probe.get("/v1/config")
                return
            except ApiError:
                time.sleep(0.05)
        raise RuntimeError(f"daemon did not answer: {self.log.read_text()}")

    def kill9(self) -> None:
        assert self.process is not None
        self.close_client()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def stop(self) -> None:
        self.close_client()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.socket, timeout=30)
        return self._client

    def submit(self, script: str, **options: Any) -> int:
        body = {
            "script": script,
            "workdir": str(self.work),
            "environment": {"PATH": "/usr/bin:/bin"},
        }
        body.update(options)
        job_id: int = self.client().post("/v1/jobs", body)["job_id"]
        return job_id

    def job(self, job_id: int | str) -> dict[str, Any]:
        jobs: list[dict[str, Any]] = self.client().get(f"/v1/jobs/{job_id}")["jobs"]
        return jobs[0]

    def wait_for(self, check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or check}; log: {self.log.read_text()}")

    def wait_state(self, job_id: int, states: set[str] | None = None, timeout: float = 30.0
                   ) -> dict[str, Any]:  # fmt: skip
        wanted = states or TERMINAL
        found: dict[str, Any] = {}

        def reached() -> bool:
            found.update(self.job(job_id))
            return found["state"] in wanted

        self.wait_for(reached, timeout, f"job {job_id} in {sorted(wanted)}")
        return found
