"""`cli.sbatchscript`: script checks, ``--wrap``, ``#SBATCH`` words (SchedMD/slurm:src/sbatch)."""

from __future__ import annotations

import pytest

from cli.sbatchscript import (
    ScriptError,
    read_directives,
    script_text,
    split_directive,
    wrap_script,
)


def test_wrap_is_slurms_script_byte_for_byte() -> None:
    assert wrap_script("python train.py --lr 0.1") == (
        "#!/bin/sh\n# This script was created by sbatch --wrap.\n\npython train.py --lr 0.1\n"
    )


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", ("Batch script is empty!",)),
        (b"  \n\t\n", ("Batch script contains only whitespace!",)),
        (
            b"echo hi\n",
            (
                "This does not look like a batch script.  The first",
                "line must start with #! followed by the path to an interpreter.",
                "For instance: #!/bin/sh",
            ),
        ),
        (
            b"#!/bin/sh\necho \0\n",
            ("The Slurm controller does not allow scripts that", "contain a NULL character '\\0'."),
        ),
        (
            b"#!/bin/sh\r\necho hi\r\n",
            (
                "Batch script contains DOS line breaks (\\r\\n)",
                "instead of expected UNIX line breaks (\\n).",
            ),
        ),
    ],
)
def test_bad_scripts_are_refused_with_slurms_words(data: bytes, lines: tuple[str, ...]) -> None:
    with pytest.raises(ScriptError) as info:
        script_text(data)
    assert info.value.lines == lines


def test_dos_line_breaks_render_as_sbatch_prints_them() -> None:
    with pytest.raises(ScriptError) as info:
        script_text(b"#!/bin/sh\r\n")
    assert info.value.render("sbatch") == (
        "sbatch: error: Batch script contains DOS line breaks (\\r\\n)\n"
        "sbatch: error: instead of expected UNIX line breaks (\\n).\n"
    )


def test_a_script_must_be_utf8_for_the_json_body() -> None:
    with pytest.raises(ScriptError, match="UTF-8"):
        script_text(b"#!/bin/sh\necho \xff\n")
    assert script_text("#!/bin/sh\necho é\n".encode()) == "#!/bin/sh\necho é\n"


def test_directives_stop_at_the_first_command() -> None:
    script = (
        "#!/bin/bash\n"
        "#SBATCH -J train --time=00:30:00\n"
        "\n"
        "# a comment\n"
        "   # an indented comment\n"
        "#SBATCH --exclusive\n"
        "echo start\n"
        "#SBATCH --partition=never\n"
    )
    assert read_directives(script).words == ("-J", "train", "--time=00:30:00", "--exclusive")


def test_only_lines_starting_exactly_with_the_magic_word_count() -> None:
    script = "#!/bin/sh\n #SBATCH -J indented\n#sbatch -J lower\n##SBATCH -J doubled\n"
    assert read_directives(script).words == ()


def test_legacy_slurm_prefix_counts_with_a_warning() -> None:
    directives = read_directives("#!/bin/sh\n#SLURM -J old\n#SLURM -t 5\n")
    assert directives.words == ("-J", "old", "-t", "5")
    assert len(directives.warnings) == 1
    assert "#SLURM to #SBATCH" in directives.warnings[0]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (" -J x", ["-J", "x"]),
        (" --job-name='my job'", ["--job-name=my job"]),
        (" --comment \"a 'quoted' word\"", ["--comment", "a 'quoted' word"]),
        (" --comment=a\\ b", ["--comment=a b"]),
        (' --comment="say \\"hi\\""', ['--comment=say "hi"']),
        (" --mem=4G # per node", ["--mem=4G"]),
        (" --comment=a#b", ["--comment=a"]),
        (" --comment='a#b'", ["--comment=a#b"]),
        (' --comment ""', ["--comment", ""]),
        ("\t-N\t2  ", ["-N", "2"]),
        ("", []),
        (" # only a comment", []),
    ],
)
def test_words_split_like_get_argument(line: str, words: list[str]) -> None:
    assert split_directive(line) == words


def test_an_unmatched_quote_names_file_and_line() -> None:
    with pytest.raises(ScriptError) as info:
        read_directives("#!/bin/sh\n#SBATCH --comment='open\n", file="job.sh")
    assert info.value.lines == ("job.sh: line 2: Unmatched `'` in [--comment='open]",)


def test_heterogeneous_jobs_are_refused() -> None:
    with pytest.raises(ScriptError, match="heterogeneous"):
        read_directives("#!/bin/sh\n#SBATCH -n 1\n#SBATCH hetjob\n#SBATCH -n 2\n")
