"""The Docker executor beyond the shared contract, against the real engine and the busybox test
image: limits seen from inside, isolation, the environment, GPUs without the NVIDIA runtime,
OOM, images, output files, adoption after the daemon is SIGKILLed, transient engine errors,
and the executor the daemon picks. Nothing of the engine is mocked."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
import requests

from cli.client import ApiError
from daemon.executors.base import EndCause, Executor, LaunchSpec, RunEnd, RunKey
from daemon.executors.docker import DockerExecutor
from daemon.executors.dockerevents import connect_engine
from daemon.executors.process import ProcessExecutor
from daemon.executors.routing import RoutingExecutor
from daemon.settings import DockerSettings
from tests.daemon.executors.dockerhost import (
    SETTINGS,
    TEST_IMAGE,
    check_engine,
    docker_executor,
    needs_docker,
    node_for,
    remove_containers,
    remove_containers_of,
)
from tests.daemon.executors.test_contract import SH, run, spec_for, wait_for_text
from tests.daemon.harness import CONFIG, Daemon

pytestmark = needs_docker
KEY = RunKey(job_id=1)
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def engine(tmp_path: Path) -> Iterator[None]:
    check_engine()
    yield
    remove_containers(tmp_path)


class Watching:
    """A started executor recording the ends it reports; stopped on exit."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.ends: list[RunEnd] = []

    async def __aenter__(self) -> Self:
        await self.executor.start(self._on_end)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:  # fmt: skip
        await self.executor.stop()

    async def _on_end(self, end: RunEnd) -> None:
        self.ends.append(end)

    async def end_of(self, job_id: int, timeout_s: float = 10.0) -> RunEnd:
        deadline = time.monotonic() + timeout_s
        while not (found := [end for end in self.ends if end.key.job_id == job_id]):
            assert time.monotonic() < deadline, f"no end for job {job_id} in {timeout_s} s"
            await asyncio.sleep(0.02)
        return found[0]


def _end(executor: Executor, spec: LaunchSpec) -> RunEnd:
    ends: list[RunEnd] = []

    async def scenario() -> None:
        async with Watching(executor) as watching:
            await executor.launch(spec)
            ends.append(await watching.end_of(spec.key.job_id))

    run(scenario())
    return ends[0]


def _output(root: Path) -> str:
    return (root / "work" / "out.txt").read_text()


def _containers(root: Path) -> list[dict[str, Any]]:
    api = connect_engine()
    try:
        found: list[dict[str, Any]] = api.containers(
            all=True, filters={"label": f"berth.node={node_for(root)}"}
        )
        return found
    finally:
        api.close()


# -- limits and isolation, seen from inside ---------------------------------------------------

LIMITS = SH + textwrap.dedent("""\
    cg=/sys/fs/cgroup
    if [ -e $cg/memory.max ]; then
        echo "mem $(cat $cg/memory.max) swap $(cat $cg/memory.swap.max)"
        echo "cpu $(cat $cg/cpu.max)"
        echo "pids $(cat $cg/pids.max)"
    else
        swap=$(cat $cg/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo none)
        echo "mem $(cat $cg/memory/memory.limit_in_bytes) swap $swap"
        echo "cpu $(cat $cg/cpu/cpu.cfs_quota_us) $(cat $cg/cpu/cpu.cfs_period_us)"
        echo "pids $(cat $cg/pids/pids.max)"
    fi
    """)


def test_cpu_memory_and_process_limits_are_visible_inside(tmp_path: Path) -> None:
    executor = docker_executor(tmp_path, settings=DockerSettings(
        allowed_images=(TEST_IMAGE,), default_image=TEST_IMAGE, pids_limit=100))  # fmt: skip
    end = _end(executor, spec_for(tmp_path, LIMITS, cpus=2, mem_mb=64))
    assert (end.cause, end.exit_code) == (EndCause.EXITED, 0), _output(tmp_path)
    mem, cpu, pids = _output(tmp_path).splitlines()
    limit = str(64 * 1024 * 1024)
    # Swap off: cgroup v2 allows no swap (0); v1 caps memory+swap at the memory limit.
    assert mem in (f"mem {limit} swap 0", f"mem {limit} swap {limit}", f"mem {limit} swap none")
    assert cpu in ("cpu 200000 100000",)  # 2 CPUs: a quota of two periods
    assert pids == "pids 100"


