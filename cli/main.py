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


def _daemon(args: argparse.Namespace) -> int:
    from pathlib import Path

    from daemon.main import run_daemon
    from daemon.settings import default_home

    return run_daemon(Path(args.home) if args.home else default_home())


def _token(args: argparse.Namespace) -> int:
    import os
    import pwd
    import time
    from pathlib import Path

    from daemon.auth import issue_token, load_or_create_secret
    from daemon.settings import default_home

    home = Path(args.home) if args.home else default_home()
    try:
        uid = pwd.getpwnam(args.user).pw_uid
    except KeyError:
        if not args.uid:
            print(f"berth token: unknown user {args.user!r}; give --uid", file=sys.stderr)
            return 1
        uid = args.uid
    if os.geteuid() != 0 and os.geteuid() != uid:
        print("berth token: only root may issue tokens for other users", file=sys.stderr)
        return 1
    key = load_or_create_secret(home / "secret")
    print(issue_token(key, args.user, uid, int(time.time()) + args.days * 86400))
    return 0


def _node(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from daemon.agent import run_agent
    from daemon.settings import default_home

    token = args.token or os.environ.get("BERTH_TOKEN", "")
    if not token:
        print("berth node: give --token or BERTH_TOKEN (an admin's `berth token`)",
              file=sys.stderr)  # fmt: skip
        return 2
    home = Path(args.home) if args.home else default_home() / "node"
    return run_agent(args.controller, token, args.name, home)


def _sim(argv: Sequence[str]) -> int:
    from cli.sim import main as sim_main

    return sim_main(argv)


# The friendlier twins of the Slurm-named commands: the same options and output, with Rich
# tables when stdout is a terminal (see cli/table.py). name -> (module, what it is).
TWINS: dict[str, tuple[str, str]] = {
    "submit": ("sbatch", "submit a batch script (sbatch)"),
    "queue": ("squeue", "list queued and running jobs (squeue)"),
    "cancel": ("scancel", "cancel or signal jobs (scancel)"),
    "info": ("sinfo", "partitions and nodes (sinfo)"),
    "acct": ("sacct", "accounting of jobs and steps (sacct)"),
    "control": ("scontrol", "show and change jobs, nodes, configuration (scontrol)"),
}


def _twin(name: str, argv: Sequence[str]) -> int:
    from importlib import import_module

    module = import_module(f"cli.{TWINS[name][0]}")
    run = getattr(module, "run", None)
    if run is not None:  # the listing commands draw Rich tables on a terminal
        result: int = run(argv, rich=sys.stdout.isatty())
    else:
        result = module.main(argv)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["sim"]:  # `berth sim` and `berth sim compare` parse their own options
        return _sim(arguments[1:])
    if arguments[:1] and arguments[0] in TWINS:  # they parse their own (Slurm's) options
        return _twin(arguments[0], arguments[1:])
    parser = argparse.ArgumentParser(prog="berth", description="Berth batch scheduler")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print Berth's version").set_defaults(func=_version)
    commands.add_parser(
        "sim",
        help="replay a workload trace through the policy core (berth sim --demo; "
        "berth sim compare); see berth sim --help",
        add_help=False,
    ).set_defaults(func=lambda _: _sim([]))
    for name, (_, summary) in TWINS.items():
        commands.add_parser(name, help=summary, add_help=False)
    daemon = commands.add_parser(
        "daemon", help="run the controller: REST API on $BERTH_HOME/berth.sock, queue, executor"
    )
    daemon.add_argument("--home", help="BERTH_HOME (default $BERTH_HOME, /var/lib/berth for "
                        "root, else ~/.local/state/berth)")
    daemon.set_defaults(func=_daemon)
    node = commands.add_parser(
        "node", help="run jobs on this host for a controller elsewhere (heartbeats, orders)"
    )
    node.add_argument("--controller", required=True, help="the controller's URL, http://host:port")
    node.add_argument("--name", required=True, help="this node's [[nodes]] name at the controller")
    node.add_argument("--token", help="an administrator's token (default $BERTH_TOKEN)")
    node.add_argument("--home", help="where runs are kept (default $BERTH_HOME/node)")
    node.set_defaults(func=_node)
    token = commands.add_parser("token", help="issue a signed API token for TCP clients")
    token.add_argument("user")
    token.add_argument("--uid", type=int, default=0)
    token.add_argument("--days", type=int, default=30)
    token.add_argument("--home")
    token.set_defaults(func=_token)
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
