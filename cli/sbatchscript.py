"""Batch scripts: Slurm's sanity checks, ``--wrap``, and the ``#SBATCH`` directive words.

Checks (``_get_script_buffer`` in ``SchedMD/slurm:src/sbatch/sbatch.c``), in Slurm's order and
with its wording, each line printed as ``sbatch: error: <line>``: an empty script, one of only
whitespace, a first line without ``#!``, a NUL byte, ``\\r\\n`` line breaks. Berth sends the
script to the daemon as JSON text, so it must also be UTF-8 (Slurm takes any bytes).

``--wrap=CMD`` (``_script_wrap`` there) is exactly ``#!/bin/sh\\n# This script was created by
sbatch --wrap.\\n\\n`` + CMD + ``\\n``.

Directives (``_opt_batch_script`` and ``_get_argument`` in ``SchedMD/slurm:src/sbatch/opt.c``):
only lines that start exactly with ``#SBATCH`` (or the legacy ``#SLURM``, with a warning) count;
scanning stops at the first line that is neither blank nor a comment (the first command). The
rest of a directive line splits into words at unquoted whitespace; ``'...'`` and ``"..."``
quote, a backslash escapes the next character (inside quotes too), and an unquoted ``#`` ends the
line. The words of all lines form one argv that `cli.options.SBATCH_TABLE` parses; a word that
is not an option is ``Invalid directive found in batch script``. Heterogeneous jobs (``#SBATCH
hetjob``) are refused: Berth has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from cli.options import CommandError

WRAP_HEADER = "#!/bin/sh\n# This script was created by sbatch --wrap.\n\n"
_MAGIC_WORDS = ("#SBATCH", "#SLURM")
_LEGACY_WARNING = (
    "Change from #SLURM to #SBATCH in your script and verify the options are valid in sbatch"
)


class ScriptError(CommandError):
    """A batch script sbatch refuses (its lines are Slurm's messages)."""


@dataclass(frozen=True, slots=True)
class Directives:
    """The ``#SBATCH`` words of a script, in order, and warnings for stderr."""

    words: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def wrap_script(command: str) -> str:
    """The script ``sbatch --wrap=COMMAND`` submits."""
    return f"{WRAP_HEADER}{command}\n"


def script_text(data: bytes) -> str:
    """The script as text after Slurm's checks.

    :raises ScriptError: with Slurm's message lines for the first check that fails.
    """
    if not data:
        raise ScriptError("Batch script is empty!")
    if data.isspace():
        raise ScriptError("Batch script contains only whitespace!")
    if not data.startswith(b"#!"):
        raise ScriptError(
            "This does not look like a batch script.  The first",
            "line must start with #! followed by the path to an interpreter.",
            "For instance: #!/bin/sh",
        )
    if b"\0" in data:
        raise ScriptError(
            "The Slurm controller does not allow scripts that", "contain a NULL character '\\0'."
        )
    if b"\r\n" in data:
        raise ScriptError(
            "Batch script contains DOS line breaks (\\r\\n)",
            "instead of expected UNIX line breaks (\\n).",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScriptError(
            f"Batch script is not UTF-8 text (byte {err.start}); Berth needs UTF-8 scripts"
        ) from None


def read_directives(script: str, *, file: str = "batch script") -> Directives:
    """The option words of the script's ``#SBATCH`` block.

    :raises ScriptError: for an unmatched quote (``<file>: line <n>: Unmatched ...``) or a
        ``hetjob`` separator.
    """
    words: list[str] = []
    warnings: list[str] = []
    for number, line in enumerate(script.split("\n"), start=1):
        magic = next((word for word in _MAGIC_WORDS if line.startswith(word)), None)
        if magic is None:
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                break  # the first command ends the directive block
            continue
        if magic == "#SLURM" and not warnings:
            warnings.append(_LEGACY_WARNING)
        found = split_directive(line[len(magic) :], file=file, line_number=number)
        if any(word.lower() in ("hetjob", "packjob") for word in found):
            raise ScriptError(
                f"{file}: line {number}: heterogeneous jobs (#SBATCH hetjob) are not "
                "supported by Berth; submit the components as separate jobs"
            )
        words.extend(found)
    return Directives(tuple(words), tuple(warnings))


def split_directive(text: str, *, file: str = "batch script", line_number: int = 0) -> list[str]:
    """The words of one directive line after the magic word (``_get_argument``'s rules).

    :raises ScriptError: ``<file>: line <n>: Unmatched `"` in [<line>]``.
    """
    words: list[str] = []
    current: list[str] = []
    started = False  # a quoted empty word ("") is still a word
    quote = ""
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = started = True
        elif quote:
            if char == quote:
                quote = ""
            else:
                current.append(char)
        elif char in "'\"":
            quote = char
            started = True
        elif char == "#":
            break  # an unquoted '#' starts a comment
        elif char.isspace():
            if started or current:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
    if quote:
        raise ScriptError(f"{file}: line {line_number}: Unmatched `{quote}` in [{text.strip()}]")
    if started or current:
        words.append("".join(current))
    return words
