"""The process executor beyond the shared contract: its run directory and shepherd, surviving
the daemon, limits, credentials, launch failures, lost shepherds. Real processes throughout."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from daemon.clock import ManualClock
from daemon.executors import procfs
from daemon.executors.base import EndCause, RunEnd, RunKey
from daemon.executors.cgroups import CgroupUnavailable, open_job_cgroup
from daemon.executors.process import ProcessExecutor
from daemon.executors.runfiles import RunDir, read_ref, spec_from_json, spec_to_json
from daemon.executors.shepherd import claim
from tests.daemon.executors.test_contract import SH, Watch, run, spec_for, wait_for_text

PY = sys.executable
KEY = RunKey(job_id=1)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


def _run_dir(root: Path, key: RunKey = KEY) -> RunDir:
    return RunDir.of(root / "runs", key)


def _gone(pid: int) -> bool:
    ref = procfs.ref_of(pid)
    return ref is None or not procfs.is_alive(ref)


async def _until(condition: str, check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, condition
        await asyncio.sleep(0.02)


# -- the run directory and the shepherd -------------------------------------------------------


def test_the_run_directory_records_the_run(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Watch("process", tmp_path) as watch:
            await watch.executor.launch(spec_for(tmp_path, SH + "exit 0\n"))
            await watch.end_of(1)

    run(scenario())
    rundir = _run_dir(tmp_path)
    assert rundir.path.name == "1.0"
    assert stat.S_IMODE(rundir.spec.stat().st_mode) == 0o600
    assert stat.S_IMODE(rundir.script.stat().st_mode) == 0o700
    assert rundir.script.stat().st_uid == os.geteuid()
    assert rundir.script.read_text() == SH + "exit 0\n"
    assert read_ref(rundir.shepherd_pid) is not None
    assert read_ref(rundir.job_pid) is not None
    end = json.loads(rundir.end.read_text())
    assert (end["cause"], end["exit_code"]) == ("exited", 0)
    assert end["limits"]  # which limits applied, for people reading it


def test_the_shepherd_is_detached_and_the_job_leads_its_own_session(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    rundir = _run_dir(tmp_path)

    async def scenario() -> None:
        async with Watch("process", tmp_path) as watch:
            script = SH + f"while [ ! -e {flag} ]; do sleep 0.05; done\n"
            await watch.executor.launch(spec_for(tmp_path, script))
            await _until("job.pid written", rundir.job_pid.exists)
            shepherd = read_ref(rundir.shepherd_pid)
            job = read_ref(rundir.job_pid)
            assert shepherd is not None
            assert job is not None
            assert procfs.is_alive(shepherd)
            assert procfs.is_alive(job)
            fields = Path(f"/proc/{shepherd.pid}/stat").read_text().rsplit(")", 1)[1].split()
            assert int(fields[1]) != os.getpid()  # not the daemon's child
            assert os.getsid(shepherd.pid) != os.getsid(0)  # nor in its session
            assert os.getpgid(job.pid) == job.pid == os.getsid(job.pid)
            flag.touch()
            await watch.end_of(1)

    run(scenario())


DAEMON = """
import asyncio, os, sys
from pathlib import Path
from typing import Any
from daemon.executors.base import LaunchSpec, RunKey
from daemon.executors.process import ProcessExecutor

async def on_end(end):
    pass

