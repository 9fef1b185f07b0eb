"""A scheduling pass inside the daemon vs the bare core, on the same 10,000-job queue.

The daemon's pass is everything `Controller.run_pass` does: build the snapshot from the mirror,
`schedule()` on a worker thread, apply the plan (every pending job's reason and estimate, the
starts recorded RUNNING in one SQLite transaction) and hand the starts to the executor (a null
one here: launching is not the pass). The bare pass is `schedule()` alone on the same snapshot,
timed in the same process (bench/schedule_pass.py's workload). Target (issue 5): within 2x.

    .venv/bin/python bench/daemon_pass.py [--repeat 5] [--pending 10000] [--policy easy]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from schedule_pass import NOW, build_snapshot

from daemon.clock import ManualClock
from daemon.controller import Controller
from daemon.executors.base import EndCallback, LaunchSpec, Reconciled, RunKey
from daemon.records import JobRecord
from daemon.settings import Settings
from daemon.site import Site
from daemon.store import repository as repo
from daemon.store.database import Database
from scheduler import BackfillMode, JobState, Policy, Snapshot, schedule


class NullExecutor:
    """Accepts launches and does nothing: the benchmark times the pass, not the jobs."""

    def __init__(self) -> None:
        self.launched = 0

    async def start(self, on_end: EndCallback) -> None: ...
    async def stop(self) -> None: ...

    async def launch(self, spec: LaunchSpec) -> None:
        self.launched += 1

    async def signal(self, key: RunKey, signum: int, *, batch_only: bool) -> bool:
        return False

    async def kill(self, key: RunKey) -> None: ...

    async def reconcile(self, expected: Sequence[RunKey]) -> Reconciled:
        return Reconciled(running=tuple(expected))


def records_of(snapshot: Snapshot) -> list[JobRecord]:
    found = [
        JobRecord(request=job.request, uid=0, gid=0, state=JobState.RUNNING,
                  start_time=job.start_time, allocation=job.allocation)
        for job in snapshot.running
    ]  # fmt: skip
    found += [JobRecord(request=request, uid=0, gid=0) for request in snapshot.pending]
    return found


async def daemon_pass(snapshot: Snapshot, policy: Policy, database: Database) -> tuple[float, int]:
    site = Site(settings=Settings(home=Path(tempfile.mkdtemp())), cluster=snapshot.cluster,
                policy=policy)  # fmt: skip
    controller = Controller(site, database, NullExecutor(), ManualClock(NOW))
    controller.mirror.shares = snapshot.shares
    controller.mirror.usage = {(u.user, u.account): u.usage for u in snapshot.usage}
    controller.mirror.usage_time = NOW
    for record in records_of(snapshot):
        controller.mirror.put(record)
    began = time.perf_counter()
    plan = await controller.run_pass()
    return time.perf_counter() - began, len(plan.starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--policy", choices=[m.value for m in BackfillMode], default="easy")
    args = parser.parse_args()
    snapshot = build_snapshot(args.pending)
    policy = Policy(backfill=BackfillMode(args.policy))
    database = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    database.migrate()
    database.write_now(lambda c: repo.insert_jobs(c, [(records_of(snapshot), "#!/bin/sh\n", "{}")]))
    bare, inside = [], []
    for _ in range(args.repeat):  # interleaved, so machine noise hits both alike
        began = time.perf_counter()
        plan = schedule(snapshot, NOW, policy)
        bare.append(time.perf_counter() - began)
        elapsed, started = asyncio.run(daemon_pass(snapshot, policy, database))
        inside.append(elapsed)
    bare_ms, inside_ms = statistics.median(bare) * 1000, statistics.median(inside) * 1000
    print(f"{args.policy}: running {len(snapshot.running)}, pending {len(snapshot.pending)}, "
          f"starts {len(plan.starts)} (daemon {started}); median of {args.repeat}")  # fmt: skip
    print(f"bare schedule()      {bare_ms:8.1f} ms")
    print(f"daemon pass          {inside_ms:8.1f} ms   (x{inside_ms / bare_ms:.2f} of bare)")
    database.close()


if __name__ == "__main__":
    main()
