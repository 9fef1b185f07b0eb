"""sacct's field names and default widths, in the order of Slurm's ``fields[]`` table
(``SchedMD/slurm:src/sacct/sacct.c``), which decides prefix matches: ``-o`` names match the
first entry they begin, case-insensitively (``jobid`` -> JobID, not JobIDRaw; ``alloc`` ->
AllocCPUS). A negative width left-justifies. Berth fills in the fields its job resource can
answer (`cli.sacctformat`); the others print empty, as Slurm prints an unset value.

How a value wider than its column prints depends on the field's printer in
``SchedMD/slurm:src/common/print_fields.c``: text is cut and ends in ``+`` (``CANCELLED+``),
dates are cut without ``+``, numbers and durations are never cut (`UNCUT`, `DATES`).
"""

from __future__ import annotations

_TABLE = """
Account 10, AdminComment 15, AllocCPUS 10, AllocNodes 10, AllocTRES 10, AssocID 7, AveCPU 10,
AveCPUFreq 10, AveDiskRead 14, AveDiskWrite 14, AvePages 10, AveRSS 10, AveVMSize 10,
BlockID 16, Cluster 10, Comment 14, Constraints 19, ConsumedEnergy 14, ConsumedEnergyRaw 17,
Container 19, CPUTime 10, CPUTimeRAW 10, DBIndex -21, DerivedExitCode 15, Elapsed 10,
ElapsedRaw 10, Eligible 19, End 19, ExitCode 8, Extra 14, FailedNode 8, Flags 19, GID 6,
Group 9, JobID -12, JobIDRaw -12, JobName 10, Layout 9, Licenses 10, MaxDiskRead 12,
MaxDiskReadNode 15, MaxDiskReadTask 15, MaxDiskWrite 12, MaxDiskWriteNode 16,
MaxDiskWriteTask 16, MaxPages 8, MaxPagesNode 12, MaxPagesTask 14, MaxRSS 10, MaxRSSNode 10,
MaxRSSTask 10, MaxVMSize 10, MaxVMSizeNode 14, MaxVMSizeTask 14, McsLabel 12, MinCPU 10,
MinCPUNode 10, MinCPUTask 10, NCPUS 10, NNodes 8, NodeList 15, NTasks 8, Partition 10,
Planned 10, PlannedCPU 10, PlannedCPURAW 13, Priority 10, QOS 10, QOSRAW 6, QOSREQ 10,
Reason 22, ReqCPUFreq 10, ReqCPUFreqGov 13, ReqCPUFreqMax 13, ReqCPUFreqMin 13, ReqCPUS 8,
ReqMem 10, ReqNodes 8, ReqTRES 10, Reservation 20, ReservationId 8, Restarts 8,
SegmentSize 11, SLUID 14, Start 19, State 10, StdErr 20, StdIn 20, StdOut 20, Submit 19,
SubmitLine 20, Suspended 10, SystemComment 15, SystemCPU 10, Timelimit 10, TimelimitRaw 10,
TotalCPU 10, TRESUsageInAve 14, TRESUsageInMax 14, TRESUsageInMaxNode 18,
TRESUsageInMaxTask 18, TRESUsageInMin 14, TRESUsageInMinNode 18, TRESUsageInMinTask 18,
TRESUsageInTot 14, TRESUsageOutAve 15, TRESUsageOutMax 15, TRESUsageOutMaxNode 19,
TRESUsageOutMaxTask 19, TRESUsageOutMin 15, TRESUsageOutMinNode 19, TRESUsageOutMinTask 19,
TRESUsageOutTot 15, UID 6, User 9, UserCPU 10, WCKey 10, WCKeyID 10, WorkDir 20
"""

FIELD_WIDTHS: dict[str, int] = {
    name: int(width)
    for name, width in (item.split() for item in _TABLE.replace("\n", " ").split(",") if item)
}
UNCUT: frozenset[str] = frozenset(
    {
        "AllocCPUS", "AssocID", "ConsumedEnergyRaw", "CPUTime", "CPUTimeRAW", "DBIndex",
        "Elapsed", "ElapsedRaw", "GID", "MaxDiskReadTask", "MaxDiskWriteTask", "MaxPagesTask",
        "MaxRSSTask", "MaxVMSizeTask", "MinCPUTask", "NCPUS", "NNodes", "NTasks", "Planned",
        "PlannedCPU", "PlannedCPURAW", "Priority", "QOSRAW", "ReqCPUS", "ReservationId",
        "Restarts", "SegmentSize", "Suspended", "UID", "WCKeyID",
    }
)  # fmt: skip
DATES: frozenset[str] = frozenset({"Eligible", "End", "Start", "Submit"})
DEFAULT_FIELDS = "jobid,jobname,partition,account,alloccpus,state,exitcode"
BRIEF_FIELDS = "jobid,state,exitcode"