def test_the_job_runs_as_its_user_without_privileges_or_the_engine_socket(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    workdir.chmod(0o777)
    script = SH + textwrap.dedent("""\
        echo "ids $(id -u) $(id -g)"
        grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -s '\\t ' ' '
        [ -e /var/run/docker.sock ] || [ -e /run/docker.sock ] && echo socket || echo no-socket
        echo "host $(hostname)"
        """)
    spec = spec_for(tmp_path, script, uid=65534, gid=65534, user="nobody")
    end = _end(docker_executor(tmp_path), spec)
    assert end.cause is EndCause.EXITED, _output(tmp_path)
    assert _output(tmp_path).splitlines() == [
        "ids 65534 65534",
        "CapEff: 0000000000000000",
        "NoNewPrivs: 1",
        "no-socket",
        f"host {node_for(tmp_path)}",
    ]
    assert (workdir / "out.txt").stat().st_uid == 65534  # opened by the job, not by root


def test_a_workdir_that_would_expose_the_engine_socket_is_refused(tmp_path: Path) -> None:
    end = _end(docker_executor(tmp_path), spec_for(tmp_path, SH + "exit 0\n", workdir="/var/run"))
    assert end.cause is EndCause.LAUNCH_FAILED
    assert "/var/run" in end.message
    assert "socket" in end.message


def test_an_output_file_the_user_cannot_write_fails_the_launch(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o755)  # root's; the job runs as nobody
    (tmp_path / "work").mkdir()
    (tmp_path / "work").chmod(0o777)
    out = str(private / "job.out")
    spec = spec_for(tmp_path, SH + "echo hi\n", uid=65534, gid=65534, user="nobody",
                    stdout_path=out, stderr_path=out)  # fmt: skip
    end = _end(docker_executor(tmp_path), spec)
    assert end.cause is EndCause.LAUNCH_FAILED
    assert str(private / "job.out") in end.message
    assert "Permission denied" in end.message
    assert not (private / "job.out").exists()


def test_a_workdir_the_user_cannot_enter_fails_the_launch(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)  # root's
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    spec = spec_for(tmp_path, SH + "echo ran\n", uid=65534, gid=65534, user="nobody",
                    workdir=str(private), stdout_path=str(out / "o"), stderr_path=str(out / "o"))
    end = _end(docker_executor(tmp_path), spec)
    assert end.cause is EndCause.LAUNCH_FAILED
    assert end.message == (
        f"the job could not start: cannot enter working directory {private}: Permission denied"
    )
    assert not (out / "o").exists()


# -- signals ----------------------------------------------------------------------------------

TWO_PROCESSES = SH + textwrap.dedent("""\
    sh -c 'trap "echo child got USR1" USR1; while :; do sleep 0.1; done' &
    trap 'echo shell got USR1' USR1
    echo ready
    while [ ! -e stop ]; do sleep 0.1; done
    kill $!
    """)


@pytest.mark.parametrize(
    ("batch_only", "expected"),
    [(True, ["shell got USR1"]), (False, ["child got USR1", "shell got USR1"])],
)
def test_a_signal_reaches_the_batch_shell_or_every_process(
    tmp_path: Path, batch_only: bool, expected: list[str]
) -> None:
    out = tmp_path / "work" / "out.txt"

    async def scenario() -> None:
        async with Watching(docker_executor(tmp_path)) as watching:
            await watching.executor.launch(spec_for(tmp_path, TWO_PROCESSES))
            await wait_for_text(out, "ready")
            assert await watching.executor.signal(KEY, signal.SIGUSR1, batch_only=batch_only)
            await wait_for_text(out, "shell got USR1")
            await asyncio.sleep(0.3)  # the child's line, when it gets one, comes as fast
            (tmp_path / "work" / "stop").touch()
            assert (await watching.end_of(1)).cause is EndCause.EXITED

    run(scenario())
    assert sorted(line for line in _output(tmp_path).splitlines() if "got" in line) == expected


def test_the_signal_option_warns_before_the_time_limit(tmp_path: Path) -> None:
    deadline = math.ceil(time.time()) + 3
    script = SH + "trap 'echo warned; exit 0' USR1\nwhile :; do sleep 0.1; done\n"
    spec = spec_for(tmp_path, script, deadline=deadline, signal_number=signal.SIGUSR1,
                    signal_before_s=2, signal_batch_only=True)  # fmt: skip
    end = _end(docker_executor(tmp_path), spec)
    assert (end.cause, end.exit_code) == (EndCause.EXITED, 0)
    assert end.end_time <= deadline - 1
    assert _output(tmp_path) == "warned\n"


# -- environment and GPUs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def image_with_env() -> Iterator[str]:
    """A local image built from the test image with variables of its own (no registry)."""
    name = "berth-test-busybox-env"
    context = Path(__file__).parent / "images" / "with-env"
    subprocess.run(["docker", "build", "-q", "-t", name, str(context)], check=True,
                   capture_output=True)  # fmt: skip
    yield name
    subprocess.run(["docker", "rmi", "-f", name], check=False, capture_output=True)


def test_the_images_variables_win_except_berths_own(tmp_path: Path, image_with_env: str) -> None:
    settings = DockerSettings(allowed_images=(TEST_IMAGE, image_with_env))
    script = SH + 'echo "$PATH|$FROM_IMAGE|$FROM_JOB|$SLURM_JOB_ID|$CUDA_VISIBLE_DEVICES|' \
                  '$NVIDIA_VISIBLE_DEVICES"\n'  # fmt: skip
    environment = {"PATH": "/host/only/bin:/bin", "FROM_IMAGE": "submitter", "FROM_JOB": "job",
                   "SLURM_JOB_ID": "1", "CUDA_VISIBLE_DEVICES": "0"}  # fmt: skip
    spec = spec_for(tmp_path, script, image=image_with_env, environment=environment)
    end = _end(docker_executor(tmp_path, settings=settings), spec)
    assert end.cause is EndCause.EXITED, _output(tmp_path)
    # PATH and FROM_IMAGE are the image's; SLURM_JOB_ID (set by the image too) stays Berth's.
    assert _output(tmp_path) == "/opt/tools/bin:/bin|image|job|1||void\n"


def test_a_gpu_job_fails_clearly_on_a_node_without_the_nvidia_runtime(tmp_path: Path) -> None:
    executor = docker_executor(tmp_path)
    spec = spec_for(tmp_path, SH + "exit 0\n", gpu_indices=(2, 5), gpu_uuids=("GPU-a", "GPU-b"))

    async def scenario() -> RunEnd:
        async with Watching(executor) as watching:
            assert executor.gpu_runtime is False  # probed at start: this host has none
            await executor.launch(spec)
            return await watching.end_of(1)

    end = asyncio.run(scenario())
    assert end.cause is EndCause.LAUNCH_FAILED
    assert "no NVIDIA runtime" in end.message
    assert "nvidia-container-toolkit" in end.message
    assert _containers(tmp_path) == []


def test_the_engine_itself_refuses_gpus_without_the_runtime(tmp_path: Path) -> None:
    """The probe said yes (a wrong answer): the engine's own refusal still ends the job clearly."""
    executor = docker_executor(tmp_path, gpu_runtime=True)
    spec = spec_for(tmp_path, SH + "exit 0\n", gpu_indices=(0,), gpu_uuids=("GPU-a",))
    end = _end(executor, spec)
    assert end.cause is EndCause.LAUNCH_FAILED
    assert 'could not select device driver "" with capabilities: [[gpu]]' in end.message
    assert "nvidia-container-toolkit" in end.message
    assert _containers(tmp_path) == []


def test_a_cpu_job_runs_on_a_node_without_the_nvidia_runtime(tmp_path: Path) -> None:
    end = _end(docker_executor(tmp_path), spec_for(tmp_path, SH + "echo cpu\n"))
    assert (end.cause, _output(tmp_path)) == (EndCause.EXITED, "cpu\n")


# -- ends -------------------------------------------------------------------------------------


def test_a_job_over_its_memory_limit_ends_oom(tmp_path: Path) -> None:
    script = SH + "head -c 200m /dev/zero | tail\necho survived\n"
    end = _end(docker_executor(tmp_path), spec_for(tmp_path, script, mem_mb=64))
    assert end.cause is EndCause.OOM


def test_ended_containers_are_removed_once_reported(tmp_path: Path) -> None:
    end = _end(docker_executor(tmp_path), spec_for(tmp_path, SH + "exit 4\n"))
    assert (end.cause, end.exit_code) == (EndCause.EXITED, 4)
    deadline = time.monotonic() + 5
    while _containers(tmp_path):
        assert time.monotonic() < deadline, "the container was not removed"
        time.sleep(0.05)
    assert (tmp_path / "containers" / "1.0" / "end.json").exists()


@pytest.mark.parametrize(
    ("image", "words"),
    [
        ("evil/miner:latest", "is not allowed here; allowed images: berth-test-busybox"),
        ("berth-test-absent:1", "is not on node"),
    ],
)
def test_an_image_refused_at_launch_fails_the_launch(tmp_path: Path, image: str,
                                                     words: str) -> None:  # fmt: skip
    settings = DockerSettings(allowed_images=(TEST_IMAGE, "berth-test-absent:*"))
    spec = spec_for(tmp_path, SH + "exit 0\n", image=image)
    end = _end(docker_executor(tmp_path, settings=settings), spec)
    assert end.cause is EndCause.LAUNCH_FAILED
    assert words in end.message


def test_a_relaunch_by_a_new_executor_finds_the_container(tmp_path: Path) -> None:
    spec = spec_for(tmp_path, SH + "echo ran >> tally\nwhile [ ! -e flag ]; do sleep 0.05; done\n")

    async def scenario() -> None:
        first = docker_executor(tmp_path)
        await first.launch(spec)
        await first.stop()
        await wait_for_text(tmp_path / "work" / "tally", "ran")
        async with Watching(docker_executor(tmp_path)) as second:
            await second.executor.launch(spec)  # no reconcile first: the name is taken
            assert len(_containers(tmp_path)) == 1
            (tmp_path / "work" / "flag").touch()
            assert (await second.end_of(1)).cause is EndCause.EXITED

    run(scenario())
    assert (tmp_path / "work" / "tally").read_text() == "ran\n"


# -- a daemon killed with SIGKILL -------------------------------------------------------------

CHILD = """
import asyncio, sys
from pathlib import Path
from daemon.executors.base import RunKey
from tests.daemon.executors.dockerhost import docker_executor
from tests.daemon.executors.test_contract import spec_for, wait_for_text

root, script, kill_wait, deadline, then_kill = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), \\
    int(sys.argv[4]) or None, sys.argv[5] == "kill"

async def main():
    executor = docker_executor(root)
    await executor.start(lambda end: asyncio.sleep(0))
    await executor.launch(spec_for(root, script, kill_wait_s=kill_wait, deadline=deadline))
    await wait_for_text(root / "work" / "out.txt", "ready")
    if then_kill:
        await executor.kill(RunKey(job_id=1))
    print("done", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _daemon_dies(root: Path, script: str, *, kill_wait: int = 1, deadline: int = 0,
                 then_kill: bool = False) -> None:  # fmt: skip
    """A daemon process launches the job (and maybe starts killing it), then is SIGKILLed."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), script, str(kill_wait), str(deadline),
         "kill" if then_kill else "no"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    ) as child:  # fmt: skip
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "done\n"
        finally:
            child.send_signal(signal.SIGKILL)


