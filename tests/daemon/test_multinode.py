"""Three `berth node` agents on loopback serve a controller; one host dies mid-job and its job
is requeued and finishes on another node."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.daemon.harness import Daemon

PYTHON = [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _config(port: int) -> str:
    nodes = "\n".join(
        f'[[nodes]]\nname = "n{i}"\ncpus = 2\nmem = "2G"\n'
        f'gpus = [{{ index = 0, uuid = "GPU-n{i}-0", model = "t4" }}]\n'
        for i in (1, 2, 3)
    )
    return f"""
[daemon]
node_name = ""
tcp = "127.0.0.1:{port}"
pass_debounce = 0
pass_interval = 1
kill_wait = 1
requeue_delay = 0
heartbeat_timeout = 3

{nodes}
[[partitions]]
name = "main"
nodes = ["n1", "n2", "n3"]
default = true
"""


def _kill_host(pid_file: Path) -> None:
    """What a crashed host looks like: the job and its supervisor gone without a word."""
    pid = int(pid_file.read_text())
    stat = Path(f"/proc/{pid}/stat").read_text()
    shepherd = int(stat.rsplit(")", 1)[1].split()[1])
    os.kill(shepherd, signal.SIGKILL)
    os.killpg(os.getpgid(pid), signal.SIGKILL)


def test_a_dead_node_is_marked_down_and_its_job_finishes_elsewhere() -> None:
    port = _free_port()
    daemon = Daemon(_config(port))
    daemon.start()
    agents: dict[str, subprocess.Popen[bytes]] = {}
    try:
        issued = subprocess.run([*PYTHON, "token", "root", "--home", str(daemon.home)],
                                capture_output=True, text=True, check=True)  # fmt: skip
        token = issued.stdout.strip()
        for name in ("n1", "n2", "n3"):
            with (daemon.home / f"agent-{name}.log").open("wb") as log:
                agents[name] = subprocess.Popen(
                    [*PYTHON, "node", "--controller", f"http://127.0.0.1:{port}", "--name", name,
                     "--token", token, "--home", str(daemon.home / f"agent-{name}")],
                    stdout=subprocess.DEVNULL, stderr=log,
                )  # fmt: skip
        ledger, pid_file = daemon.work / "ledger", daemon.work / "job.pid"
        script = (
            "#!/bin/sh\n"
            f'echo "$SLURM_JOB_NODELIST $CUDA_VISIBLE_DEVICES" >> {ledger}\n'
            f"echo $$ > {pid_file}\n"
            "sleep 4\n"
        )
        job_id = daemon.submit(script, gpus_per_node=1)
        first = daemon.wait_state(job_id, {"RUNNING"})["node_list"]
        daemon.wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "",
                        what="the job's pid")  # fmt: skip
        agents[first].send_signal(signal.SIGKILL)
        _kill_host(pid_file)

        def node_down() -> bool:
            nodes = daemon.client().get("/v1/nodes")["nodes"]
            return any(n["name"] == first and n["state"] == "down" for n in nodes)

        daemon.wait_for(node_down, timeout=20, what=f"{first} DOWN")
        job = daemon.wait_state(job_id, {"COMPLETED", "FAILED", "NODE_FAIL"}, timeout=40)
        assert job["state"] == "COMPLETED"
        assert job["restart_count"] == 1
        assert job["node_list"] != first
        runs = ledger.read_text().splitlines()
        assert [line.split()[0] for line in runs] == [first, job["node_list"]]
        assert all(line.split()[1] == "0" for line in runs)  # GPU 0 of each node
        reason = next(n for n in daemon.client().get("/v1/nodes")["nodes"] if n["name"] == first)
        assert reason["reason"] == "Not responding"
    finally:
        for agent in agents.values():
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
                agent.wait(timeout=20)
        daemon.stop()
