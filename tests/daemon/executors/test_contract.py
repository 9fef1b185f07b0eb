"""The executor contract (`daemon.executors.base`), run against every implementation.

Each test takes the ``kind`` fixture and builds its executor with `make_executor`; an
implementation joins the suite by adding its name to `KINDS`. Jobs are real: ``/bin/sh``
scripts, real processes, short deadlines. The Docker executor runs the same tests in real
containers of the busybox test image (marked ``docker``; see `tests.daemon.executors.dockerhost`).

The helpers here (`Watch`, `spec_for`, `run`, `wait_for_text`) are shared with the
implementations' own tests.
"""

from __future__ import annotations

import asyncio
import math
import os
import pwd
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

from daemon.executors.base import EndCause, Executor, LaunchSpec, RunEnd, RunKey
from daemon.executors.process import ProcessExecutor
from tests.daemon.executors.dockerhost import (
    check_engine,
    docker_executor,
    needs_docker,
    remove_containers,
)

KINDS = ["process", pytest.param("docker", marks=needs_docker)]
SH = "#!/bin/sh\n"
PATH = "/usr/local/bin:/usr/bin:/bin"
END_TIMEOUT_S = 8.0


def make_executor(kind: str, root: Path) -> Executor:
    """A fresh executor of ``kind`` keeping its records under ``root`` (same root: same node)."""
    if kind == "process":
        return ProcessExecutor(root / "runs", node_name="node1", poll_interval_s=0.05)
    if kind == "docker":
        return docker_executor(root)
    raise AssertionError(f"no executor named {kind}")


def run(scenario: Coroutine[Any, Any, None], timeout_s: float = 30.0) -> None:
    """Run an async test body (the project runs async tests without pytest-asyncio)."""
    asyncio.run(asyncio.wait_for(scenario, timeout_s))


def spec_for(root: Path, script: str, *, job_id: int = 1, **changes: Any) -> LaunchSpec:
    """A spec running ``script`` as the current user in ``root/work``, output to ``out.txt``."""
    workdir = root / "work"
    workdir.mkdir(exist_ok=True)
    out = str(workdir / "out.txt")
    fields: dict[str, Any] = {
        "key": RunKey(job_id=job_id),
        "name": f"job{job_id}",
        "user": pwd.getpwuid(os.geteuid()).pw_name,
        "uid": os.geteuid(),
        "gid": os.getegid(),
        "script": script,
        "workdir": str(workdir),
        "environment": {"PATH": PATH},
        "stdout_path": out,
        "stderr_path": out,
        "kill_wait_s": 1,
    }
    fields.update(changes)
    return LaunchSpec(**fields)


async def wait_for_text(path: Path, text: str, timeout_s: float = END_TIMEOUT_S) -> str:
    """Wait until ``path`` holds ``text`` (a job saying it is ready); returns the content."""
    deadline = time.monotonic() + timeout_s
    while True:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never held {text!r}; it holds {content!r}")
        await asyncio.sleep(0.02)


class Watch:
    """A started executor that records every end it reports; stopped on exit."""

    def __init__(self, kind: str, root: Path) -> None:
        self.executor = make_executor(kind, root)
        self.ends: list[RunEnd] = []

    async def __aenter__(self) -> Self:
        await self.executor.start(self._on_end)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.executor.stop()

    async def _on_end(self, end: RunEnd) -> None:
        self.ends.append(end)

    async def end_of(self, job_id: int, timeout_s: float = END_TIMEOUT_S) -> RunEnd:
        deadline = time.monotonic() + timeout_s
        while True:
            for end in self.ends:
                if end.key.job_id == job_id:
                    return end
            if time.monotonic() > deadline:
                raise AssertionError(f"no end reported for job {job_id} in {timeout_s} s")
            await asyncio.sleep(0.02)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "docker":
        check_engine()
    yield str(request.param)
    if request.param == "docker":
        remove_containers(tmp_path)  # what a test left running (it would outlive the test)


async def _launch_and_end(kind: str, root: Path, spec: LaunchSpec) -> RunEnd:
    async with Watch(kind, root) as watch:
        await watch.executor.launch(spec)
        return await watch.end_of(spec.key.job_id)


def _end(kind: str, root: Path, script: str, **changes: Any) -> RunEnd:
    ends: list[RunEnd] = []

    async def scenario() -> None:
        ends.append(await _launch_and_end(kind, root, spec_for(root, script, **changes)))

    run(scenario())
    return ends[0]