def test_after_a_daemon_sigkill_the_next_executor_adopts_the_job(tmp_path: Path) -> None:
    _daemon_dies(tmp_path, SH + "echo ready\nwhile [ ! -e flag ]; do sleep 0.05; done\nexit 5\n")

    async def scenario() -> None:
        async with Watching(docker_executor(tmp_path)) as second:
            found = await second.executor.reconcile([KEY, RunKey(job_id=2)])
            assert (found.running, found.ended, found.unknown) == ((KEY,), (), (RunKey(job_id=2),))
            (tmp_path / "work" / "flag").touch()
            end = await second.end_of(1)
            assert (end.cause, end.exit_code) == (EndCause.EXITED, 5)

    run(scenario())


def test_an_adopted_job_still_gets_its_time_limit(tmp_path: Path) -> None:
    deadline = math.ceil(time.time()) + 2
    _daemon_dies(tmp_path, SH + "echo ready\nsleep 30\n", deadline=deadline)

    async def scenario() -> None:
        async with Watching(docker_executor(tmp_path)) as second:
            assert (await second.executor.reconcile([KEY])).running == (KEY,)
            end = await second.end_of(1)
            assert end.cause is EndCause.TIMEOUT
            assert deadline <= end.end_time <= deadline + 3

    run(scenario())


