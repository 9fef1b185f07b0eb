"""`cli.submission` and `cli.sbatchvalues`: sbatch's argv + script -> the ``POST /v1/jobs`` body."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.options import CommandError, OptionError
from cli.sbatchscript import ScriptError
from cli.sbatchvalues import (
    parse_constraint,
    parse_count,
    parse_dependency,
    parse_export,
    parse_gpus,
    parse_gres,
    parse_nice,
    parse_open_mode,
    parse_signal,
    signal_number,
)
from cli.submission import (
    Submission,
    SubmitError,
    build_submission,
    parse_command_line,
    submitted_line,
)

NOW = int(datetime(2026, 11, 23, 15, 0, 0).timestamp())  # local time, whatever the zone
SCRIPT = "#!/bin/bash\necho hello\n"
ENV = {"HOME": "/home/ada", "PATH": "/usr/bin", "CONDA_PREFIX": "/opt/env", "SLURM_X": "1"}
# The keys docs/API.md documents for the body; the daemon refuses any other.
API_KEYS = {
    "script", "argv", "command", "workdir", "environment", "name", "output", "error",
    "open_mode", "partition", "account", "qos", "time", "nodes", "tasks", "tasks_per_node",
    "cpus_per_task", "cpus_per_gpu", "mem", "mem_per_cpu", "mem_per_gpu", "gpus_per_node",
    "gpus", "gpu_model", "constraint", "dependency", "dependency_any", "begin_time", "hold",
    "array", "requeue", "signal", "nice", "comment", "image", "test_only",
}  # fmt: skip


def submit(
    tmp_path: Path,
    *argv: str,
    script: str = SCRIPT,
    stdin: str | None = None,
    environ: dict[str, str] | None = None,
) -> Submission:
    (tmp_path / "job.sh").write_text(script)
    return build_submission(
        list(argv), stdin_text=stdin, cwd=str(tmp_path), environ=environ or ENV, now=NOW
    )


def body(tmp_path: Path, *argv: str, script: str = SCRIPT) -> dict[str, Any]:
    return submit(tmp_path, *argv, "job.sh", script=script).body


def test_a_plain_submission_snapshots_script_cwd_and_environment(tmp_path: Path) -> None:
    result = submit(tmp_path, "job.sh", "a", "--b")
    assert result.body == {
        "script": SCRIPT,
        "argv": ["a", "--b"],
        "command": "job.sh",
        "workdir": str(tmp_path),
        "environment": ENV,
        "name": "job.sh",
    }
    assert set(result.body) <= API_KEYS
    assert (result.parsable, result.quiet, result.verbose, result.cluster) == (
        False, False, 0, None,
    )  # fmt: skip


def test_an_absolute_script_path(tmp_path: Path) -> None:
    (tmp_path / "job.sh").write_text(SCRIPT)
    result = build_submission(
        [str(tmp_path / "job.sh")], stdin_text=None, cwd="/", environ={}, now=NOW
    )
    assert result.body["script"] == SCRIPT
    assert result.body["name"] == "job.sh"
    assert result.body["workdir"] == "/"


def test_a_missing_script(tmp_path: Path) -> None:
    with pytest.raises(SubmitError) as info:
        submit(tmp_path, "missing.sh")
    assert info.value.render("sbatch") == "sbatch: error: Unable to open file missing.sh\n"


def test_no_script_path_reads_standard_input(tmp_path: Path) -> None:
    result = submit(tmp_path, "-J", "piped", stdin="#!/bin/sh\n#SBATCH -t 5\nhostname\n")
    assert result.body["script"] == "#!/bin/sh\n#SBATCH -t 5\nhostname\n"
    assert result.body["time"] == "5"
    assert result.body["name"] == "piped"
    assert "command" not in result.body
    assert submit(tmp_path, stdin=SCRIPT).body["name"] == "sbatch"


def test_dev_stdin_is_standard_input(tmp_path: Path) -> None:
    result = submit(tmp_path, "/dev/stdin", "arg", stdin=SCRIPT)
    assert (result.body["name"], result.body["command"], result.body["argv"]) == (
        "stdin", "/dev/stdin", ["arg"],
    )  # fmt: skip


def test_empty_standard_input_is_an_empty_script(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="Batch script is empty!"):
        submit(tmp_path, stdin=None)


def test_script_checks_apply_to_files(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="DOS line breaks"):
        submit(tmp_path, "job.sh", script="#!/bin/sh\r\necho\r\n")


def test_wrap_builds_the_script_and_takes_no_arguments(tmp_path: Path) -> None:
    result = submit(tmp_path, "--parsable", "--wrap=python -c 'print(1)'")
    assert result.body["script"] == (
        "#!/bin/sh\n# This script was created by sbatch --wrap.\n\npython -c 'print(1)'\n"
    )
    assert result.body["name"] == "wrap"
    assert result.body["command"] == "python -c 'print(1)'"
    assert result.parsable
    with pytest.raises(SubmitError) as info:
        submit(tmp_path, "--wrap", "true", "job.sh")
    assert info.value.lines == ("Script arguments not permitted with --wrap option",)


def test_the_command_line_beats_the_script(tmp_path: Path) -> None:
    script = "#!/bin/sh\n#SBATCH -J from_script -t 5\n#SBATCH --partition=a -o s.out\nhostname\n"
    result = body(tmp_path, "-t", "10", "--partition", "b", script=script)
    assert (result["name"], result["time"], result["partition"], result["output"]) == (
        "from_script", "10", "b", "s.out",
    )  # fmt: skip


def test_a_word_that_is_no_option_is_an_invalid_directive(tmp_path: Path) -> None:
    with pytest.raises(SubmitError) as info:
        body(tmp_path, script="#!/bin/sh\n#SBATCH -J x stray\n")
    assert info.value.lines == ("Invalid directive found in batch script: stray",)


def test_an_unknown_directive_is_refused_like_an_unknown_option(tmp_path: Path) -> None:
    with pytest.raises(OptionError) as info:
        body(tmp_path, script="#!/bin/sh\n#SBATCH --blublu=12\n")
    assert info.value.render("sbatch") == (
        "sbatch: error: unrecognized option '--blublu=12'\n"
        "sbatch: error: in the #SBATCH lines of job.sh\n"
        'Try "sbatch --help" for more information\n'
    )


def test_wrap_is_not_a_directive(tmp_path: Path) -> None:
    with pytest.raises(SubmitError, match="--wrap"):
        body(tmp_path, script="#!/bin/sh\n#SBATCH --wrap=true\n")


@pytest.mark.parametrize(
    "value", ["30", "30:00", "1:30:00", "51:00:00", "1-00", "1-12:00", "1-00:00:00", "UNLIMITED"]
)
def test_time_limits_go_as_written(tmp_path: Path, value: str) -> None:
    assert body(tmp_path, "-t", value)["time"] == value
    assert body(tmp_path, f"--time={value}")["time"] == value


@pytest.mark.parametrize("value", ["4GB", "3584MB", "27G", "1000", "16g", "3072M", "512K", "0"])
@pytest.mark.parametrize("option", ["mem", "mem-per-cpu", "mem-per-gpu"])
def test_memory_sizes_go_as_written(tmp_path: Path, option: str, value: str) -> None:
    assert body(tmp_path, f"--{option}={value}")[option.replace("-", "_")] == value


@pytest.mark.parametrize("option", ["--time", "--mem"])
def test_an_empty_time_or_memory_is_refused(tmp_path: Path, option: str) -> None:
    with pytest.raises(SubmitError) as info:
        body(tmp_path, f"{option}=")
    assert info.value.lines == (f"Invalid {option} specification",)


def test_memory_options_exclude_each_other_unless_the_command_line_decides(
    tmp_path: Path,
) -> None:
    with pytest.raises(SubmitError) as info:
        body(tmp_path, "--mem=4G", "--mem-per-cpu=1G")
    assert info.value.lines == ("--mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive.",)
    result = body(tmp_path, "--mem-per-cpu=1G", script="#!/bin/sh\n#SBATCH --mem=4G\n")
    assert result["mem_per_cpu"] == "1G"
    assert "mem" not in result


@pytest.mark.parametrize(
    ("argv", "key", "value"),
    [
        (["-N", "2"], "nodes", 2),
        (["--nodes=2"], "nodes", 2),
        (["-n", "4"], "tasks", 4),
        (["--ntasks-per-node=2"], "tasks_per_node", 2),
        (["-c", "8"], "cpus_per_task", 8),
        (["--cpus-per-gpu=4"], "cpus_per_gpu", 4),
        (["-p", "gpu"], "partition", "gpu"),
        (["-A", "lab"], "account", "lab"),
        (["-q", "high"], "qos", "high"),
        (["-o", "out-%j.txt"], "output", "out-%j.txt"),
        (["-e", "err-%j.txt"], "error", "err-%j.txt"),
        (["--comment=note"], "comment", "note"),
        (["--container-image=pytorch:24.01"], "image", "pytorch:24.01"),
        (["--image=pytorch:24.01"], "image", "pytorch:24.01"),
        (["-H"], "hold", True),
        (["--test-only"], "test_only", True),
        (["--requeue"], "requeue", True),
        (["--no-requeue"], "requeue", False),
        (["--nice"], "nice", 100),
        (["--nice=5"], "nice", 5),
        (["--nice=-5"], "nice", -5),
        (["--open-mode=append"], "open_mode", "append"),
        (["--open-mode=truncate"], "open_mode", "truncate"),
        (["-C", "a100&nvlink"], "constraint", ["a100", "nvlink"]),
        (["-D", "sub/../run"], "workdir", "run"),
        (["--chdir=/scratch"], "workdir", "/scratch"),
    ],
)
def test_options_map_to_body_keys(tmp_path: Path, argv: list[str], key: str, value: Any) -> None:
    result = body(tmp_path, *argv)
    expected = str(tmp_path / value) if key == "workdir" and value == "run" else value
    assert result[key] == expected
    assert set(result) <= API_KEYS


def test_reporting_options(tmp_path: Path) -> None:
    result = submit(tmp_path, "--parsable", "-Q", "-vv", "-M", "c1", "--exclusive", "job.sh")
    assert (result.parsable, result.quiet, result.verbose, result.cluster) == (True, True, 2, "c1")
    assert result.inert == ("-M", "--exclusive")
    assert set(result.body) <= API_KEYS


def test_inert_options_reach_no_body_key(tmp_path: Path) -> None:
    inert = ["--mail-type=END", "--mail-user=a@b", "--wckey=w", "--reservation=r", "-x", "n1",
             "-w", "n2", "--ntasks-per-gpu=1", "--get-user-env", "--exclusive", "-M",
             "all"]  # fmt: skip
    result = submit(tmp_path, *inert, "job.sh")
    assert set(result.body) == {"script", "argv", "command", "workdir", "environment", "name"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--gres=gpu:2"], {"gpus_per_node": 2}),
        (["--gres=gpu:a100:2"], {"gpus_per_node": 2, "gpu_model": "a100"}),
        (["--gres=gpu"], {"gpus_per_node": 1}),
        (["--gres=gpu:a100"], {"gpus_per_node": 1, "gpu_model": "a100"}),
        (["--gres=none"], {"gpus_per_node": 0}),
        (["--gpus-per-node=4"], {"gpus_per_node": 4}),
        (["--gpus-per-node=v100:4"], {"gpus_per_node": 4, "gpu_model": "v100"}),
        (["--gpus=4"], {"gpus": 4}),
        (["-G", "a100:2"], {"gpus": 2, "gpu_model": "a100"}),
        (["--gpus-per-task=2", "-n", "3"], {"gpus": 6, "tasks": 3}),
        (["--gpus-per-task=1", "-N", "2"], {"gpus": 2, "nodes": 2}),
        (["--gpus-per-task=1", "-N", "2", "--ntasks-per-node=2"],
         {"gpus": 4, "nodes": 2, "tasks_per_node": 2}),
    ],
)  # fmt: skip
def test_gpu_requests(tmp_path: Path, argv: list[str], expected: dict[str, object]) -> None:
    result = body(tmp_path, *argv)
    assert {k: v for k, v in result.items() if k in expected or k.startswith("gpu")} == expected


def test_per_job_and_per_node_gpus_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(SubmitError, match="not both"):
        body(tmp_path, "--gres=gpu:2", "--gpus=4")
    result = body(tmp_path, "--gpus=4", script="#!/bin/sh\n#SBATCH --gres=gpu:2\n")
    assert (result["gpus"], "gpus_per_node" in result) == (4, False)
    with pytest.raises(SubmitError, match="conflicting GPU types"):
        body(tmp_path, "--gres=gpu:a100:1", "--gpus-per-node=v100:1")


@pytest.mark.parametrize(
    ("spec", "indices", "throttle"),
    [
        ("0-15", list(range(16)), None),
        ("0-15:4", [0, 4, 8, 12], None),
        ("1,3,5-7", [1, 3, 5, 6, 7], None),
        ("0-9%2", list(range(10)), 2),
        ("7", [7], None),
        ("0-1000", list(range(1001)), None),
        ("3%0", [3], None),
    ],
)
def test_arrays_are_expanded(
    tmp_path: Path, spec: str, indices: list[int], throttle: int | None
) -> None:
    assert body(tmp_path, f"--array={spec}")["array"] == {"indices": indices, "throttle": throttle}
    assert body(tmp_path, "-a", spec)["array"]["indices"] == indices


@pytest.mark.parametrize("spec", ["0-1001", "1001", "5-3", "a-b", "", "1,,2", "0-8:0", "1%x"])
def test_bad_arrays_are_refused(tmp_path: Path, spec: str) -> None:
    with pytest.raises(SubmitError, match="Invalid job array specification"):
        body(tmp_path, f"--array={spec}")


def test_max_array_size_is_the_callers(tmp_path: Path) -> None:
    (tmp_path / "job.sh").write_text(SCRIPT)
    with pytest.raises(SubmitError, match="MaxArraySize=10"):
        build_submission(
            ["-a", "0-10", "job.sh"], stdin_text=None, cwd=str(tmp_path), environ={}, now=NOW,
            max_array_size=10,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected", "any_of"),
    [
        ("afterok:12", [{"kind": "afterok", "job_id": 12}], False),
        (
            "afterok:1:2,afterany:3",
            [
                {"kind": "afterok", "job_id": 1},
                {"kind": "afterok", "job_id": 2},
                {"kind": "afterany", "job_id": 3},
            ],
            False,
        ),
        (
            "afterok:1?afternotok:2",
            [{"kind": "afterok", "job_id": 1}, {"kind": "afternotok", "job_id": 2}],
            True,
        ),
        ("singleton", [{"kind": "singleton"}], False),
        ("after:123_4", [{"kind": "after", "job_id": 123, "array_task_id": 4}], False),
        ("AfterOK:5", [{"kind": "afterok", "job_id": 5}], False),
        ("42", [{"kind": "afterany", "job_id": 42}], False),
        (
            "afterany:7,singleton",
            [{"kind": "afterany", "job_id": 7}, {"kind": "singleton"}],
            False,
        ),
    ],
)
def test_dependencies(text: str, expected: list[dict[str, object]], any_of: bool) -> None:
    assert parse_dependency(text) == (expected, any_of)


def test_dependencies_in_the_body(tmp_path: Path) -> None:
    result = body(tmp_path, "-d", "afterok:1?afterok:2")
    assert result["dependency"] == [
        {"kind": "afterok", "job_id": 1},
        {"kind": "afterok", "job_id": 2},
    ]
    assert result["dependency_any"] is True
    assert "dependency_any" not in body(tmp_path, "--dependency=afterok:1")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("afterok:1,afterok:2?afterok:3", "mix of"),
        ("aftercorr:1", "aftercorr"),
        ("afterburstbuffer:1", "afterburstbuffer"),
        ("after:1+10", "delay"),
        ("afterok:x", "invalid job id"),
        ("afterok:", "invalid job id"),
        ("afterok:12_*", "invalid job id"),
    ],
)
def test_bad_dependencies(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="Job dependency problem") as info:
        parse_dependency(text)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("text", "signum", "seconds", "batch_only"),
    [
        ("USR1", 10, 60, False),
        ("SIGUSR2@90", 12, 90, False),
        ("B:TERM@30", 15, 30, True),
        ("b:sigusr2@5", 12, 5, True),
        ("10", 10, 60, False),
        ("12@0", 12, 0, False),
        ("HUP@65535", 1, 65535, False),
        ("int", 2, 60, False),
    ],
)
def test_signals(text: str, signum: int, seconds: int, batch_only: bool) -> None:
    assert parse_signal(text) == {"signum": signum, "seconds": seconds, "batch_only": batch_only}


@pytest.mark.parametrize("text", ["FOO", "USR1@x", "USR1@70000", "R:USR1", "0", "65", "", "@5"])
def test_bad_signals(text: str) -> None:
    with pytest.raises(ValueError, match=r"^Invalid --signal specification$"):
        parse_signal(text)


def test_signal_names_cover_slurms_list() -> None:
    names = ["HUP", "INT", "QUIT", "ABRT", "KILL", "ALRM", "TERM", "USR1", "USR2", "URG",
             "CONT", "STOP", "TSTP", "TTIN", "TTOU"]  # fmt: skip
    assert all(signal_number(name) == signal_number(f"SIG{name}") is not None for name in names)


def test_signal_in_the_body(tmp_path: Path) -> None:
    assert body(tmp_path, "--signal=B:USR2@30")["signal"] == {
        "signum": 12, "seconds": 30, "batch_only": True,
    }  # fmt: skip


def _local(day: datetime) -> int:
    return int(day.timestamp())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("now+1hour", NOW + 3600),
        ("now+90", NOW + 90),
        ("now+30minutes", NOW + 1800),
        ("now+2days", NOW + 2 * 86400),
        ("2026-11-23T10:00", _local(datetime(2026, 11, 23, 10, 0))),
        ("2026-11-23T10:00:30", _local(datetime(2026, 11, 23, 10, 0, 30))),
        ("2026-12-01", _local(datetime(2026, 12, 1))),
        ("16:00", _local(datetime(2026, 11, 23, 16, 0))),
        ("14:00", _local(datetime(2026, 11, 24, 14, 0))),  # past today: tomorrow
        ("16:00:30", _local(datetime(2026, 11, 23, 16, 0, 30))),
        ("teatime", _local(datetime(2026, 11, 23, 16, 0))),
        ("tomorrow", _local(datetime(2026, 11, 24))),
    ],
)
def test_begin_times(tmp_path: Path, text: str, expected: int) -> None:
    assert body(tmp_path, f"--begin={text}")["begin_time"] == expected


def test_a_bad_begin_time(tmp_path: Path) -> None:
    with pytest.raises(SubmitError) as info:
        body(tmp_path, "-b", "yesterday-ish")
    assert info.value.lines == ("Invalid time specification: yesterday-ish",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ALL", ENV),
        ("all", ENV),
        ("NONE", {}),
        ("NIL", {}),
        ("ALL,EXTRA=x", {**ENV, "EXTRA": "x"}),
        ("ALL,PATH=/bin", {**ENV, "PATH": "/bin"}),
        ("HOME,PATH", {"HOME": "/home/ada", "PATH": "/usr/bin"}),
        ("HOME,MISSING", {"HOME": "/home/ada"}),
        ("A=1,B='x,y'", {"A": "1", "B": "x,y"}),
        ('A="quoted"', {"A": "quoted"}),
    ],
)
def test_export(value: str, expected: dict[str, str]) -> None:
    assert parse_export(value, ENV) == expected


def test_export_in_the_body_defaults_to_all(tmp_path: Path) -> None:
    assert body(tmp_path)["environment"] == ENV
    assert body(tmp_path, "--export=NONE")["environment"] == {}
    assert body(tmp_path, script="#!/bin/sh\n#SBATCH --export=HOME\n")["environment"] == {
        "HOME": "/home/ada"
    }
    with pytest.raises(SubmitError, match="Invalid --export"):
        body(tmp_path, "--export==x")


@pytest.mark.parametrize(
    ("value", "option", "message"),
    [
        ("x", "--nodes", 'Invalid numeric value "x" for --nodes.'),
        ("", "--ntasks", 'Invalid numeric value "" for --ntasks.'),
        ("0", "--ntasks", "Invalid --ntasks specification"),
        ("-2", "--cpus-per-task", "Invalid --cpus-per-task specification"),
        ("1.5", "--nodes", 'Invalid numeric value "1.5" for --nodes.'),
    ],
)
def test_bad_counts(value: str, option: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^Invalid ") as info:
        parse_count(value, option)
    assert str(info.value) == message


def test_bad_counts_in_the_body_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(SubmitError) as info:
        body(tmp_path, "-N", "two")
    assert info.value.lines == ('Invalid numeric value "two" for -N.',)


def test_values_parsers_refuse_what_berth_cannot_do() -> None:
    with pytest.raises(ValueError, match="Invalid generic resource"):
        parse_gres("mps:100")
    with pytest.raises(ValueError, match="Invalid generic resource"):
        parse_gres("gpu:a100:two")
    with pytest.raises(ValueError, match="Invalid --gpus specification"):
        parse_gpus("a100", "--gpus")
    with pytest.raises(ValueError, match="Invalid feature specification"):
        parse_constraint("a|b")
    with pytest.raises(ValueError, match="Invalid --open-mode argument"):
        parse_open_mode("sideways")
    with pytest.raises(ValueError, match=r'Invalid numeric value "x" for --nice\.'):
        parse_nice("x")
    with pytest.raises(ValueError, match="Invalid --nice value"):
        parse_nice("9999999999")
    assert parse_open_mode("A") == "append"
    assert parse_gres("gres/gpu:3") == (3, None)
    assert parse_constraint("a,b&c") == ["a", "b", "c"]


def test_bad_values_render_as_sbatch_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as info:
        body(tmp_path, "--gres=mps:1")
    assert info.value.render("sbatch") == (
        "sbatch: error: Invalid generic resource (gres) specification\n"
        "sbatch: error: 'mps:1': Berth knows one generic resource, gpu[:type][:count]\n"
    )


def test_parse_command_line_is_the_table_alone() -> None:
    parsed = parse_command_line(["--help"])
    assert parsed.given("help")
    assert parsed.positionals == ()


@pytest.mark.parametrize(
    ("parsable", "cluster", "line"),
    [
        (False, None, "Submitted batch job 12\n"),
        (True, None, "12\n"),
        (False, "c1", "Submitted batch job 12 on cluster c1\n"),
        (True, "c1", "12;c1\n"),
    ],
)
def test_submitted_line(parsable: bool, cluster: str | None, line: str) -> None:
    assert submitted_line(12, parsable=parsable, cluster=cluster) == line


def test_begin_at_a_time_already_past_today_is_tomorrow(tmp_path: Path) -> None:
    tomorrow = datetime.fromtimestamp(NOW) + timedelta(days=1)
    expected = _local(tomorrow.replace(hour=9, minute=0, second=0))
    assert body(tmp_path, "--begin=09:00")["begin_time"] == expected
