"""A seeded synthetic workload: Poisson arrivals, log-uniform run times, over-estimated limits.

`generate(n, seed, spec)` returns ``n`` `TraceJob` values, job ids 1..n in submit order:

- arrivals: a Poisson process of ``spec.arrival_rate`` jobs per second (exponential gaps, mean
  ``1 / rate``); submit = ``spec.start`` + the arrival time rounded down to the second;
- run time: log-uniform between ``run_time_min`` and ``run_time_max`` (as many jobs between 10 s
  and 100 s as between 1,000 s and 10,000 s), rounded to the second;
- estimate: ``ceil(run time * f)`` with ``f`` uniform in ``[1, estimate_factor_max]``, so never
  below the run time (1.0 gives exact estimates);
- processors, GPUs: drawn from the weighted ``procs_mix`` / ``gpus_mix`` ``(value, weight)``
  pairs; memory = ``mem_mb_per_proc`` * processors (0: not stated);
- users ``user1`` .. ``userN``; user k+1 is drawn with weight ``1 / (k + 1) ** user_skew`` (0:
  uniform; 1: Zipf-like, a few heavy users).

Determinism (STYLE rule 3): each concern (arrivals, run times, estimates, shapes, users) draws
from its own `random.Random` seeded with the string ``"berth-synthetic/{seed}/{concern}"``
(string seeds are hashed with SHA-512, the same on every machine and every run), so the same
``(n, seed, spec)`` gives identical jobs, changing one concern's parameters leaves the others'
draws unchanged, and the global `random` state is never read or touched.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sim.workloads.swf import TraceJob

Mix = tuple[tuple[int, float], ...]
"""Weighted choices: ``(value, weight)`` pairs; weights need not sum to 1."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticSpec:
    """The generator's parameters (see the module docstring); checked when built."""

    arrival_rate: float = 1 / 60
    run_time_min: int = 10
    run_time_max: int = 86_400
    estimate_factor_max: float = 5.0
    procs_mix: Mix = ((1, 0.4), (2, 0.2), (4, 0.15), (8, 0.1), (16, 0.1), (32, 0.05))
    gpus_mix: Mix = ((0, 1.0),)
    mem_mb_per_proc: int = 0
    users: int = 10
    user_skew: float = 0.0
    start: int = 0

    def __post_init__(self) -> None:
        problems = [
            text
            for bad, text in (
                (not self.arrival_rate > 0, "arrival_rate must be > 0"),
                (not 0 < self.run_time_min <= self.run_time_max, "need 0 < run_time_min <= max"),
                (not self.estimate_factor_max >= 1, "estimate_factor_max must be >= 1"),
                (not _valid_mix(self.procs_mix, 1), "procs_mix: values >= 1, weights > 0"),
                (not _valid_mix(self.gpus_mix, 0), "gpus_mix: values >= 0, weights > 0"),
                (self.mem_mb_per_proc < 0, "mem_mb_per_proc must be >= 0"),
                (self.users < 1, "users must be >= 1"),
                (not self.user_skew >= 0, "user_skew must be >= 0"),
            )
            if bad
        ]
        if problems:
            raise ValueError("invalid SyntheticSpec: " + "; ".join(problems))


def _valid_mix(mix: Mix, least: int) -> bool:
    return bool(mix) and all(value >= least and weight > 0 for value, weight in mix)


def generate(n: int, seed: int, spec: SyntheticSpec | None = None) -> tuple[TraceJob, ...]:
    """``n`` jobs drawn as the module docstring describes; same arguments, same jobs.

    :raises ValueError: when ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}")
    spec = spec or SyntheticSpec()
    arrivals, runs, estimates, shapes, owners = (
        random.Random(f"berth-synthetic/{seed}/{concern}")
        for concern in ("arrivals", "run_times", "estimates", "shapes", "users")
    )
    low, high = math.log(spec.run_time_min), math.log(spec.run_time_max)
    procs_values, procs_weights = zip(*spec.procs_mix, strict=True)
    gpus_values, gpus_weights = zip(*spec.gpus_mix, strict=True)
    names = [f"user{k + 1}" for k in range(spec.users)]
    user_weights = [1 / (k + 1) ** spec.user_skew for k in range(spec.users)]
    jobs = []
    clock = 0.0
    for job_id in range(1, n + 1):
        clock += arrivals.expovariate(spec.arrival_rate)
        run = round(math.exp(runs.uniform(low, high)))
        run = min(max(run, spec.run_time_min), spec.run_time_max)
        procs = shapes.choices(procs_values, procs_weights)[0]
        jobs.append(
            TraceJob(
                job_id=job_id,
                submit=spec.start + math.floor(clock),
                run_time=run,
                estimate=math.ceil(run * estimates.uniform(1.0, spec.estimate_factor_max)),
                procs=procs,
                user=owners.choices(names, user_weights)[0],
                gpus=shapes.choices(gpus_values, gpus_weights)[0],
                mem_mb=spec.mem_mb_per_proc * procs,
                status=1,
            )
        )
    return tuple(jobs)
