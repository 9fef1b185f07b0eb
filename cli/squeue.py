"""``squeue``: the jobs in the Berth daemon's queue (SLURM-CONTRACT.md rows 13-15).

Slurm's behaviour followed (``SchedMD/slurm:src/squeue/opts.c``, ``print.c``, ``sort.c``):
- without ``-t`` only active jobs (pending, running, completing, ...) are listed, unless ``-j``
  names jobs: then they show in any state while the daemon still holds them; ``-t all`` adds
  the jobs finished within MinJobAge (API ``all=1``);
- ``-o``/``-O`` formats with natural widths when no width is given (`cli.squeueformat`), the
  default ``%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R``, ``-l`` and ``--start`` formats, the
  ``SQUEUE_FORMAT``/``SQUEUE_FORMAT2`` environment variables, ``-h``, ``-r`` one line per array
  task (else pending tasks fold: ``123_[5-9%2]``);
- default order ``P,t,-p``: partition, then state (pending before running), then priority
  from high to low; Berth breaks the remaining ties by job id;
- ``--start`` lists pending jobs with backfill's estimated start and planned nodes;
- ``-j`` with one unknown id: ``slurm_load_jobs error: Invalid job id specified``, exit 1.
Berth: ``--json`` prints ``{"jobs": [<job resource>...]}`` (docs/API.md), not Slurm's OpenAPI
shape; ``--only-job-state``, ``-M``, ``-a`` and ``-v`` are accepted and change nothing.
Listings ask the daemon only for the fields the format prints, so 10,000 jobs stay fast.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from cli.arrays import parse_job_ids
from cli.client import Client
from cli.columns import parse_percent_format
from cli.command import (
    PlainError,
    arguments,
    current_user,
    parse_arguments,
    run_command,
    user_names,
)
from cli.options import ArgKind, CommandError, OptionTable, ParsedArgs, option
from cli.squeueformat import (
    DEFAULT_FORMAT,
    LONG_FORMAT,
    START_FORMAT,
    format_squeue,
    required_keys,
)
from cli.states import parse_state_list

_NONE = ArgKind.NONE
USAGE = "squeue [-A account] [--clusters names] [-i seconds] [--job jobid] [-n name] [-o format]"
TABLE = OptionTable(
    "squeue",
    (
        option("all", "all", "a", _NONE, help="accepted (Berth has no hidden partitions)",
               inert=True),
        option("array", "array", "r", _NONE, help="one line per array task"),
        option("clusters", "clusters", "M", help="accepted; Berth is one cluster", inert=True),
        option("format", "format", "o", help="output format (%i %t ...)"),
        option("named", "Format", "O", help="output format by field names"),
        option("help", "help", "", _NONE, help="print this help and exit"),
        option("noheader", "noheader", "h", _NONE, help="no header line"),
        option("jobs", "jobs job", "j", help="only these job ids (comma list)"),
        option("json", "json", "", _NONE, help="the job records as JSON"),
        option("long", "long", "l", _NONE, help="long format (state, time limit)"),
        option("me", "me", "", _NONE, help="only my jobs"),
        option("name", "name", "n", help="only jobs with these names (comma list)"),
        option("only_state", "only-job-state", "", _NONE, help="accepted", inert=True),
        option("partition", "partition partitions", "p", help="only these partitions"),
        option("start", "start", "", _NONE, help="pending jobs with their estimated start"),
        option("states", "states state", "t", help="only these states (comma list, or all)"),
        option("user", "user users", "u", help="only these users (names or uids)"),
        option("usage", "usage", "", _NONE, help="print a short usage and exit"),
        option("verbose", "verbose", "v", _NONE, help="accepted", inert=True),
        option("version", "version", "V", _NONE, help="print the version and exit"),
    ),
)  # fmt: skip
# Slurm's job_state enum order (PENDING 0, RUNNING 1, ...): the ``t`` sort key.
_STATE_ORDER = {"PENDING": 0, "RUNNING": 1, "COMPLETING": 1, "SUSPENDED": 2, "COMPLETED": 3,
                "CANCELLED": 4, "FAILED": 5, "TIMEOUT": 6, "NODE_FAIL": 7, "PREEMPTED": 8,
                "BOOT_FAIL": 9, "DEADLINE": 10, "OUT_OF_MEMORY": 11}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv)


def run(argv: Sequence[str] | None = None, *, rich: bool = False) -> int:
    """squeue; ``rich`` (the ``berth queue`` twin on a terminal) draws the default columns as
    a Rich table."""
    words = arguments(argv)
    return run_command("squeue", lambda: _squeue(words, rich))


def _squeue(words: list[str], rich: bool) -> int:
    args = parse_arguments(TABLE, words, USAGE, positionals=False)
    fmt, named = _format(args)
    query = _query(args)
    as_json = args.given("json")
    if not as_json:  # only what the format prints, as rows: 10,000 jobs stay fast
        query["fields"] = ",".join(dict.fromkeys([*required_keys(fmt, named), "priority",
                                                  "partition"]))  # fmt: skip
        query["rows"] = "1"
    with Client() as client:
        reply = client.get("/v1/jobs", **query)
    jobs: list[dict[str, Any]] = reply["jobs"] if "jobs" in reply else [
        dict(zip(reply["fields"], row, strict=True)) for row in reply["rows"]]  # fmt: skip
    if args.given("start"):
        jobs = [job for job in jobs if job.get("state") == "PENDING"]
    ids = query.get("ids", "")
    if ids and "," not in ids and not jobs:
        raise PlainError("slurm_load_jobs error: Invalid job id specified")
    jobs.sort(key=_sort_key)
    if as_json:
        from cli.formats import format_json

        sys.stdout.write(format_json(jobs=jobs))
        return 0
    now, header = int(time.time()), not args.given("noheader")
    expand = args.given("array")
    if rich and named is None and header:
        from cli.table import SEPARATOR, print_table, split_rows

        letters = [column.key for column in parse_percent_format(fmt or DEFAULT_FORMAT).columns]
        plain = SEPARATOR.join(f"%{letter}" for letter in letters)
        print_table(split_rows(format_squeue(jobs, now=now, fmt=plain, expand_arrays=expand)))
        return 0
    sys.stdout.write(
        format_squeue(jobs, now=now, fmt=fmt, named=named, header=header, expand_arrays=expand)
    )
    return 0


def _format(args: ParsedArgs) -> tuple[str | None, str | None]:
    """(``-o`` format, ``-O`` format): the options, else ``--start``/``-l``, else the
    environment's SQUEUE_FORMAT2/SQUEUE_FORMAT, else the default (None, None)."""
    named, fmt = args.value("named"), args.value("format")
    if named is not None or fmt is not None:
        return fmt, named
    if args.given("start"):
        return START_FORMAT, None
    if args.given("long"):
        return LONG_FORMAT, None
    if os.environ.get("SQUEUE_FORMAT2"):
        return None, os.environ["SQUEUE_FORMAT2"]
    return os.environ.get("SQUEUE_FORMAT") or None, None


