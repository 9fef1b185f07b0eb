"""Workloads for the simulator: trace readers, a seeded generator and slicing, all as `TraceJob`.

- `swf`: Standard Workload Format traces (Parallel Workloads Archive), with the cleaning presets
  `PWA_POOL` and `RLSCHEDULER` of ``shared/traces/VALIDATION.md``; defines `TraceJob`, and
  `bulk_constructor` for readers and mappings that build one frozen record per job.
- `alibaba`: the Alibaba GPU trace v2023 (tasks with GPUs and memory; the node list).
- `synthetic`: `generate(n, seed, spec)`, deterministic for a seed.
- `transform`: first N jobs, index and time windows, rebasing, load scaling.
"""

from sim.workloads.alibaba import (
    DROP_NEGATIVE_RUN,
    DROP_NO_END,
    DROP_UNSCHEDULED,
    SET_WHOLE_CPU,
    SET_WHOLE_GPU,
    AlibabaTask,
    AlibabaTrace,
    TraceNode,
    alibaba_jobs,
    read_alibaba,
    read_alibaba_nodes,
    read_alibaba_tasks,
)
from sim.workloads.swf import (
    DROP_MALFORMED,
    DROP_NO_PROCS,
    DROP_NO_RUN_TIME,
    PWA_POOL,
    RLSCHEDULER,
    SET_ESTIMATE,
    SET_PROCS,
    SET_RUN_TIME,
    CleaningRules,
    Report,
    SwfHeader,
    SwfTrace,
    TraceFormatError,
    TraceJob,
    bulk_constructor,
    load_lines,
    read_swf,
)
from sim.workloads.synthetic import SyntheticSpec, generate
from sim.workloads.transform import first, rebase, scale_load, time_window, window

__all__ = [
    "DROP_MALFORMED",
    "DROP_NEGATIVE_RUN",
    "DROP_NO_END",
    "DROP_NO_PROCS",
    "DROP_NO_RUN_TIME",
    "DROP_UNSCHEDULED",
    "PWA_POOL",
    "RLSCHEDULER",
    "SET_ESTIMATE",
    "SET_PROCS",
    "SET_RUN_TIME",
    "SET_WHOLE_CPU",
    "SET_WHOLE_GPU",
    "AlibabaTask",
    "AlibabaTrace",
    "CleaningRules",
    "Report",
    "SwfHeader",
    "SwfTrace",
    "SyntheticSpec",
    "TraceFormatError",
    "TraceJob",
    "TraceNode",
    "alibaba_jobs",
    "bulk_constructor",
    "first",
    "generate",
    "load_lines",
    "read_alibaba",
    "read_alibaba_nodes",
    "read_alibaba_tasks",
    "read_swf",
    "rebase",
    "scale_load",
    "time_window",
    "window",
]