def test_a_kill_begun_before_the_sigkill_is_finished_by_the_next_executor(tmp_path: Path) -> None:
    script = SH + "trap 'echo got TERM' TERM\necho ready\nwhile :; do sleep 0.1; done\n"
    began = time.monotonic()
    _daemon_dies(tmp_path, script, kill_wait=2, then_kill=True)

    async def scenario() -> None:
        async with Watching(docker_executor(tmp_path)) as second:
            assert (await second.executor.reconcile([KEY])).running == (KEY,)
            end = await second.end_of(1)
            assert (end.cause, end.signal) == (EndCause.KILLED, 9)
            assert time.monotonic() - began >= 2  # the grace ran its course, once

    run(scenario())
    assert "got TERM" in _output(tmp_path)


def test_a_job_that_ended_while_the_daemon_was_down_is_recorded_then_removed(
    tmp_path: Path,
) -> None:
    _daemon_dies(tmp_path, SH + "echo ready\nexit 3\n")

    async def scenario() -> None:
        executor = docker_executor(tmp_path)
        deadline = time.monotonic() + 5
        while not (found := await executor.reconcile([KEY])).ended:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert [(e.cause, e.exit_code) for e in found.ended] == [(EndCause.EXITED, 3)]
        assert _containers(tmp_path) == []
        again = await executor.reconcile([KEY])  # from end.json now: never started twice
        assert [(e.cause, e.exit_code) for e in again.ended] == [(EndCause.EXITED, 3)]
        await executor.stop()

    run(scenario())


