"""`sim.runner`: exact metrics of a hand-computed trace, machines, slicing, JSON keys, errors."""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from scheduler import BackfillMode, ConfigError
from sim.policies import PolicyError, policy_named
from sim.rlscheduler import VARIANTS, run_window
from sim.runner import (
    DROP_NEVER_FITS,
    RunSpec,
    SpecError,
    check,
    demo_trace,
    resolve_policy,
    run_spec,
)
from sim.workloads import RLSCHEDULER, TraceFormatError, read_swf
from tests.sim import shared_trace


def swf_line(job: int, submit: int, run: int, procs: int, estimate: int, user: int = 1) -> str:
    """One SWF line: fields 1, 2, 4, 5 (allocated), 8 (requested), 9 (estimate), 11, 12 set."""
    fields = [job, submit, -1, run, procs, -1, -1, procs, estimate, -1, 1, user, 1]
    return " ".join(map(str, fields + [-1] * 5))


# Four jobs on MaxProcs 4, checked by hand (VALIDATION.md §A event order):
#   job submit run procs estimate
#   1     0    100  2     100
#   2    10     50  4      50
#   3    20     30  2      40
#   4    30    200  1     200
# FCFS: 1 runs 0-100; 2 (4 procs) waits for 1, runs 100-150; 3 and 4 queue behind 2 and start
#   at 150 (3 ends 180, 4 ends 350). Waits 0, 90, 130, 120: mean 85, median (90 + 120) / 2 =
#   105, p95 (rank ceil(3.8) = 4) 130, max 130. Bounded slowdowns 1, (90 + 50) / 50 = 2.8,
#   (130 + 30) / 30 = 16/3, (120 + 200) / 200 = 1.6: mean 32.2 / 3 / 4 = 161 / 60.
# EASY: at 10, job 2 is reserved at the shadow time 100 (job 1's estimate) with 0 extra
#   processors; at 20 job 3 backfills (20 + 40 <= 100) and runs 20-50; job 4 ends after the
#   shadow time with no extra processors, so it waits for job 2: 150-350. Waits 0, 90, 0, 120:
#   mean 52.5, median 45, p95 120; bounded slowdowns 1, 2.8, 1, 1.6: mean 1.6.
# Both: makespan 350 - 0, work 2*100 + 4*50 + 2*30 + 1*200 = 660, utilization 660 / 1400.
TINY = ["; MaxProcs: 4", swf_line(1, 0, 100, 2, 100), swf_line(2, 10, 50, 4, 50)]
TINY += [swf_line(3, 20, 30, 2, 40, user=2), swf_line(4, 30, 200, 1, 200, user=2)]
DESIGN_KEYS = {
    "jobs": int,
    "policy": str,
    "mean_wait_s": float,
    "median_wait_s": float,
    "p95_wait_s": int,
    "mean_bounded_slowdown": float,
    "utilization": float,
    "makespan_s": int,
    "sim_wall_s": float,
    "jobs_per_s": float,
}
SITE_TOML = """
[[nodes]]
name = "n[1-2]"
cpus = 2
mem = "1G"

[[partitions]]
name = "batch"
nodes = "ALL"
default = true

[policy]
backfill = "fcfs"

[policy.weights]
age = 0
fairshare = 0
job_size = 0
partition = 0
qos = 0
assoc = 0
"""


