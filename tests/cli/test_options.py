"""`cli.options`: getopt-style parsing, sbatch's table (SchedMD/slurm:src/common/slurm_opt.c)."""

from __future__ import annotations

import pytest

from cli.options import (
    SBATCH_OPTIONS,
    SBATCH_TABLE,
    ArgKind,
    CommandError,
    Option,
    OptionError,
    OptionTable,
)

# Every sbatch option, each spelling, with a value where it takes one: (argv, dest, value).
EVERY_OPTION = [
    (["-A", "lab"], "account", "lab"),
    (["--account=lab"], "account", "lab"),
    (["-a", "0-15"], "array", "0-15"),
    (["--array", "0-3%2"], "array", "0-3%2"),
    (["-b", "now+1hour"], "begin", "now+1hour"),
    (["--begin=16:00"], "begin", "16:00"),
    (["-D", "sub"], "chdir", "sub"),
    (["--chdir=/tmp"], "chdir", "/tmp"),
    (["-M", "all"], "clusters", "all"),
    (["--clusters=all"], "clusters", "all"),
    (["--comment=hello world"], "comment", "hello world"),
    (["-C", "a100&nvlink"], "constraint", "a100&nvlink"),
    (["--constraint", "a100"], "constraint", "a100"),
    (["--container-image=pytorch:24"], "image", "pytorch:24"),
    (["--image", "pytorch:24"], "image", "pytorch:24"),
    (["--cpus-per-gpu=8"], "cpus_per_gpu", "8"),
    (["-c", "4"], "cpus_per_task", "4"),
    (["-c4"], "cpus_per_task", "4"),
    (["--cpus-per-task", "4"], "cpus_per_task", "4"),
    (["-d", "afterok:12"], "dependency", "afterok:12"),
    (["--dependency=singleton"], "dependency", "singleton"),
    (["-e", "err.txt"], "error", "err.txt"),
    (["--error=%x-%j.err"], "error", "%x-%j.err"),
    (["-x", "n1"], "exclude", "n1"),
    (["--exclude=n[1-2]"], "exclude", "n[1-2]"),
    (["--exclusive"], "exclusive", None),
    (["--exclusive=user"], "exclusive", "user"),
    (["--export=NONE"], "export", "NONE"),
    (["--get-user-env"], "get_user_env", None),
    (["--get-user-env=10L"], "get_user_env", "10L"),
    (["-G", "2"], "gpus", "2"),
    (["--gpus=a100:2"], "gpus", "a100:2"),
    (["--gpus-per-node=4"], "gpus_per_node", "4"),
    (["--gpus-per-task", "1"], "gpus_per_task", "1"),
    (["--gres=gpu:2"], "gres", "gpu:2"),
    (["-h"], "help", None),
    (["--help"], "help", None),
    (["-H"], "hold", None),
    (["--hold"], "hold", None),
    (["-J", "train"], "name", "train"),
    (["-Jtrain"], "name", "train"),
    (["--job-name=train"], "name", "train"),
    (["--mail-type=END,FAIL"], "mail_type", "END,FAIL"),
    (["--mail-user", "a@b.c"], "mail_user", "a@b.c"),
    (["--mem=4G"], "mem", "4G"),
    (["--mem-per-cpu", "3584MB"], "mem_per_cpu", "3584MB"),
    (["--mem-per-gpu=27G"], "mem_per_gpu", "27G"),
    (["--nice"], "nice", None),
    (["--nice=10"], "nice", "10"),
    (["--no-requeue"], "requeue", "no"),
    (["-w", "n1"], "nodelist", "n1"),
    (["--nodelist=n1"], "nodelist", "n1"),
    (["-N", "1"], "nodes", "1"),
    (["--nodes=2"], "nodes", "2"),
    (["-n", "4"], "tasks", "4"),
    (["--ntasks=4"], "tasks", "4"),
    (["--ntasks-per-gpu=1"], "ntasks_per_gpu", "1"),
    (["--ntasks-per-node", "2"], "tasks_per_node", "2"),
    (["--open-mode=append"], "open_mode", "append"),
    (["-o", "out.txt"], "output", "out.txt"),
    (["--output=slurm-%A_%a.out"], "output", "slurm-%A_%a.out"),
    (["--parsable"], "parsable", None),
    (["-p", "gpu"], "partition", "gpu"),
    (["--partition=gpu"], "partition", "gpu"),
    (["-q", "high"], "qos", "high"),
    (["--qos=high"], "qos", "high"),
    (["-Q"], "quiet", None),
    (["--quiet"], "quiet", None),
    (["--requeue"], "requeue", "yes"),
    (["--reservation=maint"], "reservation", "maint"),
    (["--signal=B:USR2@30"], "signal", "B:USR2@30"),
    (["--test-only"], "test_only", None),
    (["-t", "00:30:00"], "time", "00:30:00"),
    (["--time=1-00:00:00"], "time", "1-00:00:00"),
    (["--usage"], "usage", None),
    (["-v"], "verbose", None),
    (["--verbose"], "verbose", None),
    (["-V"], "version", None),
    (["--version"], "version", None),
    (["--wckey=proj"], "wckey", "proj"),
    (["--wrap=echo hi"], "wrap", "echo hi"),
    (["--wrap", "echo hi"], "wrap", "echo hi"),
]


