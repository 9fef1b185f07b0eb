"""`sim.workloads.swf`: cleaning tables for both presets, the header, errors, and the counts of
VALIDATION.md on the shared traces."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import sim.workloads
from sim.workloads import swf
from sim.workloads.swf import (
    DROP_MALFORMED,
    DROP_NO_PROCS,
    DROP_NO_RUN_TIME,
    PWA_POOL,
    RLSCHEDULER,
    SET_ESTIMATE,
    SET_PROCS,
    SET_RUN_TIME,
    CleaningRules,
    Report,
    SwfHeader,
    TraceFormatError,
    TraceJob,
    read_swf,
)
from tests.sim import DEMO_SWF, shared_trace


def _line(run: int, alloc: int, req: int, est: int, *, job_id: int = 1, submit: int = 50) -> str:
    """An SWF line: wait 7, status 1, user 3, group 2, the other fields -1."""
    fields = [job_id, submit, 7, run, alloc, -1, -1, req, est, -1, 1, 3, 2, -1, -1, -1, -1, -1]
    return " ".join(str(field) for field in fields)


A, B = PWA_POOL, RLSCHEDULER
# (case, rules, line, expected (run_time, estimate, procs) or None when dropped, report causes)
CLEANING = [
    ("plain", A, _line(100, 4, 4, 200), (100, 200, 4), ()),
    ("A: allocated -1: requested", A, _line(100, -1, 8, 200), (100, 200, 8), (SET_PROCS,)),
    ("A: allocated beats requested", A, _line(100, 4, 8, 200), (100, 200, 4), ()),
    ("A: no processors at all", A, _line(100, -1, -1, 200), None, (DROP_NO_PROCS,)),
    ("A: 0 allocated is not missing", A, _line(100, 0, 8, 200), None, (DROP_NO_PROCS,)),
    ("A: run time -1 -> 0", A, _line(-1, 4, 4, 200), (0, 200, 4), (SET_RUN_TIME,)),
    ("A: run time 0 kept", A, _line(0, 4, 4, 200), (0, 200, 4), ()),
    ("A: estimate -1 -> run", A, _line(100, 4, 4, -1), (100, 100, 4), (SET_ESTIMATE,)),
    ("A: both -1", A, _line(-1, 4, 4, -1), (0, 0, 4), (SET_ESTIMATE, SET_RUN_TIME)),
    ("A: estimate below run kept", A, _line(100, 4, 4, 60), (100, 60, 4), ()),
    ("B: run time -1 -> 10 s", B, _line(-1, 4, 4, 200), (10, 200, 4), (SET_RUN_TIME,)),
    ("B: estimate = fixed run", B, _line(-1, 4, 4, -1), (10, 10, 4), (SET_ESTIMATE, SET_RUN_TIME)),
    ("B: run time 0 dropped", B, _line(0, 4, 4, 200), None, (DROP_NO_RUN_TIME,)),
    ("B: max(alloc, requested)", B, _line(100, 4, 8, 200), (100, 200, 8), (SET_PROCS,)),
    ("B: allocated larger", B, _line(100, 8, 4, 200), (100, 200, 8), ()),
    ("B: no processors dropped", B, _line(5, -1, -1, 200), None, (DROP_NO_PROCS,)),
    ("B: run time cause first", B, _line(0, -1, -1, 200), None, (DROP_NO_RUN_TIME,)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rules", "line", "expected", "causes"),
    [pytest.param(*row[1:], id=row[0]) for row in CLEANING],
)
def test_cleaning_table(
    rules: CleaningRules,
    line: str,
    expected: tuple[int, int, int] | None,
    causes: tuple[str, ...],
) -> None:
    trace = read_swf([line], rules=rules)
    assert trace.lines == 1
    assert trace.report == tuple((cause, 1) for cause in causes)
    if expected is None:
        assert trace.jobs == ()
        return
    run_time, estimate, procs = expected
    assert trace.jobs == (
        TraceJob(
            job_id=1,
            submit=50,
            run_time=run_time,
            estimate=estimate,
            procs=procs,
            user="3",
            group="2",
            status=1,
            trace_wait=7,
        ),
    )


def test_missing_user_and_group() -> None:
    line = "1 0 -1 60 1 -1 -1 -1 -1 -1 1 -1 -1 -1 0 -1 -1 -1"  # a Lublin-style line
    (job,) = read_swf([line]).jobs
    assert (job.user, job.group, job.status, job.trace_wait) == ("unknown", None, 1, -1)


def test_order_per_preset() -> None:
    lines = [_line(10, 1, 1, 10, job_id=i, submit=s) for i, s in ((3, 5), (1, 9), (2, 5))]
    by_submit = [job.job_id for job in read_swf(lines, rules=PWA_POOL).jobs]
    by_id = [job.job_id for job in read_swf(lines, rules=RLSCHEDULER).jobs]
    as_read = [job.job_id for job in read_swf(lines, rules=_rules_in_file_order()).jobs]
    assert (by_submit, by_id, as_read) == ([2, 3, 1], [1, 2, 3], [3, 1, 2])


def _rules_in_file_order() -> CleaningRules:
    return CleaningRules(
        name="as-read",
        procs_rule="allocated_else_requested",
        negative_run_time=0,
        drop_zero_run_time=False,
        order="file",
    )


def test_header_read_leniently() -> None:
    lines = [
        "; Version: 2.2",
        "; MaxNodes: 338 (batch partition; 512 total)",
        ";\tand MaxProcs fields.",
        "; MaxProcs: 338",
        "; MaxNodes: 999",
        "",
        _line(10, 1, 1, 10),
    ]
    header = read_swf(lines).header
    assert (header.max_nodes, header.max_procs, header.processors) == (338, 338, 338)
    assert header.value("Version") == "2.2"
    assert header.value("Missing") is None
    assert header.lines == tuple(lines[:5])


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["; MaxNodes: 256"], (None, 256, 256)),  # Lublin: MaxNodes only
        (["; MaxProcs: 100", "; MaxNodes: 50"], (100, 50, 100)),
        (["; MaxProcs: unknown"], (None, None, None)),
        ([], (None, None, None)),
    ],
)
def test_header_capacity(lines: list[str], expected: tuple[int | None, ...]) -> None:
    header = SwfHeader(lines=tuple(lines))
    assert (header.max_procs, header.max_nodes, header.processors) == expected


def test_decimal_times_round_to_the_second() -> None:
    line = "1 10.4 0.5 99.5 2.0 142.00 -1 2 3600.0 -1 1 3 2 -1 -1 -1 -1 -1"
    (job,) = read_swf([line]).jobs
    assert (job.submit, job.trace_wait, job.run_time, job.procs, job.estimate) == (
        10,
        0,  # round-half-even, like Python's round()
        100,
        2,
        3600,
    )


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("1 2 3", "expected 18 fields, found 3"),
        (_line(10, 1, 1, 10).replace(" 7 ", " x7 ", 1), "field 3 is not a number: 'x7'"),
        (_line(10, 1, 1, 10).replace(" 7 ", " nan ", 1), "field 3 is not a number: 'nan'"),
        (_line(10, 1, 1, 10).replace(" 7 ", " inf ", 1), "field 3 is not a number: 'inf'"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad: str, problem: str) -> None:
    path = tmp_path / "bad.swf"
    path.write_text(f"; MaxProcs: 4\n{_line(10, 1, 1, 10)}\n{bad}\n")
    with pytest.raises(TraceFormatError) as caught:
        read_swf(path)
    assert str(caught.value) == f"{path}:3: {problem}"
    lenient = read_swf(path, strict=False)
    assert (lenient.lines, len(lenient.jobs), lenient.report) == (2, 1, ((DROP_MALFORMED, 1),))


def test_unused_fields_may_be_anything() -> None:
    line = _line(10, 1, 1, 10).split()
    line[5], line[15] = "142.00", "batch"  # average CPU time and partition are not read
    assert len(read_swf([" ".join(line)]).jobs) == 1


def test_gzip_found_by_magic_bytes(tmp_path: Path) -> None:
    text = f"; MaxProcs: 4\n{_line(10, 1, 1, 10)}\n{_line(20, 2, 2, 30, job_id=2)}\n"
    plain, packed = tmp_path / "trace.swf.gz", tmp_path / "trace.swf"  # names that lie
    plain.write_text(text)
    packed.write_bytes(gzip.compress(text.encode()))
    first, second = read_swf(plain), read_swf(packed)
    assert first.jobs == second.jobs
    assert len(first.jobs) == 2
    assert (first.source, second.source) == (str(plain), str(packed))


def test_count_reads_the_report() -> None:
    trace = read_swf([_line(10, -1, 4, -1), _line(10, -1, -1, 5)])
    assert trace.count(SET_ESTIMATE) == 1
    assert trace.count(DROP_NO_PROCS) == 1
    assert trace.count(DROP_NO_RUN_TIME) == 0


def test_demo_slice() -> None:
    trace = read_swf(DEMO_SWF)
    assert (trace.lines, len(trace.jobs), trace.report) == (2000, 2000, ())
    assert (trace.jobs[0].job_id, trace.jobs[-1].job_id) == (15, 2014)
    assert trace.header.processors == 100
    assert trace.header.value("Acknowledge") == "Lars Malinowsky"


# (file, rules, job lines, jobs kept, report, header processors): VALIDATION.md §A/§B and the
# data quirks of traces/README.md (KTH job 27313 has -1 processors; CTC 6 missing estimates; CEA
# 19 jobs without processors, 17,286 with run time 0; Lublin: no estimates, MaxNodes only).
KTH, CTC = "KTH-SP2-1996-2.1-cln.swf.gz", "CTC-SP2-1996-3.1-cln.swf.gz"
HPC2N, CEA = "HPC2N-2002-2.2-cln.swf.gz", "CEA-Curie-2011-2.1-cln.swf.gz"
LUBLIN1, LUBLIN2 = "lublin_256.swf.gz", "lublin_256_new2.swf.gz"
NO_EST = ((SET_ESTIMATE, 10000),)
SHARED: list[tuple[str, CleaningRules, int, int, Report, int]] = [
    (KTH, A, 28476, 28475, ((DROP_NO_PROCS, 1),), 100),
    (CTC, A, 77222, 77222, ((SET_ESTIMATE, 6),), 338),
    (HPC2N, A, 202871, 202871, (), 240),
    (LUBLIN1, A, 10000, 10000, NO_EST, 256),
    (LUBLIN2, A, 10000, 10000, NO_EST, 256),
    (CEA, A, 312826, 312807, ((DROP_NO_PROCS, 19), (SET_PROCS, 10893)), 93312),
    (KTH, B, 28476, 28467, ((DROP_NO_PROCS, 1), (DROP_NO_RUN_TIME, 8)), 100),
    (HPC2N, B, 202871, 202871, (), 240),
    (LUBLIN1, B, 10000, 10000, NO_EST, 256),
    (LUBLIN2, B, 10000, 10000, NO_EST, 256),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "rules", "lines", "kept", "report", "processors"),
    [pytest.param(*row, id=f"{row[0].split('.swf')[0]}/{row[1].name}") for row in SHARED],
)
def test_shared_trace_counts(
    name: str, rules: CleaningRules, lines: int, kept: int, report: Report, processors: int
) -> None:
    trace = read_swf(shared_trace(name), rules=rules)
    assert (trace.lines, len(trace.jobs), trace.report) == (lines, kept, report)
    assert trace.header.processors == processors
    assert all(job.procs > 0 and job.run_time >= 0 and job.estimate >= 0 for job in trace.jobs)
    key = (lambda j: (j.submit, j.job_id)) if rules is PWA_POOL else (lambda j: (j.job_id, 0))
    assert [key(job) for job in trace.jobs] == sorted(key(job) for job in trace.jobs)


def test_ctc_header_quirk() -> None:
    header = read_swf(shared_trace("CTC-SP2-1996-3.1-cln.swf.gz")).header
    assert header.value("MaxNodes") == "338 (batch partition; 512 total)"
    assert (header.max_nodes, header.max_procs) == (338, 338)


def test_package_exports_are_honest() -> None:
    modules = {"swf", "alibaba", "synthetic", "transform"}
    public = {name for name in vars(sim.workloads) if not name.startswith("_")} - modules
    assert set(sim.workloads.__all__) == public
    assert sim.workloads.TraceJob is swf.TraceJob
