"""Declarative option tables and a getopt-style parser for the Slurm-named commands.

Why not argparse: Slurm parses with ``getopt_long`` (``SchedMD/slurm:src/common/slurm_opt.c``),
and three of its behaviours are what tools rely on and argparse cannot express cleanly:
- a leading ``+`` in the option string: parsing stops at the first word that is not an option
  (sbatch's script path), and every later word - ``--foo`` included - is a script argument;
- options with an *optional* argument take one only in the ``--opt=value`` form (``-ovalue`` for
  a short one), so ``sbatch --exclusive job.sh`` does not swallow ``job.sh``;
- a required argument is the next word whatever it looks like (``-J -x`` names the job ``-x``),
  and long names may be abbreviated to any unique prefix (``--part=debug``, ``--depend=...``).
The same table parses the command line and the ``#SBATCH`` words of a script
(`cli.sbatchscript`), as Slurm's ``_opt_batch_script`` does; `ParsedArgs` keeps where each
option came from so the command line can win.

Errors are `OptionError`, worded as getopt words them (``unrecognized option '--blublu'``,
``invalid option -- 'z'``, ``option '--time' requires an argument``), printed by `CommandError.
render` as ``sbatch: error: ...`` plus Slurm's ``Try "sbatch --help" ...`` line; exit code 1
(sbatch's ``error_exit``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import NamedTuple


class CommandError(Exception):
    """An error a Slurm-named command reports before exiting: one or more message lines."""

    def __init__(self, *lines: str, exit_code: int = 1, hint: str | None = None) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.exit_code = exit_code
        self.hint = hint

    def render(self, prog: str) -> str:
        """What goes to stderr: ``<prog>: error: <line>`` per line, then the hint if any."""
        text = "".join(f"{prog}: error: {line}\n" for line in self.lines)
        return text + (f"{self.hint}\n" if self.hint else "")


class OptionError(CommandError):
    """A word of the command line (or of ``#SBATCH`` lines) the option table refuses."""


class ArgKind(Enum):
    NONE = "none"
    REQUIRED = "required"
    OPTIONAL = "optional"  # a value only as --opt=value or -oVALUE


class Option(NamedTuple):
    """One row of a table: ``names`` are long names without ``--``; ``short`` one letter or ""."""

    dest: str
    names: tuple[str, ...]
    short: str = ""
    arg: ArgKind = ArgKind.REQUIRED
    help: str = ""
    const: str | None = None  # the value a flag (or a bare optional) stands for
    inert: bool = False  # accepted for compatibility; no effect in Berth

    @property
    def spelling(self) -> str:
        long = f"--{self.names[0]}" if self.names else ""
        return f"-{self.short}, {long}" if self.short and long else (long or f"-{self.short}")


class Occurrence(NamedTuple):
    option: Option
    value: str | None
    spelled: str  # as written: "--time", "-t"
    source: str  # "command line" or "script"


class ParsedArgs(NamedTuple):
    """What a parse found: option occurrences in order, then the non-option words.

    `value` is the last occurrence's (a later option replaces an earlier one), `values` all of
    them (``sacct -o a -o b``), `count` how many (``-vv``)."""

    occurrences: tuple[Occurrence, ...] = ()
    positionals: tuple[str, ...] = ()

    def given(self, dest: str, *, source: str | None = None) -> bool:
        return any(o.option.dest == dest and source in (None, o.source) for o in self.occurrences)

    def value(self, dest: str) -> str | None:
        """The last occurrence's value (a flag's ``const``); ``None`` when never given."""
        found = [o.value for o in self.occurrences if o.option.dest == dest]
        return found[-1] if found else None

    def values(self, dest: str) -> list[str]:
        """Every value given for ``dest``, in order."""
        return [o.value for o in self.occurrences if o.option.dest == dest and o.value is not None]

    def count(self, dest: str) -> int:
        return sum(1 for o in self.occurrences if o.option.dest == dest)

    def then(self, later: ParsedArgs) -> ParsedArgs:
        """These occurrences followed by ``later``'s, so that ``later`` wins (script, then CLI)."""
        return ParsedArgs(self.occurrences + later.occurrences, later.positionals)

    def inert_options(self) -> list[str]:
        """The accepted-but-inert options given, as written, without repeats."""
        return list(dict.fromkeys(o.spelled for o in self.occurrences if o.option.inert))


class OptionTable:
    """A command's options; `parse` reads argv like ``getopt_long``."""

    def __init__(self, prog: str, options: Iterable[Option]) -> None:
        self.prog = prog
        self.options = tuple(options)
        self._long = {name: opt for opt in self.options for name in opt.names}
        self._short = {opt.short: opt for opt in self.options if opt.short}
        if len(self._long) != sum(len(o.names) for o in self.options):
            raise ValueError(f"{prog}: a long option name appears twice")

    def parse(
        self, argv: Sequence[str], *, stop_at_positional: bool = True, source: str = "command line"
    ) -> ParsedArgs:
        """Occurrences and positionals of ``argv`` (without the program name).

        ``stop_at_positional`` is getopt's ``+``: the first non-option word and everything
        after it are positionals. Without it, options may follow positionals (GNU order, as
        ``scancel 12 --signal USR1``). ``--`` always ends the options.

        :raises OptionError: for an unknown, ambiguous or malformed option.
        """
        found: list[Occurrence] = []
        positionals: list[str] = []
        index = 0
        while index < len(argv):
            word = argv[index]
            index += 1
            if word == "--":
                positionals.extend(argv[index:])
                break
            if word.startswith("--"):
                index = self._long_option(word, argv, index, found, source)
            elif word.startswith("-") and word != "-":
                index = self._short_options(word, argv, index, found, source)
            elif stop_at_positional:
                positionals.extend(argv[index - 1 :])
                break
            else:
                positionals.append(word)
        return ParsedArgs(tuple(found), tuple(positionals))

    def lookup(self, name: str) -> tuple[Option, str] | None:
        """The option named ``name`` (or the one whose names alone start with it) and its full
        name; ``None`` when no long name matches.

        :raises OptionError: when the prefix names several options.
        """
        if name in self._long:
            return self._long[name], name
        matches = sorted(n for n in self._long if name and n.startswith(name))
        if len({self._long[n] for n in matches}) > 1:
            options = " ".join(f"'--{n}'" for n in matches)
            raise self._error(f"option '--{name}' is ambiguous; possibilities: {options}")
        return (self._long[matches[0]], matches[0]) if matches else None

    def _long_option(
        self, word: str, argv: Sequence[str], index: int, found: list[Occurrence], source: str
    ) -> int:
        name, equals, value = word[2:].partition("=")
        match = self.lookup(name)
        if match is None:
            raise self._error(f"unrecognized option '{word}'")
        option, full_name = match
        spelled = f"--{full_name}"
        if option.arg is ArgKind.NONE:
            if equals:
                raise self._error(f"option '{spelled}' doesn't allow an argument")
            found.append(Occurrence(option, option.const, spelled, source))
            return index
        if option.arg is ArgKind.REQUIRED and not equals:
            if index >= len(argv):
                raise self._error(f"option '{spelled}' requires an argument")
            value, index = argv[index], index + 1
        given = value if equals or option.arg is ArgKind.REQUIRED else option.const
        found.append(Occurrence(option, given, spelled, source))
        return index

    def _short_options(
        self, word: str, argv: Sequence[str], index: int, found: list[Occurrence], source: str
    ) -> int:
        position = 1
        while position < len(word):
            letter = word[position]
            position += 1
            option = self._short.get(letter)
            if option is None:
                raise self._error(f"invalid option -- '{letter}'")
            rest = word[position:]
            if option.arg is ArgKind.NONE:
                found.append(Occurrence(option, option.const, f"-{letter}", source))
                continue
            if rest:
                found.append(Occurrence(option, rest, f"-{letter}", source))
            elif option.arg is ArgKind.OPTIONAL:
                found.append(Occurrence(option, option.const, f"-{letter}", source))
            elif index < len(argv):
                found.append(Occurrence(option, argv[index], f"-{letter}", source))
                index += 1
            else:
                raise self._error(f"option requires an argument -- '{letter}'")
            break
        return index

    def _error(self, message: str) -> OptionError:
        return OptionError(message, hint=f'Try "{self.prog} --help" for more information')

    def help_text(self, usage: str) -> str:
        """``Usage: ...`` then one line per option that has help, in table order."""
        lines = [f"Usage: {usage}", ""]
        for option in self.options:
            if option.help:
                value = {ArgKind.NONE: "", ArgKind.REQUIRED: "=VALUE", ArgKind.OPTIONAL: "[=VALUE]"}
                lines.append(f"  {option.spelling + value[option.arg]:<32} {option.help}")
        return "\n".join(lines) + "\n"


def option(
    dest: str,
    names: str,
    short: str = "",
    arg: ArgKind = ArgKind.REQUIRED,
    *,
    help: str,
    const: str | None = None,
    inert: bool = False,
) -> Option:
    """One table row; ``names`` are the long names separated by spaces, without ``--``."""
    return Option(dest, tuple(names.split()), short, arg, help, const, inert)


_o = option


_NONE, _OPTIONAL = ArgKind.NONE, ArgKind.OPTIONAL

# sbatch's options: contract row 7's union, plus Berth's container image. `inert` options are
# accepted (tools send them) and have no effect in Berth; `cli.submission` lists them.
SBATCH_OPTIONS: tuple[Option, ...] = (
    _o("account", "account", "A", help="charge the job to this account"),
    _o("array", "array", "a", help="job array indices: 0-15, 0-15:4, 1,3,5-7, 0-9%2"),
    _o("begin", "begin", "b", help="start no earlier than: now+1hour, 16:00, 2026-11-23T10:00"),
    _o("chdir", "chdir", "D", help="working directory of the job (default: current directory)"),
    _o("clusters", "clusters", "M", help="accepted; Berth is one cluster", inert=True),
    _o("comment", "comment", help="a comment stored with the job"),
    _o("constraint", "constraint", "C", help="node features the job needs (a&b)"),
    _o("image", "container-image image", help="run the job in this container image (Berth)"),
    _o("cpus_per_gpu", "cpus-per-gpu", help="CPUs per allocated GPU"),
    _o("cpus_per_task", "cpus-per-task", "c", help="CPUs per task"),
    _o("dependency", "dependency", "d", help="afterok:ID[:ID...],afterany:ID, singleton; ? = any"),
    _o("error", "error", "e", help="stderr file pattern (default: the output file)"),
    _o("exclude", "exclude", "x", help="accepted; no effect in Berth", inert=True),
    _o("exclusive", "exclusive", arg=_OPTIONAL, help="accepted; no effect in Berth", inert=True),
    _o("export", "export", help="environment to pass: ALL (default), NONE, [ALL,]VAR[=value],..."),
    _o("get_user_env", "get-user-env", arg=_OPTIONAL, help="accepted; no effect", inert=True),
    _o("gpus", "gpus", "G", help="GPUs for the whole job: [type:]N"),
    _o("gpus_per_node", "gpus-per-node", help="GPUs per node: [type:]N"),
    _o("gpus_per_task", "gpus-per-task", help="GPUs per task: [type:]N"),
    _o("gres", "gres", help="generic resources: gpu[:type][:N]"),
    _o("help", "help", "h", _NONE, help="print this help and exit"),
    _o("hold", "hold", "H", _NONE, help="submit the job held (scontrol release starts it)"),
    _o("name", "job-name", "J", help="job name (default: the script's file name)"),
    _o("mail_type", "mail-type", help="accepted; Berth sends no mail", inert=True),
    _o("mail_user", "mail-user", help="accepted; Berth sends no mail", inert=True),
    _o("mem", "mem", help="memory per node: 4G, 3584M, 0 = the whole node"),
    _o("mem_per_cpu", "mem-per-cpu", help="memory per CPU"),
    _o("mem_per_gpu", "mem-per-gpu", help="memory per GPU"),
    _o("nice", "nice", arg=_OPTIONAL, help="lower the job's priority by N (default 100)"),
    _o("requeue", "no-requeue", arg=_NONE, help="never requeue the job", const="no"),
    _o("nodelist", "nodelist", "w", help="accepted; no effect in Berth", inert=True),
    _o("nodes", "nodes", "N", help="number of nodes"),
    _o("tasks", "ntasks", "n", help="number of tasks"),
    _o("ntasks_per_gpu", "ntasks-per-gpu", help="accepted; no effect in Berth", inert=True),
    _o("tasks_per_node", "ntasks-per-node", help="tasks per node"),
    _o("open_mode", "open-mode", help="append or truncate the output files"),
    _o("output", "output", "o", help="stdout file pattern (default slurm-%j.out)"),
    _o("parsable", "parsable", arg=_NONE, help="print only the job id"),
    _o("partition", "partition", "p", help="partition (default: the site's default)"),
    _o("qos", "qos", "q", help="quality of service"),
    _o("quiet", "quiet", "Q", _NONE, help="print no informational messages"),
    _o("requeue", "requeue", arg=_OPTIONAL, help="let Berth requeue the job", const="yes"),
    _o("reservation", "reservation", help="accepted; no effect in Berth", inert=True),
    _o("signal", "signal", help="[B:]SIG[@SECONDS] before the time limit (default 60 s)"),
    _o("test_only", "test-only", arg=_NONE, help="validate and estimate a start; submit nothing"),
    _o("time", "time", "t", help="time limit: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S"),
    _o("usage", "usage", arg=_NONE, help="print a short usage and exit"),
    _o("verbose", "verbose", "v", _NONE, help="more messages on stderr (repeatable)"),
    _o("version", "version", "V", _NONE, help="print the version and exit"),
    _o("wckey", "wckey", help="accepted; no effect in Berth", inert=True),
    _o("wrap", "wrap", help='wrap a command in a "#!/bin/sh" script'),
)

SBATCH_TABLE = OptionTable("sbatch", SBATCH_OPTIONS)
