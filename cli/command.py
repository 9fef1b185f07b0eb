"""What every Slurm-named command does around its own work: errors, exit codes, identity.

`run_command` calls a command's body and turns what it raises into Slurm's stderr lines and
exit codes: a `cli.options.CommandError` prints ``<prog>: error: <line>`` (plus its hint) and
exits with its code (1 for options, as Slurm's ``error_exit``); a daemon refusal
(`cli.client.ApiError`) prints ``<prog>: error: <the daemon's message>`` and exits 1; Ctrl-C
exits 130 quietly; a closed stdout (``squeue | head -1``) is not an error. Standard library
only, like every module a command imports at start.
"""

from __future__ import annotations

import os
import pwd
import sys
from collections.abc import Callable, Sequence

from cli.client import ApiError
from cli.options import CommandError, OptionTable, ParsedArgs


class PlainError(CommandError):
    """An error Slurm prints without the ``<prog>: error:`` prefix (``slurm_perror`` lines such
    as ``slurm_load_jobs error: Invalid job id specified``)."""

    def render(self, prog: str) -> str:
        return "".join(line + "\n" for line in self.lines)


class Informational(Exception):
    """``--help``, ``--usage`` or ``--version`` was given: print ``text``, exit 0."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def run_command(prog: str, body: Callable[[], int]) -> int:
    """``body()``'s exit code, with errors reported as Slurm's commands report them."""
    try:
        return body()
    except Informational as answer:
        sys.stdout.write(answer.text)
        return 0
    except CommandError as err:
        sys.stderr.write(err.render(prog))
        return err.exit_code
    except ApiError as err:
        sys.stderr.write(f"{prog}: error: {err.message}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def arguments(argv: Sequence[str] | None) -> list[str]:
    return list(sys.argv[1:] if argv is None else argv)


def version_text() -> str:
    """``--version``: Berth's version (Slurm prints ``slurm <version>``; Berth is not Slurm)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"berth {version('berth')}\n"
    except PackageNotFoundError:
        return "berth (not installed)\n"


def parse_arguments(
    table: OptionTable, words: Sequence[str], usage: str, *, positionals: bool = True
) -> ParsedArgs:
    """The command's options, parsed in any order with its words (``positionals``: whether
    words other than options are the command's to read; if not, they are refused as Slurm's
    commands refuse them). ``--help``, ``--usage`` and ``--version`` end the command through
    `run_command` with their text.

    :raises CommandError: an unknown option, or ``Unknown arguments: ...``.
    """
    parsed = table.parse(list(words), stop_at_positional=False)
    text = informational(table, parsed, usage)
    if text is not None:
        raise Informational(text)
    if not positionals and parsed.positionals:
        raise CommandError(f"Unknown arguments: {' '.join(parsed.positionals)}")
    return parsed


def informational(table: OptionTable, parsed: ParsedArgs, usage: str) -> str | None:
    """The text for ``--help``, ``--usage`` or ``--version`` when one was given, else None."""
    if parsed.given("help"):
        return table.help_text(usage)
    if parsed.given("usage"):
        return f"Usage: {usage}\n"
    if parsed.given("version"):
        return version_text()
    return None


def current_user() -> str:
    """The caller's user name (``--me``, sacct's default user)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def user_names(text: str) -> list[str]:
    """``-u alice,1001`` -> user names (a number is a uid, as Slurm's commands accept).

    :raises CommandError: ``Invalid user: <word>`` for a uid that names nobody.
    """
    names: list[str] = []
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        if word.isdigit():
            try:
                word = pwd.getpwuid(int(word)).pw_name
            except KeyError:
                raise CommandError(f"Invalid user: {word}") from None
        names.append(word)
    return names
