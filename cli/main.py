"""The ``berth`` umbrella command. Imports only the standard library at start; each subcommand
imports what it needs inside its own function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _version(_: argparse.Namespace) -> int:
    from importlib.metadata import version

    print(f"berth {version('berth')}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from cli.demo import run_demo

    return run_demo(policy_name=args.policy, as_json=args.json)


def _sim(argv: Sequence[str]) -> int:
    from cli.sim import main as sim_main

    return sim_main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["sim"]:  # `berth sim` and `berth sim compare` parse their own options
        return _sim(arguments[1:])
    parser = argparse.ArgumentParser(prog="berth", description="Berth batch scheduler")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print Berth's version").set_defaults(func=_version)
    commands.add_parser(
        "sim",
        help="replay a workload trace through the policy core (berth sim --demo; "
        "berth sim compare); see berth sim --help",
        add_help=False,
    ).set_defaults(func=lambda _: _sim([]))
    demo = commands.add_parser(
        "demo", help="schedule a small GPU queue with the policy core and print the plan"
    )
    demo.add_argument("--policy", choices=["fcfs", "easy", "conservative"], default="easy")
    demo.add_argument("--json", action="store_true", help="print the plan as JSON")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(arguments)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
