"""``berth sim`` and ``berth sim compare``: output, files, one-line errors (exit 2), Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.sim import main
from tests.sim.test_runner import DESIGN_KEYS

REPO = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def swf(lines: list[tuple[int, int, int, int, int]], max_procs: int) -> str:
    """SWF text: one line per (job, submit, run time, processors, estimate)."""
    rows = [f"; MaxProcs: {max_procs}"]
    for job, submit, run, procs, estimate in lines:
        rows.append(
            f"{job} {submit} -1 {run} {procs} -1 -1 {procs} {estimate} -1 1 1 1" + " -1" * 5
        )
    return "\n".join(rows) + "\n"


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.swf"
    path.write_text(swf([(1, 0, 100, 2, 100), (2, 10, 50, 4, 50), (3, 20, 30, 2, 40)], 4))
    return str(path)


@pytest.fixture
def heavy(tmp_path: Path) -> str:
    """About 125 times more work than 64 processors can do: a run far longer than the tests."""
    path = tmp_path / "heavy.swf"
    jobs = [(i, i * 10, (i * 37) % 5000 + 1, (i * 7) % 64 + 1, 5100) for i in range(1, 20_001)]
    path.write_text(swf(jobs, 64))
    return str(path)


def berth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip


def test_demo_json_in_a_subprocess() -> None:
    done = berth("sim", "--demo", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for key, kind in DESIGN_KEYS.items():
        assert isinstance(data[key], kind), key
    assert data["jobs"] == 2000
    assert data["policy"] == "easy"
    assert data["trace"] == "kth-sp2-first2000.swf.gz"
    assert data["machine"] == "pool of 100 processors"


def test_demo_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "--first", "300", "--policy", "conservative"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("kth-sp2-first2000.swf.gz: policy conservative (conservative")
    assert "jobs         300 of" in out


def test_single_run_writes_csv_and_plots(
    tiny: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, plots = tmp_path / "jobs.csv", tmp_path / "plots"
    assert (
        main(["--trace", tiny, "--policy", "fcfs", "--csv", str(csv), "--plots", str(plots)]) == 0
    )
    assert len(csv.read_text().splitlines()) == 4
    assert all(path.read_bytes().startswith(PNG_MAGIC) for path in plots.iterdir())
    err = capsys.readouterr().err
    assert f"wrote {csv}" in err


def test_compare_plain_table_csvs_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", "--demo", "--first", "500", "--policy", "fcfs", "--policy", "sjf-easy"]
    argv += ["--jobs", "2", "--csv", str(tmp_path / "csv"), "--plots", str(tmp_path / "png")]
    assert main(argv) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "kth-sp2-first2000.swf.gz; machine: pool of 100 processors"
    assert [row.split()[:2] for row in rows[2:]] == [["fcfs", "500"], ["sjf-easy", "500"]]
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["fcfs.csv", "sjf-easy.csv"]
    pngs = list((tmp_path / "png").iterdir())
    assert len(pngs) == 3
    assert all(path.read_bytes().startswith(PNG_MAGIC) for path in pngs)


def test_compare_json(tiny: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", "--trace", tiny, "--policy", "easy", "--policy", "fcfs", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    # EASY: job 3 backfills at 20 (waits 0, 90, 0); FCFS: it waits for job 2 (0, 90, 130).
    assert [run["policy"] for run in data] == ["easy", "fcfs"]
    assert [run["mean_wait_s"] for run in data] == pytest.approx([30.0, 220 / 3])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trace", "missing.swf"], "trace file not found: missing.swf"),
        (["--demo", "--policy", "lifo"], "unknown policy 'lifo'; the policies are fcfs, easy"),
        (["--demo", "--policy", "easy:bf_window_s=0"], "bf_window_s: expected an integer >= 1"),
        ([], "give --trace FILE (an SWF trace) or --demo"),
        (["--demo", "--procs", "4", "--nodes", "2", "--cores", "2"], "give one machine"),
        (["--demo", "--cluster", "missing.toml"], "cluster file not found: missing.toml"),
        (["--demo", "--window", "1999", "5"], "--window: window [1999, 2004) passes the end"),
        (["compare", "--demo", "--policy", "easy", "--policy", "nope"], "unknown policy 'nope'"),
        (["compare", "--demo", "--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("berth sim: error: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1
    assert captured.err.endswith("\n")


def test_malformed_trace_names_the_line_in_a_subprocess(tmp_path: Path) -> None:
    bad = tmp_path / "bad.swf"
    bad.write_text("; MaxProcs: 4\n1 0 -1 10 1 -1 -1 1 10 -1 1 1 1 -1 -1 -1 -1 -1\nnot a job\n")
    for command in (("sim",), ("sim", "compare")):
        done = berth(*command, "--trace", str(bad))
        assert done.returncode == 2
        assert done.stdout in ("", "[]\n")
        assert done.stderr == f"berth sim: error: {bad}:3: expected 18 fields, found 3\n"


# `berth` with Python's own SIGINT handler even where this test runs with SIGINT ignored (a
# background job of a non-interactive shell inherits SIG_IGN, and Python then keeps it).
BERTH_WITH_CTRL_C = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def interrupt_after(args: list[str], seconds: float) -> tuple[int, str, str, float]:
    """Start ``berth ARGS`` in its own process group, send SIGINT to the group (as a terminal's
    Ctrl-C does) after ``seconds``; return the exit code, stdout, stderr and the time it took to
    exit after the signal."""
    process = subprocess.Popen(
        [sys.executable, "-c", BERTH_WITH_CTRL_C, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        start_new_session=True,
    )  # fmt: skip
    time.sleep(seconds)
    assert process.poll() is None, "finished before the interrupt"
    sent = time.perf_counter()
    os.killpg(process.pid, signal.SIGINT)
    try:
        out, err = process.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process.returncode, out, err, time.perf_counter() - sent


@pytest.mark.timeout(60)
def test_ctrl_c_stops_a_long_compare(heavy: str) -> None:
    code, out, err, took = interrupt_after(
        ["sim", "compare", "--trace", heavy, "--policy", "fcfs", "--policy", "easy"], 2.0
    )
    assert code == 130
    assert err == "interrupted: 0 of 2 runs finished\n"
    assert out == ""
    assert took < 15


@pytest.mark.timeout(60)
def test_ctrl_c_stops_a_long_run(heavy: str) -> None:
    code, out, err, took = interrupt_after(["sim", "--trace", heavy, "--policy", "easy"], 2.0)
    assert code == 130
    assert err.startswith("interrupted: the run stopped")
    assert "Traceback" not in err
    assert out == ""
    assert took < 15