# -- the engine not answering -----------------------------------------------------------------


class Flaky:
    """The real client, except that the first calls of some methods fail in transport."""

    def __init__(self, failures: dict[str, int]) -> None:
        self.api = connect_engine()
        self.failures = dict(failures)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.api, name)
        if self.failures.get(name, 0) <= 0:
            return method

        def fail(*args: Any, **kwargs: Any) -> Any:
            self.failures[name] -= 1
            raise requests.ConnectionError(f"{name}: connection reset (injected)")

        return fail


def test_transport_errors_are_retried_by_launch_and_watch(tmp_path: Path) -> None:
    flaky = Flaky({"create_container": 1, "containers": 2})
    executor = docker_executor(tmp_path, connect=lambda: flaky)
    end = _end(executor, spec_for(tmp_path, SH + "echo fine\n"))
    assert (end.cause, _output(tmp_path)) == (EndCause.EXITED, "fine\n")
    assert flaky.failures == {"create_container": 0, "containers": 0}


# -- which executor runs a job ----------------------------------------------------------------


def test_jobs_without_an_image_run_as_processes_beside_containers(tmp_path: Path) -> None:
    routing = RoutingExecutor(
        docker_executor(tmp_path, settings=DockerSettings(allowed_images=(TEST_IMAGE,))),
        ProcessExecutor(tmp_path / "runs", node_name="node1", poll_interval_s=0.05),
    )
    where = SH + 'echo "${TINI_KILL_PROCESS_GROUP:-process}"\n'  # set in containers only
    boxed = spec_for(tmp_path, where, job_id=1, image=TEST_IMAGE,
                     stdout_path=str(tmp_path / "work" / "1.out"))  # fmt: skip
    plain = spec_for(tmp_path, where, job_id=2, stdout_path=str(tmp_path / "work" / "2.out"))

    async def scenario() -> None:
        async with Watching(routing) as watching:
            await routing.launch(boxed)
            await routing.launch(plain)
            assert (await watching.end_of(1)).cause is EndCause.EXITED
            assert (await watching.end_of(2)).cause is EndCause.EXITED
        found = await routing.reconcile([RunKey(job_id=1), RunKey(job_id=2), RunKey(job_id=3)])
        assert sorted(e.key.job_id for e in found.ended) == [1, 2]
        assert found.unknown == (RunKey(job_id=3),)

    run(scenario())
    assert (tmp_path / "work" / "1.out").read_text() == "1\n"
    assert (tmp_path / "work" / "2.out").read_text() == "process\n"


