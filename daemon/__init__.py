"""Berth's controller: the store, the scheduling loop, the REST API and the executors.

Deliberately empty of imports: job supervisors (``python -m daemon.executors.shepherd``) and the
Slurm commands (``srun`` uses `daemon.filenames`) import modules of this package and must start
in milliseconds, without aiohttp, SQLAlchemy or docker. Where things are:

| module | role |
|---|---|
| `daemon.main` | ``berth daemon``: open the store, recover, serve; executors per node |
| `daemon.site`, `daemon.settings` | ``berth.toml`` / ``limits.yaml`` -> cluster, policy, settings |
| `daemon.store` | sqlmodel tables, migrations, the one grouped writer, queries |
| `daemon.records`, `daemon.mirror` | a job as kept here; the in-memory mirror -> Snapshot |
| `daemon.controller`, `daemon.housekeeping` | passes, launches, ends, recovery; periodic sweeps |
| `daemon.operations`, `daemon.steps` | submit, cancel, hold, release, requeue, update; steps |
| `daemon.submission`, `daemon.intake` | request -> Draft -> job records |
| `daemon.ending` | a run's end -> Slurm's final state |
| `daemon.launching`, `daemon.jobenv`, `daemon.filenames` | LaunchSpec, Slurm env, ``%j`` paths |
| `daemon.executors` | the Executor contract, processes (shepherd), Docker, routing |
| `daemon.remote`, `daemon.agents`, `daemon.agent` | ``berth node``: heartbeats and orders |
| `daemon.api`, `daemon.app`, `daemon.auth`, `daemon.metrics` | HTTP, identity, Prometheus |
| `daemon.gpus`, `daemon.clock`, `daemon.loops` | NVML; the one wall clock; APScheduler jobs |
"""
