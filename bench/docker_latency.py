"""Latency of a container job through Berth against a bare ``docker run`` of the same image.

Two figures, each the median (and 90th percentile) of ``--runs`` jobs, interleaved with as many
bare runs in the same process so both see the same engine and load:

* **submit -> running**: from just before the job is POSTed to a real daemon (executor
  ``docker``, no pass debounce) to the engine's ``start`` event of its container; bare: from
  just before create+start of an equal container (what ``docker run -d`` does, through the SDK,
  without the CLI's own start-up) to its ``start`` event.
* **exit -> end observed**: from the engine's ``die`` event to the moment a client sees the job
  COMPLETED through the API (polled every 2 ms); bare: from ``die`` to the return of
  ``wait`` (the engine's long-poll, what ``docker run`` waits on).

Target (issue 6): Berth at most 50 ms over bare for each.

    .venv/bin/python bench/docker_latency.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from daemon.executors.dockerevents import connect_engine
from tests.daemon.harness import CONFIG, Daemon

IMAGE = "berth-test-busybox"
HOLD_S = 0.5  # how long each job runs, so "start" and "die" are well apart
DAEMON_CONFIG = CONFIG.replace("[daemon]\n", '[daemon]\nexecutor = "docker"\n') + (
    f'\n[docker]\nallowed_images = ["{IMAGE}"]\n'
)


class Events:
    """The engine's start/die events by container name, timed by the engine (epoch ns)."""

    def __init__(self) -> None:
        self.api = connect_engine()
        self.times: dict[tuple[str, str], float] = {}
        self.seen = threading.Condition()
        filters = {"type": "container", "event": ["start", "die"]}
        self.stream = self.api.events(decode=True, filters=filters)
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        try:
            for event in self.stream:
                name = event["Actor"]["Attributes"].get("name", "")
                with self.seen:
                    self.times[(name, event["status"])] = event["timeNano"] / 1e9
                    self.seen.notify_all()
        except Exception:  # noqa: BLE001, S110 - the stream was closed
            pass

    def wait(self, name: str, status: str, timeout_s: float = 30.0) -> float:
        with self.seen:
            if not self.seen.wait_for(lambda: (name, status) in self.times, timeout_s):
                raise TimeoutError(f"no {status} event for {name}")
            return self.times[(name, status)]

    def close(self) -> None:
        self.stream.close()
        self.api.close()


def _berth_run(daemon: Daemon, events: Events) -> tuple[float, float]:
    client = daemon.client()
    body = {"script": f"#!/bin/sh\nsleep {HOLD_S}\n", "workdir": str(daemon.work),
            "environment": {"PATH": "/bin"}, "image": IMAGE}  # fmt: skip
    submitted = time.time()
    job_id = client.post("/v1/jobs", body)["job_id"]
    name = f"berth-node1-{job_id}.0"
    started = events.wait(name, "start")
    died = events.wait(name, "die")
    while client.get(f"/v1/jobs/{job_id}")["jobs"][0]["state"] != "COMPLETED":
        time.sleep(0.002)
    observed = time.time()
    return started - submitted, observed - died


def _bare_run(api: Any, events: Events, index: int) -> tuple[float, float]:
    name = f"bench-bare-{index}-{time.time_ns()}"
    began = time.time()
    container = api.create_container(IMAGE, ["sh", "-c", f"sleep {HOLD_S}"], name=name,
                                     host_config=api.create_host_config(init=True))  # fmt: skip
    api.start(container)
    api.wait(container)
    returned = time.time()
    started = events.wait(name, "start")
    died = events.wait(name, "die")
    api.remove_container(container, force=True)
    return started - began, returned - died


def _summary(label: str, samples: list[float]) -> str:
    ms = sorted(sample * 1000 for sample in samples)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return f"{label:<28} median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    events = Events()
    api = connect_engine()
    daemon = Daemon(DAEMON_CONFIG)
    daemon.start()
    berth: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    try:
        _bare_run(api, events, -1)  # warm the engine and the image
        _berth_run(daemon, events)
        for index in range(args.runs):
            bare.append(_bare_run(api, events, index))
            berth.append(_berth_run(daemon, events))
    finally:
        daemon.stop()
        events.close()
        api.close()
    print(f"{args.runs} jobs each, image {IMAGE}, every job running {HOLD_S} s")
    rows = [
        ("submit -> running", [b[0] for b in berth], [b[0] for b in bare]),
        ("exit -> end observed", [b[1] for b in berth], [b[1] for b in bare]),
    ]
    for label, ours, theirs in rows:
        print(_summary(f"berth  {label}", ours))
        print(_summary(f"bare   {label}", theirs))
        over = (statistics.median(ours) - statistics.median(theirs)) * 1000
        verdict = "within" if over <= 50 else "OVER"
        print(f"{'':<28} Berth over bare: {over:+.1f} ms (median; {verdict} the 50 ms target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