@pytest.mark.parametrize(("argv", "dest", "value"), EVERY_OPTION)
def test_every_sbatch_option_parses(argv: list[str], dest: str, value: str | None) -> None:
    parsed = SBATCH_TABLE.parse([*argv, "job.sh"])
    assert parsed.given(dest)
    if value is not None:
        assert parsed.value(dest) == value
    assert parsed.positionals == ("job.sh",)


def test_the_table_lists_every_option_of_the_contract() -> None:
    covered = {dest for _, dest, _ in EVERY_OPTION}
    assert covered == {option.dest for option in SBATCH_OPTIONS}


def test_parsing_stops_at_the_script_and_keeps_its_arguments_verbatim() -> None:
    parsed = SBATCH_TABLE.parse(["-J", "x", "job.sh", "--time=5", "-v", "--", "plain"])
    assert parsed.value("name") == "x"
    assert not parsed.given("time")
    assert parsed.positionals == ("job.sh", "--time=5", "-v", "--", "plain")


@pytest.mark.parametrize("flag", ["--exclusive", "--requeue", "--nice", "--get-user-env"])
def test_optional_argument_options_do_not_swallow_the_script(flag: str) -> None:
    parsed = SBATCH_TABLE.parse([flag, "job.sh"])
    assert parsed.positionals == ("job.sh",)


def test_a_required_argument_is_the_next_word_whatever_it_looks_like() -> None:
    assert SBATCH_TABLE.parse(["-J", "-x", "job.sh"]).value("name") == "-x"
    assert SBATCH_TABLE.parse(["--job-name", "--time"]).value("name") == "--time"


def test_short_flags_cluster_and_the_last_takes_the_rest() -> None:
    parsed = SBATCH_TABLE.parse(["-HQvJname"])
    assert parsed.given("hold")
    assert parsed.given("quiet")
    assert parsed.count("verbose") == 1
    assert parsed.value("name") == "name"


def test_verbose_counts() -> None:
    assert SBATCH_TABLE.parse(["-vv", "--verbose"]).count("verbose") == 3


def test_long_names_abbreviate_to_a_unique_prefix() -> None:
    parsed = SBATCH_TABLE.parse(["--part=debug", "--depend=afterok:1", "--job=x"])
    assert parsed.value("partition") == "debug"
    assert parsed.value("dependency") == "afterok:1"
    assert parsed.value("name") == "x"
    assert [o.spelled for o in parsed.occurrences] == ["--partition", "--dependency", "--job-name"]


def test_an_exact_name_wins_over_longer_ones() -> None:
    assert SBATCH_TABLE.parse(["--mem=4G"]).value("mem") == "4G"
    assert SBATCH_TABLE.parse(["--gpus=2"]).value("gpus") == "2"