# -- exit status ------------------------------------------------------------------------------


def test_a_script_that_exits_0_ends_exited(kind: str, tmp_path: Path) -> None:
    end = _end(kind, tmp_path, SH + "exit 0\n")
    assert (end.cause, end.exit_code, end.signal) == (EndCause.EXITED, 0, 0)
    assert end.key == RunKey(job_id=1)
    assert abs(end.end_time - time.time()) < 10


def test_the_exit_code_is_reported(kind: str, tmp_path: Path) -> None:
    end = _end(kind, tmp_path, SH + "exit 3\n")
    assert (end.cause, end.exit_code, end.signal) == (EndCause.EXITED, 3, 0)


def test_a_script_killed_by_a_signal_reports_the_signal(kind: str, tmp_path: Path) -> None:
    end = _end(kind, tmp_path, SH + "kill -9 $$\n")
    assert (end.cause, end.exit_code, end.signal) == (EndCause.EXITED, 0, 9)


# -- files, environment, workdir --------------------------------------------------------------


def test_output_and_error_go_to_their_own_files(kind: str, tmp_path: Path) -> None:
    out, err = tmp_path / "job.out", tmp_path / "job.err"
    script = SH + "echo to-out\necho to-err >&2\n"
    _end(kind, tmp_path, script, stdout_path=str(out), stderr_path=str(err))
    assert out.read_text() == "to-out\n"
    assert err.read_text() == "to-err\n"


def test_error_joins_output_when_the_paths_are_equal(kind: str, tmp_path: Path) -> None:
    _end(kind, tmp_path, SH + "echo one\necho two >&2\necho three\n")
    assert (tmp_path / "work" / "out.txt").read_text() == "one\ntwo\nthree\n"


@pytest.mark.parametrize(("append", "expected"), [(True, "old\nnew\n"), (False, "new\n")])
def test_open_mode(kind: str, tmp_path: Path, append: bool, expected: str) -> None:
    out = tmp_path / "job.out"
    out.write_text("old\n")
    _end(
        kind, tmp_path, SH + "echo new\n", stdout_path=str(out), stderr_path=str(out), append=append
    )
    assert out.read_text() == expected