async def main():
    root, script, workdir = sys.argv[1:]
    executor = ProcessExecutor(Path(root), node_name="node1")
    await executor.start(on_end)
    await executor.launch(LaunchSpec(
        key=RunKey(job_id=1), name="j", user="u", uid=os.geteuid(), gid=os.getegid(),
        script=script, workdir=workdir, environment={"PATH": "/usr/bin:/bin"},
        stdout_path=workdir + "/out.txt", stderr_path=workdir + "/out.txt"))
    print("launched", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_jobs_outlive_a_daemon_killed_with_sigkill(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    workdir = tmp_path / "work"
    workdir.mkdir()
    script = SH + f"while [ ! -e {flag} ]; do sleep 0.05; done\necho finished\nexit 4\n"
    daemon = subprocess.Popen(
        [PY, "-c", DAEMON, str(tmp_path / "runs"), script, str(workdir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert daemon.stdout is not None
    assert daemon.stdout.readline() == "launched\n"
    daemon.kill()
    daemon.wait()
    daemon.stdout.close()

    async def scenario() -> None:
        async with Watch("process", tmp_path) as watch:
            found = await watch.executor.reconcile([KEY])
            assert found.running == (KEY,)
            flag.touch()
            end = await watch.end_of(1)
            assert (end.cause, end.exit_code) == (EndCause.EXITED, 4)

    run(scenario())
    assert (workdir / "out.txt").read_text() == "finished\n"


def test_the_job_sees_the_specs_environment_and_nothing_else(tmp_path: Path) -> None:
    environment = {"PATH": "/usr/bin:/bin", "SLURM_JOB_ID": "1", "EMPTY": "", "SPACES": "a  b"}
    _end_of(tmp_path, SH + "env\n", environment=environment)
    lines = (tmp_path / "work" / "out.txt").read_text().splitlines()
    seen = dict(line.split("=", 1) for line in lines)
    assert seen == {**environment, "PWD": str(tmp_path / "work")}  # PWD: the shell's own


def test_the_claim_is_taken_once(tmp_path: Path) -> None:
    rundir = RunDir(tmp_path)
    assert claim(rundir)
    assert not claim(rundir)
    ref = read_ref(rundir.shepherd_pid)
    assert ref == procfs.ref_of(os.getpid())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shepherd.pid"]


def test_the_spec_survives_its_file(tmp_path: Path) -> None:
    spec = spec_for(
        tmp_path, SH, argv=("a",), gpu_indices=(1, 3), gpu_uuids=("u1", "u3"), deadline=5
    )
    stored = spec_from_json(spec_to_json(spec, node_name="n7", cgroup_root=""))
    assert stored.spec == replace(spec, script="")
    assert (stored.node_name, stored.cgroup_root) == ("n7", "")


def test_the_shepherd_starts_without_the_daemons_heavy_imports() -> None:
    code = (
        "import sys, daemon.executors.shepherd; "
        "print(' '.join(sorted({n.split('.')[0] for n in sys.modules} & "
        "{'scheduler', 'aiohttp', 'sqlmodel', 'sqlalchemy', 'docker', 'pydantic', 'asyncio'})))"
    )
    result = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


# -- time limit and signals reach every process of the job ------------------------------------


def test_a_time_limit_kills_every_process_of_the_job(tmp_path: Path) -> None:
    work = tmp_path / "work"
    regroup = "import os, time; os.setpgid(0, 0); time.sleep(30)"
    script = SH + f"sleep 30 &\necho $! > bg.pid\n{PY} -c '{regroup}' &\necho $! > pg.pid\nwait\n"
    deadline = math.ceil(time.time()) + 1

    async def scenario() -> None:
        async with Watch("process", tmp_path) as watch:
            await watch.executor.launch(spec_for(tmp_path, script, deadline=deadline))
            end = await watch.end_of(1)
            assert end.cause is EndCause.TIMEOUT
            assert end.signal == signal.SIGTERM  # the shell had no trap: TERM ended it

    run(scenario())
    for name in ("bg.pid", "pg.pid"):
        pid = int((work / name).read_text())
        assert _gone(pid), f"{name}: {pid} survived the time limit"


@pytest.mark.parametrize("batch_only", [True, False], ids=["batch-shell", "whole-job"])
def test_the_signal_option_warns_before_the_deadline(tmp_path: Path, batch_only: bool) -> None:
    out = tmp_path / "work" / "out.txt"
    script = SH + (
        "sleep 30 &\necho $! > bg.pid\ntrap 'echo warned' USR1\necho ready\n"
        "while :; do sleep 0.1; done\n"
    )
    deadline = math.ceil(time.time()) + 2
    spec = spec_for(
        tmp_path,
        script,
        deadline=deadline,
        signal_number=signal.SIGUSR1,
        signal_before_s=1,
        signal_batch_only=batch_only,
    )

    async def scenario() -> None:
        async with Watch("process", tmp_path) as watch:
            await watch.executor.launch(spec)
            await wait_for_text(out, "warned")
            assert time.time() >= deadline - 1
            background = int((tmp_path / "work" / "bg.pid").read_text())
            await asyncio.sleep(0.1)
            assert _gone(background) is not batch_only  # USR1 ends a plain sleep
            end = await watch.end_of(1)
            assert end.cause is EndCause.TIMEOUT

    run(scenario())


def test_signal_to_the_whole_job_reaches_its_children(tmp_path: Path) -> None:
    out = tmp_path / "work" / "out.txt"
    script = SH + (
        "sleep 30 &\necho $! > bg.pid\ntrap 'echo got USR2' USR2\necho ready\n"
        "while :; do sleep 0.1; done\n"
    )

    async def scenario() -> None:
        async with Watch("process", tmp_path) as watch:
            await watch.executor.launch(spec_for(tmp_path, script))
            await wait_for_text(out, "ready")
            assert await watch.executor.signal(KEY, signal.SIGUSR2, batch_only=False)
            await wait_for_text(out, "got USR2")
            background = int((tmp_path / "work" / "bg.pid").read_text())
            await _until("the child got USR2", lambda: _gone(background))
            await watch.executor.kill(KEY)
            assert (await watch.end_of(1)).cause is EndCause.KILLED

    run(scenario())


# -- launch failures --------------------------------------------------------------------------


def _launch_failure(tmp_path: Path, script: str, **changes: Any) -> str:
    messages: list[str] = []

    async def scenario() -> None:
        async with Watch("process", tmp_path) as watch:
            await watch.executor.launch(spec_for(tmp_path, script, **changes))
            end = await watch.end_of(1)
            assert end.cause is EndCause.LAUNCH_FAILED
            messages.append(end.message)

    run(scenario())
    return messages[0]


def test_an_output_file_that_cannot_be_opened_fails_the_launch(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "x.out"
    message = _launch_failure(tmp_path, SH, stdout_path=str(out), stderr_path=str(out))
    assert message == f"cannot open output file {out}: No such file or directory"


def test_an_error_file_that_cannot_be_opened_fails_the_launch(tmp_path: Path) -> None:
    err = tmp_path / "missing" / "x.err"
    message = _launch_failure(tmp_path, SH, stderr_path=str(err))
    assert message == f"cannot open error file {err}: No such file or directory"


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("echo no interpreter line\n", "Exec format error (the script must start with a #! line"),
        ("#!/no/such/shell\n", "No such file or directory (the interpreter named on its #!"),
    ],
    ids=["no-shebang", "missing-interpreter"],
)
def test_a_script_that_cannot_be_executed_fails_the_launch(
    tmp_path: Path, script: str, reason: str
) -> None:
    message = _launch_failure(tmp_path, script)
    assert message.startswith(f"cannot execute batch script {_run_dir(tmp_path).script}: ")
    assert reason in message


@as_root
def test_an_unknown_uid_fails_the_launch(tmp_path: Path) -> None:
    message = _launch_failure(tmp_path, SH, uid=3999999, gid=3999999, user="ghost")
    assert message == "unknown uid 3999999 (ghost) on this node: create the user here"


# -- credentials ------------------------------------------------------------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="berth-executor-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@as_root
def test_the_job_runs_as_its_submitter(shared_dir: Path) -> None:
    work = shared_dir / "work"
    work.mkdir()
    work.chmod(0o777)
    script = SH + "id -u\nid -g\ntouch made\n"
    end = _launch_as_nobody(shared_dir, script)
    assert (end.cause, end.exit_code) == (EndCause.EXITED, 0)
    assert (work / "out.txt").read_text() == "65534\n65534\n"
    assert (work / "out.txt").stat().st_uid == 65534
    assert (work / "made").stat().st_uid == 65534


@as_root
def test_output_files_are_opened_with_the_submitters_rights(shared_dir: Path) -> None:
    work = shared_dir / "work"
    work.mkdir()
    work.chmod(0o777)
    private = shared_dir / "root-only"
    private.mkdir(mode=0o755)
    out = private / "x.out"
    end = _launch_as_nobody(shared_dir, SH, stdout_path=str(out), stderr_path=str(out))
    assert end.cause is EndCause.LAUNCH_FAILED
    assert end.message == f"cannot open output file {out}: Permission denied"


def _launch_as_nobody(root: Path, script: str, **changes: Any) -> RunEnd:
    ends: list[RunEnd] = []

    async def scenario() -> None:
        async with Watch("process", root) as watch:
            spec = spec_for(root, script, uid=65534, gid=65534, user="nobody", **changes)
            await watch.executor.launch(spec)
            ends.append(await watch.end_of(1))

    run(scenario())
    return ends[0]


# -- memory -----------------------------------------------------------------------------------


def test_a_job_over_its_memory_limit_ends_as_oom(tmp_path: Path) -> None:
    hog = "import time; block = bytearray(200 * 1024 * 1024); time.sleep(20)"
    end = _end_of(tmp_path, SH + f"{PY} -c '{hog}'\n", mem_mb=50)
    assert end.cause is EndCause.OOM
    limits = json.loads(_run_dir(tmp_path).end.read_text())["limits"]
    if limits.startswith("cgroup v2"):
        assert "50 MiB" in end.message
    else:  # no usable cgroup v2 here: the shepherd sampled the job's memory
        assert limits.startswith("memory by RSS sampling")
        assert end.message.endswith("over its memory limit of 50 MiB, and was killed")
        assert end.signal == signal.SIGKILL


def test_a_job_within_its_memory_limit_runs_to_the_end(tmp_path: Path) -> None:
    end = _end_of(tmp_path, SH + f"{PY} -c 'block = bytearray(10 * 1024 * 1024)'\n", mem_mb=200)
    assert (end.cause, end.exit_code) == (EndCause.EXITED, 0)


def _end_of(root: Path, script: str, **changes: Any) -> RunEnd:
    ends: list[RunEnd] = []

    async def scenario() -> None:
        async with Watch("process", root) as watch:
            await watch.executor.launch(spec_for(root, script, **changes))
            ends.append(await watch.end_of(1))

    run(scenario())
    return ends[0]


def test_cgroup_v2_on_this_host_confines_a_job_or_says_why_not(tmp_path: Path) -> None:
    """The real /sys/fs/cgroup: a v2 host with the controllers gets a group with the limits;
    any other host is refused with a reason (and the shepherd falls back to sampling)."""
    refused = ""
    try:
        group = open_job_cgroup(Path("/sys/fs/cgroup"), "job_test_0", cpus=2, mem_mb=64)
    except CgroupUnavailable as refusal:
        refused = str(refusal)
    if refused:
        assert "cgroup" in refused
        return
    try:
        assert (group.path / "memory.max").read_text().strip() == str(64 * 1024 * 1024)
        assert (group.path / "cpu.max").read_text().split() == ["200000", "100000"]
        assert not group.oom_killed()
    finally:
        group.remove()


def test_cgroup_files_written_for_a_job(tmp_path: Path) -> None:
    """The cgroup v2 file protocol, against a directory standing in for the mount."""
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    (tmp_path / "berth").mkdir()
    (tmp_path / "berth" / "cgroup.subtree_control").write_text("cpu memory\n")
    group = open_job_cgroup(tmp_path, "job_5_1", cpus=3, mem_mb=100)
    assert group.path == tmp_path / "berth" / "job_5_1"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory"
    assert (tmp_path / "berth" / "cgroup.subtree_control").read_text() == "cpu memory\n"
    assert (group.path / "memory.max").read_text() == str(100 * 1024 * 1024)
    assert (group.path / "cpu.max").read_text() == "300000 100000"
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 0\n")
    assert not group.oom_killed()
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n")
    assert group.oom_killed()
    (group.path / "cgroup.procs").write_text(f"{os.getpid()}\n")
    assert group.members() == [os.getpid()]


@pytest.mark.parametrize(
    ("controllers", "reason"),
    [(None, "is not a cgroup v2 mount"), ("cpu io pids", "lacks the memory controller")],
)
def test_cgroups_are_refused_with_a_reason(
    tmp_path: Path, controllers: str | None, reason: str
) -> None:
    if controllers is not None:
        (tmp_path / "cgroup.controllers").write_text(controllers)
    with pytest.raises(CgroupUnavailable, match=reason):
        open_job_cgroup(tmp_path, "job_1_0", cpus=1, mem_mb=10)


# -- lost shepherds ---------------------------------------------------------------------------


def test_a_shepherd_killed_with_sigkill_ends_the_run_as_lost(tmp_path: Path) -> None:
    rundir = _run_dir(tmp_path)

    async def scenario() -> None:
        async with Watch("process", tmp_path) as watch:
            await watch.executor.launch(spec_for(tmp_path, SH + "sleep 30\n"))
            await _until("job.pid written", rundir.job_pid.exists)
            shepherd = read_ref(rundir.shepherd_pid)
            job = read_ref(rundir.job_pid)
            assert shepherd is not None
            assert job is not None
            os.kill(shepherd.pid, signal.SIGKILL)
            end = await watch.end_of(1, timeout_s=5)
            assert end.cause is EndCause.LOST
            assert f"shepherd (pid {shepherd.pid}) vanished on node node1" in end.message
            await _until("the orphaned job is killed", lambda: not procfs.is_alive(job))

    run(scenario())


def test_reconcile_finds_a_shepherd_that_died_unwatched(tmp_path: Path) -> None:
    rundir = _run_dir(tmp_path)

    async def scenario() -> None:
        clock = ManualClock(start=1_234_567)
        executor = ProcessExecutor(tmp_path / "runs", node_name="node1", clock=clock)
        await executor.launch(spec_for(tmp_path, SH + "sleep 30\n"))
        await _until("job.pid written", rundir.job_pid.exists)
        shepherd = read_ref(rundir.shepherd_pid)
        assert shepherd is not None
        os.kill(shepherd.pid, signal.SIGKILL)
        await _until("the shepherd is gone", lambda: not procfs.is_alive(shepherd))
        found = await executor.reconcile([KEY])
        assert [(end.cause, end.end_time) for end in found.ended] == [(EndCause.LOST, 1_234_567)]
        again = await ProcessExecutor(tmp_path / "runs", node_name="node1").reconcile([KEY])
        assert again.ended == found.ended  # recorded, so every later look agrees

    run(scenario())


@pytest.mark.parametrize("same_start", [True, False], ids=["same-process", "recycled-pid"])
def test_a_recycled_pid_is_not_taken_for_the_shepherd(tmp_path: Path, same_start: bool) -> None:
    me = procfs.ref_of(os.getpid())
    assert me is not None
    rundir = _run_dir(tmp_path)
    rundir.path.mkdir(parents=True)
    start = me.start_time if same_start else me.start_time + 1
    rundir.shepherd_pid.write_text(procfs.ProcRef(me.pid, start).dumps())

    async def scenario() -> None:
        found = await ProcessExecutor(tmp_path / "runs", node_name="node1").reconcile([KEY])
        if same_start:
            assert found.running == (KEY,)
        else:
            assert [end.cause for end in found.ended] == [EndCause.LOST]

    run(scenario())


def test_an_end_whose_report_fails_is_offered_again(tmp_path: Path) -> None:
    calls: list[RunEnd] = []

    async def flaky(end: RunEnd) -> None:
        calls.append(end)
        if len(calls) == 1:
            raise RuntimeError("the store is busy")

    async def scenario() -> None:
        executor = ProcessExecutor(tmp_path / "runs", node_name="node1", poll_interval_s=0.05)
        await executor.start(flaky)
        await executor.launch(spec_for(tmp_path, SH + "exit 2\n"))
        await _until("reported twice", lambda: len(calls) >= 2)
        await asyncio.sleep(0.3)
        await executor.stop()

    run(scenario())
    assert [end.exit_code for end in calls] == [2, 2]
