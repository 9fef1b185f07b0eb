"""Berth's simulator: replays workloads through `scheduler.schedule` on a virtual clock.

The daemon and the simulator share the policy core and the pass cadence; only who moves the
clock differs. ``berth sim`` (``cli/sim.py``) is the command line; `run_spec` is the same run
from Python. Heavy libraries (Rich, matplotlib) are imported only by the reporting functions.
"""

from sim.driver import REPLAY, SimResult, Simulation
from sim.engine import Engine, Order
from sim.mapping import node_cluster, processor_pool
from sim.metrics import JobRecord, Summary, bounded_slowdown, summarize
from sim.policies import POLICY_NAMES, parse_policy, policy_named
from sim.runner import RunResult, RunSpec, SpecError, run_spec

__all__ = [
    "POLICY_NAMES",
    "REPLAY",
    "Engine",
    "JobRecord",
    "Order",
    "RunResult",
    "RunSpec",
    "SimResult",
    "Simulation",
    "SpecError",
    "Summary",
    "bounded_slowdown",
    "node_cluster",
    "parse_policy",
    "policy_named",
    "processor_pool",
    "run_spec",
    "summarize",
]