def write_trace(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    return write_trace(tmp_path / "tiny.swf", TINY)


def waits(spec: RunSpec) -> list[int]:
    return [record.wait for record in run_spec(spec).sim.records]


def test_fcfs_metrics_are_exact(tiny: str) -> None:
    result = run_spec(RunSpec(trace=tiny, policy="fcfs"))
    assert [r.wait for r in result.sim.records] == [0, 90, 130, 120]
    s = result.summary
    assert (s.jobs, s.mean_wait_s, s.median_wait_s, s.p95_wait_s, s.max_wait_s) == (
        4, 85.0, 105.0, 130, 130,
    )  # fmt: skip
    assert math.isclose(s.mean_bounded_slowdown, 161 / 60)
    assert s.makespan_s == 350
    assert math.isclose(s.utilization, 660 / 1400)
    assert result.capacity == 4
    assert result.machine == "pool of 4 processors"
    assert result.sim.unfinished == ()


def test_easy_metrics_are_exact(tiny: str) -> None:
    result = run_spec(RunSpec(trace=tiny, policy="easy"))
    assert [r.wait for r in result.sim.records] == [0, 90, 0, 120]
    s = result.summary
    assert (s.mean_wait_s, s.median_wait_s, s.p95_wait_s) == (52.5, 45.0, 120)
    assert math.isclose(s.mean_bounded_slowdown, 1.6)
    assert s.makespan_s == 350


def test_sjf_and_conservative_match_easy_here(tiny: str) -> None:
    # SJF (no backfill): at 20 the queue is 3 (estimate 40) before 2 (50): 3 fits and starts.
    assert waits(RunSpec(trace=tiny, policy="sjf")) == [0, 90, 0, 120]
    # Conservative: job 4 cannot end before job 2's reservation at 100, so it starts at 150.
    assert waits(RunSpec(trace=tiny, policy="conservative")) == [0, 90, 0, 120]


def test_queue_samples_are_the_pending_count_where_it_changed(tiny: str) -> None:
    result = run_spec(RunSpec(trace=tiny, policy="fcfs"))
    samples = list(zip(result.queue_times, result.queue_lengths, strict=True))
    assert samples == [(0, 0), (10, 1), (20, 2), (30, 3), (100, 2), (150, 0)]


def test_json_has_design_keys_with_types(tiny: str) -> None:
    data = run_spec(RunSpec(trace=tiny, policy="easy")).as_dict()
    for key, kind in DESIGN_KEYS.items():
        assert isinstance(data[key], kind), key
    assert list(data)[:2] == ["jobs", "policy"]
    assert data["policy"] == "easy"
    assert data["max_wait_s"] == 120
    assert data["trace"] == "tiny.swf"
    assert (data["backfill"], data["queue_order"], data["kill_at_limit"]) == (
        "easy", "priority", False,
    )  # fmt: skip
    assert data["sim_wall_s"] > 0
    assert data["jobs_per_s"] > 0
    json.dumps(data)


def test_progress_ends_with_every_job_started(tiny: str) -> None:
    calls: list[tuple[int, int]] = []
    run_spec(RunSpec(trace=tiny, policy="easy"), progress=lambda s, t: calls.append((s, t)))
    assert calls[-1] == (4, 4)


def test_jobs_run_to_their_run_time_unless_killed_at_the_limit(tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "late.swf", ["; MaxProcs: 1", swf_line(1, 0, 100, 1, 50)])
    assert run_spec(RunSpec(trace=trace)).sim.records[0].run == 100
    killed = run_spec(RunSpec(trace=trace, kill_at_limit=True))
    assert killed.sim.records[0].run == 50
    assert killed.as_dict()["kill_at_limit"] is True


def test_jobs_that_never_fit_are_dropped_and_counted(tmp_path: Path) -> None:
    lines = [*TINY, swf_line(5, 40, 10, 8, 10)]  # 8 processors on a 4-processor pool
    result = run_spec(RunSpec(trace=write_trace(tmp_path / "wide.swf", lines)))
    assert result.summary.jobs == 4
    assert dict(result.report) == {DROP_NEVER_FITS: 1}
    assert result.as_dict()["trace_report"] == {DROP_NEVER_FITS: 1}


def test_procs_nodes_and_slices(tiny: str) -> None:
    bigger = run_spec(RunSpec(trace=tiny, policy="fcfs", procs=8))
    assert bigger.capacity == 8
    # 8 processors: 1, 2 and 3 fit at once (2 + 4 + 2); 4 waits for 3 to end at 50.
    assert [r.wait for r in bigger.sim.records] == [0, 0, 0, 20]
    nodes = run_spec(RunSpec(trace=tiny, policy="fcfs", nodes=2, cores=2, whole_nodes=True))
    assert nodes.machine == "2 nodes x 2 cores, whole nodes"
    assert [r.wait for r in nodes.sim.records] == [0, 90, 130, 120]
    assert run_spec(RunSpec(trace=tiny, first=2)).summary.jobs == 2
    window = run_spec(RunSpec(trace=tiny, window=(1, 2)))
    assert [r.job_id for r in window.sim.records] == [2, 3]


def test_site_cluster_and_its_policy(tiny: str, tmp_path: Path) -> None:
    site = tmp_path / "berth.toml"
    site.write_text(SITE_TOML)
    spec = RunSpec(trace=tiny, policy="site", cluster=str(site))
    assert resolve_policy(spec).backfill is BackfillMode.FCFS
    result = run_spec(spec)
    assert result.capacity == 4
    assert result.machine == f"{site} (2 nodes)"
    assert [r.wait for r in result.sim.records] == [0, 90, 130, 120]  # FCFS, as above
    easy = run_spec(RunSpec(trace=tiny, policy="easy", cluster=str(site)))
    assert [r.wait for r in easy.sim.records] == [0, 90, 0, 120]


def test_demo_trace_is_bundled() -> None:
    with demo_trace() as path:
        data = Path(path).read_bytes()
        assert data[:2] == b"\x1f\x8b"
        assert gzip.decompress(data).count(b"\n") > 2000


def test_a_policy_value_is_used_as_given(tiny: str) -> None:
    spec = RunSpec(trace=tiny, policy=policy_named("fcfs"))
    assert spec.name == "custom"
    assert RunSpec(trace=tiny, policy="fcfs", label="mine").name == "mine"
    assert waits(spec) == [0, 90, 130, 120]


@pytest.mark.parametrize(
    ("changes", "error", "fragment"),
    [
        ({"trace": "missing.swf"}, SpecError, "trace file not found: missing.swf"),
        ({"policy": "lifo"}, PolicyError, "unknown policy 'lifo'"),
        ({"rules": "mine"}, SpecError, "unknown cleaning rules"),
        ({"procs": 0}, SpecError, "--procs must be at least 1"),
        ({"nodes": 2}, SpecError, "--nodes and --cores go together"),
        ({"nodes": 2, "cores": 2, "procs": 4}, SpecError, "give one machine"),
        ({"first": 1, "window": (0, 1)}, SpecError, "--first or --window"),
        ({"window": (-1, 1)}, SpecError, "must not be negative"),
        ({"cluster": "missing.toml"}, SpecError, "cluster file not found"),
        ({"events": "shuffled"}, SpecError, "unknown event order 'shuffled'; choose from"),
    ],
)
def test_check_rejects_bad_specs(
    tiny: str, changes: dict[str, object], error: type[Exception], fragment: str
) -> None:
    spec = RunSpec(**{"trace": tiny, **changes})  # type: ignore[arg-type]
    with pytest.raises(error, match=fragment):
        check(spec)


def test_run_errors(tiny: str, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"passes the end"):
        run_spec(RunSpec(trace=tiny, window=(3, 2)))
    bad = write_trace(tmp_path / "bad.swf", [TINY[1], "1 2 3"])
    with pytest.raises(TraceFormatError, match=r"bad.swf:2: expected 18 fields"):
        run_spec(RunSpec(trace=bad))
    headless = write_trace(tmp_path / "headless.swf", TINY[1:])
    with pytest.raises(SpecError, match=r"no MaxProcs or MaxNodes header line; give --procs"):
        run_spec(RunSpec(trace=headless))
    assert run_spec(RunSpec(trace=headless, procs=4)).summary.jobs == 4


def test_cluster_file_errors(tiny: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[nodes]\n")
    with pytest.raises(SpecError, match=r"not valid TOML"):
        check(RunSpec(trace=tiny, cluster=str(broken)))
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[[nodes]]\nname = "a"\ncpus = -1\n')
    with pytest.raises(ConfigError):
        run_spec(RunSpec(trace=tiny, cluster=str(wrong)))
    bad_policy = tmp_path / "policy.toml"
    bad_policy.write_text('[[nodes]]\nname = "a"\ncpus = 4\nmem = 1\n[policy]\nbackfill = "x"\n')
    with pytest.raises(SpecError, match=r"policy.toml: \[policy\] backfill"):
        check(RunSpec(trace=tiny, cluster=str(bad_policy)))
    not_table = tmp_path / "scalar.toml"
    not_table.write_text('policy = 3\n[[nodes]]\nname = "a"\ncpus = 4\nmem = 1024\n')
    with pytest.raises(SpecError, match=r"\[policy\] must be a table"):
        check(RunSpec(trace=tiny, cluster=str(not_table)))


def test_rl_policies_with_single_events_replay_rlschedulers_window() -> None:
    """``berth sim --policy rl-fcfs-greedy --events singly`` on §B's machine and window is
    `sim.rlscheduler.run_window`; batched events decide differently on this window."""
    trace = str(shared_trace("lublin_256.swf.gz"))
    machine = {"nodes": 256, "cores": 1, "whole_nodes": True, "rules": "rlscheduler"}
    spec = RunSpec(trace=trace, policy="rl-fcfs-greedy", window=(1981, 1024), **machine)  # type: ignore[arg-type]
    singly = run_spec(replace(spec, events="singly")).summary.mean_bounded_slowdown
    batched = run_spec(spec).summary.mean_bounded_slowdown
    expected, _ = run_window(read_swf(trace, rules=RLSCHEDULER), 1981, VARIANTS["FCFS+greedy"])
    assert singly == expected
    assert batched != expected