def test_the_daemon_picks_docker_when_the_engine_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.main import DaemonError, local_executor
    from daemon.settings import Settings
    from daemon.site import Site
    from scheduler import Cluster, Policy

    def site(executor: str) -> Site:
        return Site(settings=Settings(home=tmp_path, executor=executor),
                    cluster=Cluster(nodes=(), partitions=()),
                    policy=Policy(), docker=SETTINGS)  # fmt: skip

    def containers(executor: Executor) -> DockerExecutor | None:
        assert isinstance(executor, RoutingExecutor)
        assert isinstance(executor.processes, ProcessExecutor)
        return executor.containers

    assert containers(local_executor(site("process"), "n")) is None
    assert isinstance(containers(local_executor(site("auto"), "n")), DockerExecutor)
    assert isinstance(containers(local_executor(site("docker"), "n")), DockerExecutor)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert containers(local_executor(site("auto"), "n")) is None
    with pytest.raises(DaemonError, match="Docker engine does not answer"):
        local_executor(site("docker"), "n")


def test_without_containers_a_job_naming_an_image_fails_its_launch(tmp_path: Path) -> None:
    processes = ProcessExecutor(tmp_path / "runs", node_name="node1", poll_interval_s=0.05)
    routing = RoutingExecutor(None, processes, node_name="node1")
    spec = spec_for(tmp_path, SH + "echo on-the-host\n", image=TEST_IMAGE)

    async def scenario() -> None:
        async with Watching(routing) as watching:
            await routing.launch(spec)
            await routing.launch(spec)
            end = await watching.end_of(1)
            assert end.cause is EndCause.LAUNCH_FAILED
            assert "runs no containers" in end.message
            assert len(watching.ends) == 1
            assert (await routing.reconcile([KEY])).ended == (end,)

    run(scenario())
    assert not (tmp_path / "work" / "out.txt").exists()


# -- through a real daemon --------------------------------------------------------------------

DAEMON_CONFIG = CONFIG.replace("[daemon]\n", '[daemon]\nexecutor = "docker"\n') + (
    f'\n[docker]\nallowed_images = ["{TEST_IMAGE}"]\n'
)


def test_a_daemon_runs_an_image_job_and_refuses_an_image_off_the_list() -> None:
    daemon = Daemon(DAEMON_CONFIG)
    daemon.start()
    try:
        with pytest.raises(ApiError) as refused:
            daemon.submit(SH + "true\n", image="docker.io/evil/miner:1")
        assert refused.value.status == 400
        assert "not allowed here; allowed images: berth-test-busybox" in str(refused.value)
        job_id = daemon.submit(SH + 'echo "in $SLURM_JOB_ID $(hostname) $(id -u)"\n',
                               image=TEST_IMAGE)  # fmt: skip
        job = daemon.wait_state(job_id)
        assert (job["state"], job["exit_code"]) == ("COMPLETED", 0)
        output = (daemon.work / f"slurm-{job_id}.out").read_text()
        assert output == f"in {job_id} node1 {os.geteuid()}\n"
    finally:
        daemon.stop()
        remove_containers_of("node1")
