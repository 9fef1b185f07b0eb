"""Rich tables for the ``berth`` twins (``berth queue``, ``berth acct``, ``berth info``).

The twins print the same values as the Slurm-named commands; on a terminal they lay them out
with Rich instead of Slurm's fixed-width columns. The values come from the Slurm formatters
themselves, asked for natural widths with `SEPARATOR` between fields, so both outputs always
agree. Rich is imported here, inside `print_table`, never at a command's start.
"""

from __future__ import annotations

import sys

SEPARATOR = "\x1f"  # ASCII unit separator: never part of a job name, path or state word


def split_rows(text: str) -> list[list[str]]:
    """Formatter output with `SEPARATOR` between fields -> rows of cells (header first)."""
    return [line.split(SEPARATOR) for line in text.splitlines()]


def print_table(rows: list[list[str]], *, title: str | None = None) -> None:
    """The first row as the header, the others as the body, in a Rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold", show_lines=False)
    for name in rows[0] if rows else []:
        table.add_column(name, overflow="fold")
    for row in rows[1:]:
        table.add_row(*row)
    Console(file=sys.stdout).print(table)