def _query(args: ParsedArgs) -> dict[str, str]:
    query: dict[str, str] = {}
    ids = [_api_ids(text) for text in args.values("jobs")]
    if ids:
        query["ids"] = ",".join(i for group in ids for i in group)
    users = [name for text in args.values("user") for name in user_names(text)]
    if args.given("me"):
        users.append(current_user())
    if users:
        query["user"] = ",".join(users)
    for key, dest in (("partition", "partition"), ("name", "name")):
        values = args.values(dest)
        if values:
            query[key] = ",".join(values)
    states_text = args.value("states")
    if states_text is not None:
        try:
            states = parse_state_list(states_text)
        except ValueError as err:
            raise CommandError(str(err)) from None
        if states is None:
            query["all"] = "1"
        else:
            query["state"] = ",".join(sorted(states))
    elif args.given("start"):
        query["state"] = "PENDING"
    elif ids:
        query["all"] = "1"
    return query


def _api_ids(text: str) -> list[str]:
    """``-j 12,13_4,14_[1-3]`` -> the API's ids ``12``, ``13_4``, ``14_1``, ``14_2``, ``14_3``."""
    try:
        refs = parse_job_ids(text)
    except ValueError as err:
        raise CommandError(str(err)) from None
    found: list[str] = []
    for ref in refs:
        if ref.task_ids is None:
            found.append(str(ref.job_id))
        else:
            found.extend(f"{ref.job_id}_{task}" for task in ref.task_ids)
    return found


def _sort_key(job: Mapping[str, Any]) -> tuple[str, int, int, int]:
    state = _STATE_ORDER.get(str(job.get("state")), 12)
    return (str(job.get("partition") or ""), state, -int(job.get("priority") or 0),
            int(job["job_id"]))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