def test_the_environment_is_exactly_the_specs(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BERTH_TEST_DAEMON_ONLY", "leaked")
    script = SH + 'echo "spec=$FROM_SPEC daemon=${BERTH_TEST_DAEMON_ONLY-absent}"\n'
    _end(kind, tmp_path, script, environment={"PATH": PATH, "FROM_SPEC": "a b=c"})
    assert (tmp_path / "work" / "out.txt").read_text() == "spec=a b=c daemon=absent\n"


def test_the_job_runs_in_its_workdir_with_its_arguments(kind: str, tmp_path: Path) -> None:
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    _end(kind, tmp_path, SH + 'pwd\necho "$# $1 $2"\n', workdir=str(workdir), argv=("x y", "z"))
    assert (tmp_path / "work" / "out.txt").read_text() == f"{workdir}\n2 x y z\n"


def test_a_missing_workdir_fails_the_launch_with_a_message(kind: str, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    end = _end(kind, tmp_path, SH + "exit 0\n", workdir=str(missing))
    assert end.cause is EndCause.LAUNCH_FAILED
    assert str(missing) in end.message
    assert "No such file or directory" in end.message


# -- idempotent launch ------------------------------------------------------------------------


def test_launching_twice_runs_once(kind: str, tmp_path: Path) -> None:
    spec = spec_for(tmp_path, SH + "echo ran >> tally\n")  # in the workdir: a container sees it
    tally = tmp_path / "work" / "tally"

    async def scenario() -> None:
        async with Watch(kind, tmp_path) as watch:
            await asyncio.gather(watch.executor.launch(spec), watch.executor.launch(spec))
            await watch.end_of(1)
            await watch.executor.launch(spec)  # after the end, too
            await asyncio.sleep(0.3)
            assert len(watch.ends) == 1  # and its end is reported once

    run(scenario())
    assert tally.read_text() == "ran\n"


# -- time limit, kill, signals ----------------------------------------------------------------


def test_the_time_limit_ends_the_job_as_timeout(kind: str, tmp_path: Path) -> None:
    deadline = math.ceil(time.time()) + 1
    end = _end(kind, tmp_path, SH + "echo started\nsleep 30\n", deadline=deadline)
    assert end.cause is EndCause.TIMEOUT
    assert deadline <= end.end_time <= deadline + 3
    assert end.signal in (15, 9)  # SIGTERM, or SIGKILL after the grace


def test_kill_sends_term_then_kill_after_the_grace(kind: str, tmp_path: Path) -> None:
    out = tmp_path / "work" / "out.txt"
    script = SH + "trap 'echo got TERM' TERM\necho ready\nwhile :; do sleep 0.1; done\n"

    async def scenario() -> None:
        async with Watch(kind, tmp_path) as watch:
            await watch.executor.launch(spec_for(tmp_path, script, kill_wait_s=1))
            await wait_for_text(out, "ready")
            asked = time.monotonic()
            await watch.executor.kill(RunKey(job_id=1))
            end = await watch.end_of(1)
            assert end.cause is EndCause.KILLED
            assert end.signal == 9  # it trapped TERM and kept going, so KILL ended it
            assert 0.9 <= time.monotonic() - asked < 4

    run(scenario())
    assert "got TERM" in out.read_text()


def test_signal_reaches_a_running_job(kind: str, tmp_path: Path) -> None:
    out = tmp_path / "work" / "out.txt"
    script = SH + "trap 'echo got USR1; exit 0' USR1\necho ready\nwhile :; do sleep 0.1; done\n"

    async def scenario() -> None:
        async with Watch(kind, tmp_path) as watch:
            await watch.executor.launch(spec_for(tmp_path, script))
            await wait_for_text(out, "ready")
            assert await watch.executor.signal(RunKey(job_id=1), 10, batch_only=True)
            end = await watch.end_of(1)
            assert (end.cause, end.exit_code) == (EndCause.EXITED, 0)
            assert not await watch.executor.signal(RunKey(job_id=1), 10, batch_only=True)
            assert not await watch.executor.signal(RunKey(job_id=99), 10, batch_only=False)

    run(scenario())
    assert "got USR1" in out.read_text()


# -- reconcile after a daemon restart ---------------------------------------------------------


def test_a_restarted_daemon_adopts_a_running_job(kind: str, tmp_path: Path) -> None:
    script = SH + "while [ ! -e flag ]; do sleep 0.05; done\nexit 5\n"
    flag = tmp_path / "work" / "flag"  # in the workdir: a container sees it
    key = RunKey(job_id=1)

    async def scenario() -> None:
        async with Watch(kind, tmp_path) as first:
            await first.executor.launch(spec_for(tmp_path, script))
        # The first daemon is gone; the job runs on. A second one starts on the same node.
        async with Watch(kind, tmp_path) as second:
            found = await second.executor.reconcile([key])
            assert (found.running, found.ended, found.unknown) == ((key,), (), ())
            flag.touch()
            end = await second.end_of(1)
            assert (end.cause, end.exit_code) == (EndCause.EXITED, 5)
        assert first.ends == []

    run(scenario())


def test_reconcile_reports_a_job_that_ended_while_nobody_watched(kind: str, tmp_path: Path) -> None:
    key = RunKey(job_id=1, restart_count=2)

    async def scenario() -> None:
        first = make_executor(kind, tmp_path)  # never started: no one watches
        await first.launch(spec_for(tmp_path, SH + "exit 7\n", key=key))
        second = make_executor(kind, tmp_path)
        deadline = time.monotonic() + END_TIMEOUT_S
        while not (found := await second.reconcile([key])).ended:
            assert found.running == (key,)
            assert time.monotonic() < deadline, "the job never ended"
            await asyncio.sleep(0.05)
        assert [(end.key, end.cause, end.exit_code) for end in found.ended] == [
            (key, EndCause.EXITED, 7)
        ]
        for executor in (first, second):
            await executor.stop()  # never started: stop only releases what it holds

    run(scenario())


def test_reconcile_calls_runs_never_launched_unknown(kind: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        executor = make_executor(kind, tmp_path)
        await executor.launch(spec_for(tmp_path, SH + "sleep 5\n", job_id=1))
        found = await executor.reconcile([RunKey(job_id=1), RunKey(job_id=2)])
        assert found.running == (RunKey(job_id=1),)
        assert found.unknown == (RunKey(job_id=2),)
        await executor.kill(RunKey(job_id=1))
        await executor.stop()

    run(scenario())
