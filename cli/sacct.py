"""``sacct``: accounting of live and finished jobs (SLURM-CONTRACT.md rows 8-12).

Slurm's behaviour followed (``SchedMD/slurm:src/sacct/options.c``, ``sacct.c``, ``print.c``,
``src/common/slurmdb_defs.c``):
- fields: ``-o``/``--format`` (repeatable, case-insensitive prefixes, ``%N`` widths), ``-b``
  brief, default ``JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode``; ``-e`` lists
  them; printing fixed-width, ``-p`` or ``-P`` (`cli.sacctformat`), ``-n`` no header,
  ``--delimiter``;
- rows: one per job or array task, pending array tasks folded (``123_[5-9%3]``), then the
  job's steps (``123.batch``, ``123.0``) unless ``-X``; ``-j 123`` also names every task of
  array 123, ``-j 123_4`` one task, ``-j 123.0`` one step;
- window: ``-S`` defaults to the epoch with ``-j`` and to local midnight without; ``-E``
  defaults to now (``now``, ``YYYY-MM-DDTHH:MM[:SS]`` and Slurm's other forms accepted);
- users: the caller's own jobs unless ``-a``, ``-u``, or the caller is root;
- ``-s`` states, ``--name``, ``-r`` partitions, ``-A`` accounts filter;
- positional arguments: ``sacct: error: Unknown arguments:`` then one line per word, exit 1;
- ``-M``/``-L``/``-D``/``-T``/``--units``/``--noconvert``/``-v`` are accepted.
Accounting is always on: Berth keeps every job in its store, visible at once after sbatch.
Berth: ``--json`` prints ``{"jobs": [<job resource>...]}`` (docs/API.md), not Slurm's shape.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from cli.arrays import JobRef, parse_job_ids
from cli.client import Client
from cli.command import arguments, current_user, parse_arguments, run_command, user_names
from cli.formats import (
    BRIEF_FIELDS,
    DEFAULT_FIELDS,
    SacctMode,
    format_json,
    format_sacct,
    parse_sacct_fields,
)
from cli.options import ArgKind, CommandError, OptionTable, ParsedArgs, option
from cli.sacctfields import FIELD_WIDTHS
from cli.sacctformat import SacctRow
from cli.states import parse_state_list
from cli.timefmt import parse_datetime

_NONE = ArgKind.NONE
USAGE = "sacct [-abeLnPpX] [-j jobs] [-o fields] [-S start] [-E end] [-s states] [-u users]"
TABLE = OptionTable(
    "sacct",
    (
        option("accounts", "accounts", "A", help="only these accounts (comma list)"),
        option("allusers", "allusers", "a", _NONE, help="every user's jobs"),
        option("allocations", "allocations", "X", _NONE, help="jobs only, no steps"),
        option("brief", "brief", "b", _NONE, help="JobID, State and ExitCode only"),
        option("allclusters", "allclusters", "L", _NONE, help="accepted", inert=True),
        option("clusters", "clusters", "M", help="accepted; Berth is one cluster", inert=True),
        option("delimiter", "delimiter", "", help="field separator for -p/-P (default |)"),
        option("duplicates", "duplicates", "D", _NONE, help="accepted", inert=True),
        option("endtime", "endtime", "E", help="jobs eligible or running before this time"),
        option("helpformat", "helpformat", "e", _NONE, help="list the field names"),
        option("format", "format", "o", help="fields to print (JobID,State,...)"),
        option("help", "help", "h", _NONE, help="print this help and exit"),
        option("jobs", "jobs", "j", help="only these jobs (123, 123_4, 123.0; comma list)"),
        option("json", "json", "", _NONE, help="the job records as JSON"),
        option("name", "name", "", help="only jobs with these names (comma list)"),
        option("noconvert", "noconvert", "", _NONE, help="accepted", inert=True),
        option("noheader", "noheader", "n", _NONE, help="no header"),
        option("parsable", "parsable", "p", _NONE, help="'|' after every field"),
        option("parsable2", "parsable2", "P", _NONE, help="'|' between fields"),
        option("partition", "partition", "r", help="only these partitions (comma list)"),
        option("starttime", "starttime", "S", help="jobs eligible or running after this time"),
        option("state", "state", "s", help="only jobs in these states (comma list)"),
        option("truncate", "truncate", "T", _NONE, help="accepted", inert=True),
        option("units", "units", "", help="accepted", inert=True),
        option("usage", "usage", "", _NONE, help="print a short usage and exit"),
        option("user", "user", "u", help="only these users (names or uids)"),
        option("verbose", "verbose", "v", _NONE, help="accepted", inert=True),
        option("version", "version", "V", _NONE, help="print the version and exit"),
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv)


def run(argv: Sequence[str] | None = None, *, rich: bool = False) -> int:
    """sacct; ``rich`` (``berth acct`` on a terminal) draws fixed-width output as a table."""
    words = arguments(argv)
    return run_command("sacct", lambda: _sacct(words, rich))


def _sacct(words: list[str], rich: bool) -> int:
    args = parse_arguments(TABLE, words, USAGE)
    if args.positionals:
        raise CommandError("Unknown arguments:", *(f" {word}" for word in args.positionals))
    if args.given("helpformat"):
        sys.stdout.write(_field_grid())
        return 0
    refs = _refs(args)
    now = int(time.time())
    with Client() as client:
        jobs: list[dict[str, Any]] = client.get("/v1/accounting", **_query(args, refs, now))["jobs"]
    jobs = _filter(args, jobs)
    if args.given("json"):
        sys.stdout.write(format_json(jobs=jobs))
        return 0
    specs = args.values("format") or [BRIEF_FIELDS if args.given("brief") else DEFAULT_FIELDS]
    fields = parse_sacct_fields(specs)
    mode = SacctMode.PARSABLE2 if args.given("parsable2") else (
        SacctMode.PARSABLE if args.given("parsable") else SacctMode.FIXED)  # fmt: skip
    steps, select = not args.given("allocations"), _selector(refs)
    header = not args.given("noheader")
    if rich and mode is SacctMode.FIXED and header:
        from cli.table import SEPARATOR, print_table, split_rows

        plain = format_sacct(jobs, now=now, fields=fields, mode=SacctMode.PARSABLE2,
                             steps=steps, delimiter=SEPARATOR, select=select)  # fmt: skip
        print_table(split_rows(plain))
        return 0
    delimiter = args.value("delimiter") or "|"
    text = format_sacct(jobs, now=now, fields=fields, mode=mode, header=header, steps=steps,
                        delimiter=delimiter, select=select)  # fmt: skip
    sys.stdout.write(text)
    return 0


def _refs(args: ParsedArgs) -> list[JobRef]:
    try:
        return [ref for text in args.values("jobs") for ref in parse_job_ids(text)]
    except ValueError as err:
        raise CommandError(str(err)) from None


def _query(args: ParsedArgs, refs: list[JobRef], now: int) -> dict[str, str]:
    query: dict[str, str] = {}
    ids = [str(r.job_id) if r.task_ids is None else ",".join(f"{r.job_id}_{t}" for t in r.task_ids)
           for r in refs]  # fmt: skip
    if ids:
        query["ids"] = ",".join(ids)
    start_text, end_text = args.value("starttime"), args.value("endtime")
    try:
        if start_text is not None:
            query["start"] = str(parse_datetime(start_text, now=now, past=True))
        elif not refs:
            query["start"] = str(int(datetime.fromtimestamp(now).replace(
                hour=0, minute=0, second=0, microsecond=0).timestamp()))  # fmt: skip
        if end_text is not None:
            query["end"] = str(parse_datetime(end_text, now=now, past=True))
    except ValueError as err:
        raise CommandError(str(err)) from None
    users = [name for text in args.values("user") for name in user_names(text)]
    if users:
        query["user"] = ",".join(users)
    elif not args.given("allusers") and os.geteuid() != 0:
        query["user"] = current_user()
    names = args.values("name")
    if names:
        query["name"] = ",".join(names)
    state_text = args.value("state")
    if state_text is not None:
        try:
            states = parse_state_list(state_text)
        except ValueError as err:
            raise CommandError(str(err)) from None
        if states is not None:
            query["state"] = ",".join(sorted(states))
    return query


def _filter(args: ParsedArgs, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``-r`` and ``-A``, which the API does not filter."""
    for dest, key in (("partition", "partition"), ("accounts", "account")):
        wanted = {w for v in args.values(dest) for w in v.split(",") if w}
        if wanted:
            jobs = [job for job in jobs if job.get(key) in wanted]
    return jobs


def _matches(ref: JobRef, job: dict[str, Any]) -> bool:
    if ref.task_ids is None:
        return ref.job_id in (job.get("job_id"), job.get("array_job_id"))
    return job.get("array_job_id") == ref.job_id and job.get("array_task_id") in ref.task_ids


def _selector(refs: list[JobRef]) -> Callable[[SacctRow], bool] | None:
    """With ``-j 123.0``: that step's row only (beside the whole jobs other ids name)."""
    if not any(ref.step is not None for ref in refs):
        return None

    def keep(row: SacctRow) -> bool:
        job = dict(row.job)
        if row.step is None:
            return any(ref.step is None and _matches(ref, job) for ref in refs)
        step = str(row.step.get("step_id"))
        return any(ref.step in (None, step) and _matches(ref, job) for ref in refs)

    return keep


def _field_grid() -> str:
    """``sacct -e``: the field names, four to a line, each in 20 columns."""
    names = list(FIELD_WIDTHS)
    lines = ["".join(f"{n:<20}" for n in names[i : i + 4]).rstrip()
             for i in range(0, len(names), 4)]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
