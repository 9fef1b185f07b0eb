"""A real daemon for the command tests: one per test module, its socket in BERTH_SOCKET and
the installed commands (``.venv/bin``) first on PATH, so jobs find ``srun`` and ``scontrol``."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.daemon.harness import Daemon

BIN = Path(sys.executable).parent
Main = Callable[[Sequence[str] | None], int]
_counter = itertools.count()


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:
    instance = Daemon()
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("SLURM_")]:
        del os.environ[name]  # a test run inside a Slurm or Berth job must not look like one
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    instance.start()
    os.environ["BERTH_SOCKET"] = instance.socket
    try:
        yield instance
    finally:
        instance.stop()
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(instance.home, ignore_errors=True)


@pytest.fixture
def in_work(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The daemon's shared work directory as the cwd (where slurm-%j.out files land)."""
    monkeypatch.chdir(daemon.work)
    return daemon.work


def call(main: Main, argv: Sequence[str], capsys: pytest.CaptureFixture[str]
         ) -> tuple[int, str, str]:  # fmt: skip
    """``main(argv)``'s exit code, stdout and stderr."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sbatch(script: str, *options: str) -> int:
    """Submit ``script`` with ``cli.sbatch`` from the current directory, the test's environment
    (PATH with the installed commands) captured as a user's would be; the job id."""
    import io
    from contextlib import redirect_stdout

    from cli.sbatch import main as sbatch_main

    path = Path(f"job-{os.getpid()}-{next(_counter)}.sh")
    path.write_text(script)
    out = io.StringIO()
    with redirect_stdout(out):
        code = sbatch_main(["--parsable", *options, str(path)])
    assert code == 0, out.getvalue()
    return int(out.getvalue())
