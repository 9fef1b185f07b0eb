"""``sacctmgr``: read-only answers about users, accounts and associations (SLURM-CONTRACT.md
row 22; ``SchedMD/slurm:src/sacctmgr``).

Berth keeps accounts in ``limits.yaml`` and the fair-share tree, not in a slurmdbd, so only
``list``/``show`` of ``user``, ``account`` and ``association`` are answered, from the daemon's
share report (``GET /v1/shares``); ``add``, ``modify`` and ``delete`` are refused with a
pointer to ``limits.yaml``. Forms: ``sacctmgr [-n] [-p|-P] [-s] list user [NAME|name=NAME]
[format=Account%256,...]`` (snakemake's ``sacctmgr -n -s list user <u> format=account%256``
prints that user's accounts), ``list account [NAME]``, ``list association [user=U]
[account=A]``. ``where`` is accepted and ignored as a word. A user with no association prints
no rows (exit 0).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from cli.client import Client
from cli.command import arguments, parse_arguments, run_command
from cli.options import ArgKind, CommandError, OptionTable, option
from cli.shareformat import Field, format_rows, parse_fields, text

_NONE = ArgKind.NONE
USAGE = "sacctmgr [-nPps] list|show user|account|association [NAME] [key=value...]"
TABLE = OptionTable(
    "sacctmgr",
    (
        option("help", "help", "h", _NONE, help="print this help and exit"),
        option("immediate", "immediate", "i", _NONE, help="accepted", inert=True),
        option("noheader", "noheader", "n", _NONE, help="no header"),
        option("parsable", "parsable", "p", _NONE, help="'|' after every field"),
        option("parsable2", "parsable2", "P", _NONE, help="'|' between fields"),
        option("quiet", "quiet", "Q", _NONE, help="accepted", inert=True),
        option("readonly", "readonly", "r", _NONE, help="accepted", inert=True),
        option("associations", "associations", "s", _NONE, help="users with their accounts"),
        option("usage", "usage", "", _NONE, help="print a short usage and exit"),
        option("verbose", "verbose", "v", _NONE, help="accepted", inert=True),
        option("version", "version", "V", _NONE, help="print the version and exit"),
    ),
)
FIELDS = (
    Field("Cluster", "Cluster", 10, lambda r: "berth"),
    Field("Account", "Account", 10, text("account")),
    Field("User", "User", 10, text("user")),
    Field("DefaultAccount", "Def Acct", 10, text("default_account")),
    Field("Admin", "Admin", 9, lambda r: "None"),
    Field("Share", "Share", 9, text("raw_shares")),
)
_DEFAULTS = {
    "user": ["User,DefaultAccount,Admin"],
    "user_assoc": ["User,DefaultAccount,Admin,Cluster,Account,Share"],
    "account": ["Account"],
    "association": ["Cluster,Account,User,Share"],
}
_ENTITIES = {"user": "user", "users": "user", "account": "account", "accounts": "account",
             "association": "association", "associations": "association",
             "assoc": "association"}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    words = arguments(argv)
    return run_command("sacctmgr", lambda: _sacctmgr(words))


def _sacctmgr(words: list[str]) -> int:
    args = parse_arguments(TABLE, words, USAGE)
    rest = [w for w in args.positionals if w.lower() != "where"]
    if len(rest) < 2 or rest[0].lower() not in ("list", "show"):
        raise CommandError(
            "Berth answers only `sacctmgr list|show user|account|association`; accounts and "
            "their limits are set in $BERTH_HOME/limits.yaml"
        )
    entity = _ENTITIES.get(rest[1].lower())
    if entity is None:
        raise CommandError(f"Unknown option: {rest[1]}")
    filters: dict[str, set[str]] = {}
    formats: list[str] = []
    for word in rest[2:]:
        key, equals, value = word.partition("=")
        if not equals:
            key, value = ("name", word)
        key = key.lower()
        if key == "format":
            formats.append(value)
        else:
            filters.setdefault(key.rstrip("s"), set()).update(v for v in value.split(",") if v)
    with Client() as client:
        shares: list[dict[str, Any]] = client.get("/v1/shares")["shares"]
    rows = _rows(entity, shares, filters, args.given("associations"))
    key = "user_assoc" if entity == "user" and args.given("associations") else entity
    fields = parse_fields(formats or _DEFAULTS[key], FIELDS)
    mode = "-P" if args.given("parsable2") else "-p" if args.given("parsable") else "fixed"
    sys.stdout.write(format_rows(rows, fields, mode=mode, header=not args.given("noheader")))
    return 0


def _rows(entity: str, shares: list[dict[str, Any]], filters: dict[str, set[str]],
          with_assoc: bool) -> list[dict[str, Any]]:  # fmt: skip
    users = [row for row in shares if row.get("user")]
    defaults: dict[str, str] = {}
    for row in users:
        defaults.setdefault(str(row["user"]), str(row.get("account") or ""))
    names = filters.get("name", set())
    if entity == "account":
        accounts = dict.fromkeys(str(r.get("account")) for r in shares if r.get("account"))
        return [{"account": a} for a in accounts if not names or a in names]
    wanted_users = names | filters.get("user", set()) if entity == "user" else filters.get(
        "user", set())  # fmt: skip
    wanted_accounts = filters.get("account", set())
    chosen = [
        {**row, "default_account": defaults.get(str(row["user"]), "")}
        for row in users
        if (not wanted_users or row["user"] in wanted_users)
        and (not wanted_accounts or row.get("account") in wanted_accounts)
    ]
    if entity == "user" and not with_assoc:  # one row per user
        return list({str(row["user"]): row for row in reversed(chosen)}.values())[::-1]
    return chosen


if __name__ == "__main__":
    sys.exit(main())