def test_an_ambiguous_prefix_names_the_candidates() -> None:
    with pytest.raises(OptionError) as info:
        SBATCH_TABLE.parse(["--gpus-per=2"])
    assert info.value.lines == (
        "option '--gpus-per' is ambiguous; possibilities: '--gpus-per-node' '--gpus-per-task'",
    )


def test_a_later_occurrence_wins() -> None:
    parsed = SBATCH_TABLE.parse(["-t", "5", "--time=10", "--requeue", "--no-requeue"])
    assert parsed.value("time") == "10"
    assert parsed.value("requeue") == "no"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--blublu=12"], "unrecognized option '--blublu=12'"),
        (["--blublu"], "unrecognized option '--blublu'"),
        (["-z"], "invalid option -- 'z'"),
        (["--time"], "option '--time' requires an argument"),
        (["-t"], "option requires an argument -- 't'"),
        (["--hold=1"], "option '--hold' doesn't allow an argument"),
        (["--"], None),
    ],
)
def test_errors_are_worded_like_getopt(argv: list[str], message: str | None) -> None:
    if message is None:
        assert SBATCH_TABLE.parse(argv).positionals == ()
        return
    with pytest.raises(OptionError) as info:
        SBATCH_TABLE.parse(argv)
    assert info.value.lines == (message,)
    assert info.value.exit_code == 1
    assert info.value.render("sbatch") == (
        f'sbatch: error: {message}\nTry "sbatch --help" for more information\n'
    )


def test_gnu_order_collects_positionals_between_options() -> None:
    table = OptionTable("scancel", [Option("signal", ("signal",), "s")])
    parsed = table.parse(["12", "--signal", "USR1", "13"], stop_at_positional=False)
    assert parsed.positionals == ("12", "13")
    assert parsed.value("signal") == "USR1"


def test_a_short_option_with_an_optional_argument_takes_only_attached_text() -> None:
    table = OptionTable("x", [Option("extra", ("extra",), "x", ArgKind.OPTIONAL, const="on")])
    assert table.parse(["-x", "word"]).value("extra") == "on"
    assert table.parse(["-x", "word"]).positionals == ("word",)
    assert table.parse(["-xvalue"]).value("extra") == "value"


def test_repeated_options_keep_every_value() -> None:
    table = OptionTable("sacct", [Option("format", ("format",), "o")])
    parsed = table.parse(["-o", "JobID", "--format=State"])
    assert parsed.values("format") == ["JobID", "State"]


def test_then_lets_the_later_source_win_and_remembers_sources() -> None:
    script = SBATCH_TABLE.parse(["-t", "5", "-J", "s"], source="script")
    merged = script.then(SBATCH_TABLE.parse(["-t", "10", "job.sh"]))
    assert merged.value("time") == "10"
    assert merged.value("name") == "s"
    assert merged.given("name", source="script")
    assert not merged.given("name", source="command line")
    assert merged.positionals == ("job.sh",)


def test_inert_options_are_listed_once_as_written() -> None:
    parsed = SBATCH_TABLE.parse(["--exclusive", "--mail-type=END", "--exclusive", "-M", "c"])
    assert parsed.inert_options() == ["--exclusive", "--mail-type", "-M"]


def test_a_table_refuses_a_duplicate_long_name() -> None:
    with pytest.raises(ValueError, match="twice"):
        OptionTable("x", [Option("a", ("same",)), Option("b", ("same",))])


def test_help_text_lists_options_with_their_arguments() -> None:
    text = SBATCH_TABLE.help_text("sbatch [OPTIONS] script [args...]")
    assert text.startswith("Usage: sbatch [OPTIONS] script [args...]\n")
    assert "  -t, --time=VALUE" in text
    assert "  --exclusive[=VALUE]" in text
    assert "  -H, --hold " in text


def test_command_error_renders_every_line() -> None:
    error = CommandError("first", "second", exit_code=2)
    assert error.render("sbatch") == "sbatch: error: first\nsbatch: error: second\n"
    assert error.exit_code == 2
    assert Option("x", ("x",), arg=ArgKind.NONE).spelling == "--x"
    assert Option("x", (), "x").spelling == "-x"
