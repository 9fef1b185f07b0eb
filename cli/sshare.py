"""``sshare``: the fair-share report (SLURM-CONTRACT.md row 22; ``SchedMD/slurm:src/sshare``).

Rows from ``GET /v1/shares`` (Berth's Fair Tree or classic fair share). Without ``-a`` or
``-u``, the caller's associations and the account rows; ``-a`` every user; ``-u`` these users;
``-A`` these accounts; ``-U`` user rows only (``sshare -U --format Account%256 --noheader``
gives the caller's account names). Columns: ``Account User RawShares NormShares RawUsage
EffectvUsage FairShare`` by default, ``-l`` adds ``NormUsage`` and ``LevelFS``; ``-o`` /
``--format`` chooses (`cli.shareformat`). ``--json`` prints ``{"shares": [...]}``. Berth has
no account hierarchy beyond account -> user, so account names are not indented.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from cli.client import Client
from cli.command import arguments, current_user, parse_arguments, run_command, user_names
from cli.formats import format_json
from cli.options import ArgKind, OptionTable, option
from cli.shareformat import Field, decimal, format_rows, parse_fields, text

_NONE = ArgKind.NONE
USAGE = "sshare [-alnPpU] [-A accounts] [-u users] [-o fields] [--json]"
TABLE = OptionTable(
    "sshare",
    (
        option("accounts", "accounts", "A", help="only these accounts"),
        option("all", "all", "a", _NONE, help="every user"),
        option("clusters", "clusters", "M", help="accepted; Berth is one cluster", inert=True),
        option("format", "format", "o", help="fields (Account,User,FairShare,...)"),
        option("help", "help", "h", _NONE, help="print this help and exit"),
        option("json", "json", "", _NONE, help="the rows as JSON"),
        option("long", "long", "l", _NONE, help="add NormUsage and LevelFS"),
        option("noheader", "noheader", "n", _NONE, help="no header"),
        option("parsable", "parsable", "p", _NONE, help="'|' after every field"),
        option("parsable2", "parsable2", "P", _NONE, help="'|' between fields"),
        option("only_users", "Users", "U", _NONE, help="user rows only"),
        option("users", "users", "u", help="only these users"),
        option("usage", "usage", "", _NONE, help="print a short usage and exit"),
        option("verbose", "verbose", "v", _NONE, help="accepted", inert=True),
        option("version", "version", "V", _NONE, help="print the version and exit"),
    ),
)
FIELDS = (
    Field("Account", "Account", 20, text("account")),
    Field("User", "User", 10, text("user")),
    Field("RawShares", "RawShares", 10, text("raw_shares")),
    Field("NormShares", "NormShares", 11, decimal("norm_shares")),
    Field("RawUsage", "RawUsage", 11, lambda r: str(int(r.get("raw_usage") or 0))),
    Field("NormUsage", "NormUsage", 11, decimal("norm_usage")),
    Field("EffectvUsage", "EffectvUsage", 13, decimal("effective_usage")),
    Field("FairShare", "FairShare", 10, decimal("fairshare")),
    Field("LevelFS", "LevelFS", 10, decimal("level_fs")),
)
DEFAULT = "Account,User,RawShares,NormShares,RawUsage,EffectvUsage,FairShare"
LONG = "Account,User,RawShares,NormShares,RawUsage,NormUsage,EffectvUsage,FairShare,LevelFS"


def main(argv: Sequence[str] | None = None) -> int:
    words = arguments(argv)
    return run_command("sshare", lambda: _sshare(words))


def _sshare(words: list[str]) -> int:
    args = parse_arguments(TABLE, words, USAGE, positionals=False)
    with Client() as client:
        rows: list[dict[str, Any]] = client.get("/v1/shares")["shares"]
    users = {name for value in args.values("users") for name in user_names(value)}
    if not users and not args.given("all"):
        users = {current_user()}
    accounts = {a for value in args.values("accounts") for a in value.split(",") if a}
    every, only_users = args.given("all"), args.given("only_users")

    def wanted(row: dict[str, Any]) -> bool:
        if accounts and row.get("account") not in accounts:
            return False
        if not row.get("user"):  # an account's own row
            return not only_users
        return every or row.get("user") in users

    rows = [row for row in rows if wanted(row)]
    if args.given("json"):
        sys.stdout.write(format_json(shares=rows))
        return 0
    specs = args.values("format") or [LONG if args.given("long") else DEFAULT]
    mode = "-P" if args.given("parsable2") else "-p" if args.given("parsable") else "fixed"
    fields = parse_fields(specs, FIELDS)
    sys.stdout.write(format_rows(rows, fields, mode=mode, header=not args.given("noheader")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
