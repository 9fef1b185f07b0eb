"""`cli.formats` (squeue, sacct, sinfo, scontrol, --json) and `cli.states`, against Slurm's bytes.

Goldens come from ../shared/SLURM-BEHAVIOUR.md (a real Slurm 22.05) and the contract's rows
(../shared/SLURM-CONTRACT.md §2); the job dicts are shaped like docs/API.md's job resource.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli.columns import Column, Layout, fit, parse_named_format, parse_percent_format
from cli.formats import (
    FormatError,
    SacctField,
    SacctMode,
    format_config,
    format_job_details,
    format_json,
    format_sacct,
    format_sinfo,
    format_squeue,
    parse_sacct_fields,
    queue_rows,
)
from cli.hostnames import compress_hostnames
from cli.sinfoformat import gres_text, node_state
from cli.squeueformat import memory_text
from cli.states import (
    ACTIVE_STATES,
    FINISHED_STATES,
    STATE_CODES,
    compact_state,
    exit_code_text,
    long_state,
    parse_state_list,
    state_with_requester,
)

T0 = 1795428000  # 2026-11-23T10:00:00 UTC


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def job(job_id: int, **fields: Any) -> dict[str, Any]:
    """A job resource with Slurm's defaults; ``fields`` override."""
    record: dict[str, Any] = {
        "job_id": job_id, "array_job_id": None, "array_task_id": None, "array_throttle": None,
        "name": "job", "user": "bench", "uid": 1001, "gid": 1001, "account": "lab",
        "partition": "debug", "qos": "normal", "state": "PENDING", "reason": "Priority",
        "priority": 1, "submit_time": T0, "eligible_time": T0, "start_time": None,
        "end_time": None, "estimated_start": None, "planned_nodes": [], "time_limit_s": 300,
        "nodes": 1, "tasks": 1, "tasks_given": False, "cpus_per_task": 1, "mem_mb": 1024,
        "gpus_per_node": 0, "gpu_model": None, "node_list": "", "allocation": [],
        "exit_code": 0, "exit_signal": 0, "cancelled_by": None, "hold": "none", "nice": 0,
        "requeue": True, "restart_count": 0, "dependency": "", "workdir": "/home/bench",
        "stdout": f"/home/bench/slurm-{job_id}.out", "stderr": f"/home/bench/slurm-{job_id}.out",
        "command": "/home/bench/job.sh", "comment": "", "image": "", "steps": [],
    }  # fmt: skip
    record.update(fields)
    return record


def running(job_id: int, node: str = "n1", cpus: int = 1, **fields: Any) -> dict[str, Any]:
    allocation = [{"node": node, "cpus": cpus, "mem_mb": 1024, "gpus": [], "gpu_uuids": []}]
    defaults = {"state": "RUNNING", "reason": "None", "start_time": T0, "node_list": node,
                "allocation": allocation}  # fmt: skip
    return job(job_id, **(defaults | fields))


def array(array_id: int, tasks: range | list[int], **fields: Any) -> list[dict[str, Any]]:
    return [job(array_id + task, array_job_id=array_id, array_task_id=task, **fields)
            for task in tasks]  # fmt: skip


# --- squeue -------------------------------------------------------------------------------------

SQUEUE_2205 = """\
             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)
             21171     debug  single1    bench PD       0:00      1 (Dependency)
             21168     debug   dep_ok    bench PD       0:00      1 (DependencyNeverSatisfied)
     21166_[0-9%2]     debug      arr    bench PD       0:00      1 (JobHeldUser)
             21170     debug  single1    bench  R       0:03      1 n1
"""


def golden_jobs() -> list[dict[str, Any]]:
    return [
        job(21171, name="single1", reason="Dependency"),
        job(21168, name="dep_ok", reason="DependencyNeverSatisfied"),
        *array(21166, range(10), name="arr", reason="JobHeldUser", array_throttle=2, priority=0),
        running(21170, name="single1"),
    ]


def test_default_squeue_is_slurm_2205_byte_for_byte() -> None:
    assert format_squeue(golden_jobs(), now=T0 + 3) == SQUEUE_2205


def test_fixed_width_columns_truncate_and_never_widen() -> None:
    out = format_squeue(golden_jobs()[2:12], now=T0, fmt="%10i|", header=False)
    assert out == "21166_[0-9|\n"


def test_released_array_folds_the_tasks_still_pending() -> None:
    tasks = array(21166, range(10), name="arr", reason="JobArrayTaskLimit", array_throttle=2)
    tasks[0] |= {"state": "RUNNING", "reason": "None", "start_time": T0, "node_list": "n1"}
    tasks[1] |= {"state": "RUNNING", "reason": "None", "start_time": T0, "node_list": "n2"}
    tasks[3] |= {"state": "CANCELLED", "reason": "None", "cancelled_by": 1001}
    out = format_squeue(tasks, now=T0, fmt="%i %t", header=False)
    assert out == "21166_0 R\n21166_1 R\n21166_[2,4-9%2] PD\n21166_3 CA\n"
    expanded = format_squeue(tasks, now=T0, fmt="%i", header=False, expand_arrays=True)
    assert expanded.split() == [f"21166_{i}" for i in range(10)]


def test_contract_row_13_ids_and_compact_states() -> None:
    jobs = [running(123), job(124, array_job_id=124, array_task_id=0, state="COMPLETED"),
            *array(124, range(1, 5))]  # fmt: skip
    assert format_squeue(jobs, now=T0, fmt="%i %t", header=False) == (
        "123 R\n124_0 CD\n124_[1-4] PD\n"
    )


def test_contract_row_14_literal_separators_and_long_states() -> None:
    out = format_squeue([running(7), job(8)], now=T0, fmt="%i|%T", header=False)
    assert out == "7|RUNNING\n8|PENDING\n"
    assert format_squeue([job(8)], now=T0, fmt="%i|%T") == "JOBID|STATE\n8|PENDING\n"


def test_contract_row_15_named_fields_are_20_wide_without_separator() -> None:
    out = format_squeue(
        [running(5), *array(9, [1, 2])], now=T0, named="JobArrayID,StateCompact,Reason"
    )
    assert out.splitlines() == [
        f"{'JOBID':<20}{'ST':<20}{'REASON':<20}",
        f"{'5':<20}{'R':<20}{'None':<20}",
        f"{'9_[1-2]':<20}{'PD':<20}{'Priority':<20}",
    ]


def test_named_fields_take_widths_justification_and_suffixes() -> None:
    out = format_squeue([running(5)], now=T0, named="jobid:.6|,STATE:", header=False)
    assert out == "     5|RUNNING\n"
    with pytest.raises(FormatError, match="Invalid job format specification: nosuch"):
        format_squeue([], now=T0, named="nosuch")


@pytest.mark.parametrize(
    ("fmt", "line"),
    [
        ("%.10i", "       123"),
        ("%10i", "123       "),
        ("%-10i", "123       "),
        ("%.2i", "12"),
        ("id=%i!", "id=123!"),
        ("%i%%%j", "123job"),
        ("%t %T %u %U %a %P %q %j", "R RUNNING bench 1001 lab debug normal job"),
        ("%M %l %L", "1:01:01 5:00 INVALID"),
        ("%D %C %m %b", "1 4 1G N/A"),
        ("%N|%R|%r", "n1|n1|None"),
        ("%S %e %V", "2026-11-23T10:00:00 2026-11-23T10:05:00 2026-11-23T10:00:00"),
        ("%A %F %K %Q %y %Y %z", "123 123 N/A 1 0 (null) *:*:*"),
        ("%p", "0.00000000023283"),
        ("%o %Z %E %k", "/home/bench/job.sh /home/bench (null) (null)"),
    ],
)
def test_squeue_fields_and_widths(fmt: str, line: str) -> None:
    out = format_squeue([running(123, cpus=4)], now=T0 + 3661, fmt=fmt, header=False)
    assert out == line + "\n"


def test_squeue_fields_of_pending_and_finished_jobs() -> None:
    pending = job(9, estimated_start=T0 + 600, planned_nodes=["n1", "n2", "n3"], nodes=3,
                  tasks=6, cpus_per_task=2, gpus_per_node=2, gpu_model="a100", mem_mb=1536,
                  time_limit_s=None, dependency="afterok:8(unfulfilled)")  # fmt: skip
    out = format_squeue([pending], now=T0, fmt="%S|%Y|%C|%b|%m|%l|%L|%E|%R", header=False)
    assert out == (
        "2026-11-23T10:10:00|n[1-3]|12|gres:gpu:a100:2|1.50G|UNLIMITED|UNLIMITED|"
        "afterok:8(unfulfilled)|(Priority)\n"
    )
    failed = job(10, state="FAILED", reason="None", start_time=T0, end_time=T0 + 5,
                 node_list="n1", exit_code=3)  # fmt: skip
    timeout = job(11, state="TIMEOUT", reason="None", start_time=T0, end_time=T0 + 61)
    done = job(12, state="COMPLETED", reason="None", start_time=T0, end_time=T0 + 7,
               node_list="n2")  # fmt: skip
    out = format_squeue([failed, timeout, done], now=T0 + 999, fmt="%i %t %M %R", header=False)
    assert out == "10 F 0:05 (NonZeroExitCode)\n11 TO 1:01 (TimeLimit)\n12 CD 0:07 n2\n"


def test_folded_arrays_in_other_fields() -> None:
    tasks = array(40, [1, 2, 3], array_throttle=2)
    assert format_squeue(tasks, now=T0, fmt="%A %F %K", header=False) == "40 40 1-3%2\n"
    plain = array(50, [4, 5])
    assert format_squeue(plain, now=T0, fmt="%K", header=False) == "4-5\n"
    assert format_squeue(plain, now=T0, fmt="%K", header=False, expand_arrays=True) == "4\n5\n"
    done = job(6, state="COMPLETED", start_time=T0, end_time=T0 + 9)
    assert format_squeue([done], now=T0, fmt="%e", header=False) == "2026-11-23T10:00:09\n"


def test_default_header_and_unknown_letters() -> None:
    assert format_squeue([], now=T0) == SQUEUE_2205.splitlines(keepends=True)[0]
    assert format_squeue([], now=T0, header=False) == ""
    with pytest.raises(FormatError) as info:
        format_squeue([], now=T0, fmt="%i %!")
    assert info.value.lines == ("Invalid job format specification: !",)
    with pytest.raises(FormatError, match="Invalid job format specification: %10"):
        format_squeue([], now=T0, fmt="%i %10")


def test_queue_rows_fold_per_array_and_reason() -> None:
    tasks = array(40, range(4), reason="JobHeldUser")
    tasks[2]["reason"] = "Priority"
    rows = queue_rows([job(1), *tasks, job(2)])
    assert [(r.job["job_id"], r.task_ids) for r in rows] == [
        (1, None), (40, (0, 1, 3)), (42, (2,)), (2, None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("mb", "text"), [(1024, "1G"), (4096, "4G"), (1536, "1.50G"), (1000, "1000M"),
                     (0, "0M"), (1048576, "1T"), (None, "N/A")]
)  # fmt: skip
def test_memory_text(mb: int | None, text: str) -> None:
    assert memory_text(mb) == text


# --- sacct --------------------------------------------------------------------------------------


def sacct_jobs() -> list[dict[str, Any]]:
    batch = {"step_id": "batch", "name": "batch", "state": "COMPLETED", "exit_code": 0,
             "exit_signal": 0, "start_time": T0, "end_time": T0 + 61,
             "node_list": "n1"}  # fmt: skip
    step0 = batch | {"step_id": "0", "name": "python"}
    tasks = array(123, range(10), array_throttle=3, name="arr")
    for index in range(5):
        tasks[index] |= {"state": "COMPLETED", "reason": "None", "start_time": T0,
                         "end_time": T0 + 61, "node_list": "n1", "steps": [batch]}  # fmt: skip
    return [
        running(100, name="train", steps=[batch | {"end_time": None, "state": "RUNNING"}]),
        job(101, state="FAILED", reason="None", exit_code=3, start_time=T0, end_time=T0 + 1,
            node_list="n2", steps=[batch | {"state": "FAILED", "exit_code": 3}, step0]),
        *tasks[3:],
    ]  # fmt: skip


def test_contract_row_8_parsable2_with_steps_and_array_remainder() -> None:
    fields = parse_sacct_fields(["JobID,State,NodeList"])
    out = format_sacct(sacct_jobs(), now=T0 + 100, fields=fields, mode=SacctMode.PARSABLE2)
    assert out == (
        "JobID|State|NodeList\n"
        "100|RUNNING|n1\n"
        "100.batch|RUNNING|n1\n"
        "101|FAILED|n2\n"
        "101.batch|FAILED|n1\n"
        "101.0|COMPLETED|n1\n"
        "123_3|COMPLETED|n1\n"
        "123_3.batch|COMPLETED|n1\n"
        "123_4|COMPLETED|n1\n"
        "123_4.batch|COMPLETED|n1\n"
        "123_[5-9%3]|PENDING|None assigned\n"
    )


def test_contract_row_9_raw_ids_no_steps_no_header() -> None:
    jobs = [job(12, state="CANCELLED", reason="None", cancelled_by=1001),
            job(13, state="COMPLETED", reason="None"),
            job(15, array_job_id=14, array_task_id=1, state="COMPLETED")]  # fmt: skip
    out = format_sacct(jobs, now=T0, fields=parse_sacct_fields(["JobIdRaw,State"]),
                       mode=SacctMode.PARSABLE2, header=False, steps=False)  # fmt: skip
    assert out == "12|CANCELLED by 1001\n13|COMPLETED\n15|COMPLETED\n"


def test_contract_row_10_left_justified_256_and_a_trailing_space() -> None:
    out = format_sacct([running(7, node="n[1-2]")], now=T0, header=False, steps=False,
                       fields=parse_sacct_fields(["nodelist%-256"]))  # fmt: skip
    assert out == "n[1-2]" + " " * 250 + " \n"


def test_contract_row_11_jobid_and_a_20_wide_state() -> None:
    jobs = [running(7), job(8, state="CANCELLED", reason="None", cancelled_by=0)]
    out = format_sacct(jobs, now=T0, header=False, steps=False,
                       fields=parse_sacct_fields(["jobid,state%20"]))  # fmt: skip
    assert out == f"{'7':<12} {'RUNNING':>20} \n{'8':<12} {'CANCELLED by 0':>20} \n"


def test_default_fixed_width_sacct_truncates_with_a_plus() -> None:
    jobs = [job(12, name="a-long-job-name", state="CANCELLED", reason="None", cancelled_by=1001,
                allocation=[{"node": "n1", "cpus": 4, "mem_mb": 4096, "gpus": [0]}]),
            job(13, state="FAILED", reason="None", exit_code=3),
            job(14, state="FAILED", reason="None", exit_signal=9)]  # fmt: skip
    assert format_sacct(jobs, now=T0) == (
        "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode \n"
        "------------ ---------- ---------- ---------- ---------- ---------- -------- \n"
        "12           a-long-jo+      debug        lab          4 CANCELLED+      0:0 \n"
        "13                  job      debug        lab          0     FAILED      3:0 \n"
        "14                  job      debug        lab          0     FAILED      0:9 \n"
    )


def test_parsable_puts_a_bar_after_every_field() -> None:
    out = format_sacct([job(5, state="COMPLETED")], now=T0, mode=SacctMode.PARSABLE,
                       fields=parse_sacct_fields(["jobid", "state"]))  # fmt: skip
    assert out == "JobID|State|\n5|COMPLETED|\n"
    other = format_sacct([job(5)], now=T0, mode=SacctMode.PARSABLE2, delimiter=",",
                         fields=parse_sacct_fields(["jobid,state"]))  # fmt: skip
    assert other == "JobID,State\n5,PENDING\n"


def test_elapsed_timeout_and_times() -> None:
    timed_out = job(20, state="TIMEOUT", reason="None", start_time=T0, end_time=T0 + 61,
                    time_limit_s=60)  # fmt: skip
    fields = parse_sacct_fields(["JobID,State,ExitCode,Elapsed,ElapsedRaw,Timelimit,Start,End"])
    out = format_sacct([timed_out, running(21), job(22)], now=T0 + 3600, fields=fields,
                       mode=SacctMode.PARSABLE2, header=False)  # fmt: skip
    assert out == (
        "20|TIMEOUT|0:0|00:01:01|61|00:01:00|2026-11-23T10:00:00|2026-11-23T10:01:01\n"
        "21|RUNNING|0:0|01:00:00|3600|00:05:00|2026-11-23T10:00:00|Unknown\n"
        "22|PENDING|0:0|00:00:00|0|00:05:00|Unknown|Unknown\n"
    )


def test_step_rows_carry_step_values_and_the_jobs_account() -> None:
    step = {"step_id": "0", "name": "python", "state": "RUNNING", "exit_code": 0,
            "exit_signal": 0, "start_time": T0 + 10, "end_time": None,
            "node_list": "n1"}  # fmt: skip
    fields = parse_sacct_fields(["jobid,jobname,account,partition,elapsed,reason,alloccpus"])
    out = format_sacct([running(3, cpus=2, steps=[step])], now=T0 + 70, fields=fields,
                       mode=SacctMode.PARSABLE2, header=False)  # fmt: skip
    assert out == "3|job|lab|debug|00:01:10|None|2\n3.0|python|lab||00:01:00||2\n"
    ended = job(4, state="COMPLETED", start_time=T0, end_time=T0 + 30, steps=[step])
    fields = parse_sacct_fields(["jobid,end,elapsed"])
    out = format_sacct([ended], now=T0 + 999, fields=fields, mode=SacctMode.PARSABLE2)
    assert out.splitlines()[-1] == "4.0|2026-11-23T10:00:30|00:00:20"


def test_field_names_match_by_case_insensitive_prefix_in_table_order() -> None:
    names = [f.name for f in parse_sacct_fields(["JobIdRaw,jobid,nodelist,STATE,alloc,n,Reas"])]
    assert names == ["JobIDRaw", "JobID", "NodeList", "State", "AllocCPUS", "NCPUS", "Reason"]
    assert parse_sacct_fields(["state%20,jobid%-5"]) == [
        SacctField("State", 20), SacctField("JobID", -5),
    ]  # fmt: skip
    assert len(parse_sacct_fields(["all"])) == len(parse_sacct_fields(["ALL"])) > 100
    assert parse_sacct_fields(["jobid,,state,"]) == parse_sacct_fields(["jobid", "state"])
    with pytest.raises(FormatError) as info:
        parse_sacct_fields(["JobID,bogus"])
    assert info.value.lines == ('Invalid field requested: "bogus"',)


def test_fixed_width_cut_rules_per_field_kind() -> None:
    record = running(1234567, cpus=123456789012, start_time=T0)
    fields = [SacctField("JobID", 3), SacctField("AllocCPUS", 4), SacctField("Start", 5),
              SacctField("Comment", -4), SacctField("Elapsed", 3)]  # fmt: skip
    out = format_sacct([record], now=T0 + 61, fields=fields)
    assert out.splitlines() == [
        "Job Allo Start Comm Ela ",
        "--- ---- ----- ---- --- ",
        "12+ 123456789012 2026- " + " " * 4 + " 00:01:01 ",
    ]


def test_more_sacct_fields() -> None:
    allocation = [{"node": "n1", "cpus": 8, "mem_mb": 8192, "gpus": [0, 1]}]
    record = running(30, allocation=allocation, tasks=2, cpus_per_task=4, gpus_per_node=2,
                     mem_mb=8192, restart_count=1, comment="c")  # fmt: skip
    names = ("JobName,Partition,Account,User,UID,GID,QOS,Priority,ReqMem,ReqCPUS,ReqNodes,"
             "NNodes,NCPUS,AllocTRES,ReqTRES,Restarts,Comment,WorkDir,StdOut,TimelimitRaw,"
             "CPUTimeRAW,Reason,Submit,Eligible,Cluster")  # fmt: skip
    out = format_sacct([record], now=T0 + 10, fields=parse_sacct_fields([names]),
                       mode=SacctMode.PARSABLE2, header=False)  # fmt: skip
    assert out.rstrip("\n").split("|") == [
        "job", "debug", "lab", "bench", "1001", "1001", "normal", "1", "8G", "8", "1", "1", "8",
        "billing=8,cpu=8,gres/gpu=2,mem=8G,node=1", "billing=8,cpu=8,gres/gpu=2,mem=8G,node=1",
        "1", "c", "/home/bench", "/home/bench/slurm-30.out", "5", "80", "None",
        "2026-11-23T10:00:00", "2026-11-23T10:00:00", "",
    ]  # fmt: skip


# --- states -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("long", "code"),
    [("PENDING", "PD"), ("RUNNING", "R"), ("SUSPENDED", "S"), ("COMPLETED", "CD"),
     ("CANCELLED", "CA"), ("FAILED", "F"), ("TIMEOUT", "TO"), ("NODE_FAIL", "NF"),
     ("PREEMPTED", "PR"), ("BOOT_FAIL", "BF"), ("DEADLINE", "DL"), ("OUT_OF_MEMORY", "OOM"),
     ("COMPLETING", "CG"), ("CONFIGURING", "CF"), ("STAGE_OUT", "SO"), ("REQUEUED", "RQ"),
     ("REQUEUE_HOLD", "RH"), ("REQUEUE_FED", "RF"), ("SPECIAL_EXIT", "SE"), ("STOPPED", "ST"),
     ("REVOKED", "RV"), ("RESV_DEL_HOLD", "RD"), ("RESIZING", "RS"), ("SIGNALING", "SI")],
)  # fmt: skip
def test_state_names_and_codes(long: str, code: str) -> None:
    assert compact_state(long) == code
    assert long_state(code) == long
    assert long_state(code.lower()) == long_state(long.lower()) == long


def test_state_helpers() -> None:
    assert compact_state("WEIRD") == "WEIRD"
    with pytest.raises(ValueError, match="Invalid job state specified: bogus"):
        long_state("bogus")
    assert parse_state_list("all") is None
    assert parse_state_list("PD,r,completed") == frozenset({"PENDING", "RUNNING", "COMPLETED"})
    assert state_with_requester("CANCELLED", 1001) == "CANCELLED by 1001"
    assert state_with_requester("CANCELLED", None) == "CANCELLED"
    assert state_with_requester("FAILED", 1001) == "FAILED"
    assert exit_code_text(3, 0) == "3:0"
    assert exit_code_text(0, 9) == "0:9"
    assert exit_code_text(None, None) == "0:0"
    assert not ACTIVE_STATES & FINISHED_STATES
    assert set(STATE_CODES) >= ACTIVE_STATES | FINISHED_STATES


# --- scontrol -----------------------------------------------------------------------------------


def test_show_config_lines() -> None:
    out = format_config({"MinJobAge": 300, "MaxArraySize": 1001, "ClusterName": "berth"})
    assert out == (
        "MinJobAge               = 300 sec\n"
        "MaxArraySize            = 1001\n"
        "ClusterName             = berth\n"
    )
    assert format_config({}, as_of=T0) == "Configuration data as of 2026-11-23T10:00:00\n"


def test_show_job_block() -> None:
    held = job(21169, name="held", priority=0, reason="JobHeldUser", hold="user",
               dependency="afterok:21167(failed)")  # fmt: skip
    lines = format_job_details([held], now=T0).splitlines()
    assert lines[0] == "JobId=21169 JobName=held"
    assert "   Priority=0 Nice=0 Account=lab QOS=normal" in lines
    assert "   JobState=PENDING Reason=JobHeldUser Dependency=afterok:21167(failed)" in lines
    assert "   RunTime=00:00:00 TimeLimit=00:05:00 TimeMin=N/A" in lines
    assert "   StartTime=Unknown EndTime=Unknown Deadline=N/A" in lines
    assert "   NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:*" in lines
    assert "   TRES=billing=1,cpu=1,mem=1G,node=1" in lines
    assert lines[-2:] == ["   StdOut=/home/bench/slurm-21169.out", ""]
    gpu = running(5, gpus_per_node=2, gpu_model="a100", image="pytorch:24", comment="hi")
    block = format_job_details([gpu], now=T0 + 3)
    assert block.endswith("   TresPerNode=gres:gpu:a100:2\n   ContainerImage=pytorch:24\n\n")
    assert "   Comment=hi\n" in block
    assert "   RunTime=00:00:03 " in block


def test_show_job_folds_pending_array_tasks() -> None:
    tasks = array(21166, [2, 4, 5, 6, 7, 8, 9], name="arr", array_throttle=2,
                  reason="JobArrayTaskLimit")  # fmt: skip
    out = format_job_details(tasks, now=T0)
    assert out.startswith(
        "JobId=21166 ArrayJobId=21166 ArrayTaskId=2,4-9 ArrayTaskThrottle=2 JobName=arr\n"
    )
    assert out.count("   UserId=") == 1
    assert out.endswith("\n\n")
    one = format_job_details([job(21168, array_job_id=21166, array_task_id=2,
                                  state="RUNNING")], now=T0)  # fmt: skip
    assert one.startswith("JobId=21168 ArrayJobId=21166 ArrayTaskId=2 JobName=job\n")


# --- sinfo --------------------------------------------------------------------------------------

PARTITIONS = [
    {"name": "debug", "default": True, "max_time_s": None, "state": "up"},
    {"name": "long", "default": False, "max_time_s": 7 * 86400, "state": "up"},
]


def nodes(*states: str, partitions: tuple[str, ...] = ("debug",)) -> list[dict[str, Any]]:
    return [{"name": f"n{i}", "state": state, "partitions": list(partitions), "cpus": 4,
             "alloc_cpus": 2 if state in ("completing", "mixed") else 0, "mem_mb": 16000,
             "gpus": [{"index": g, "model": "a100"} for g in range(4)]}
            for i, state in enumerate(states, start=1)]  # fmt: skip


def test_sinfo_partitions_with_the_default_starred() -> None:
    cluster = nodes("idle", "idle", partitions=("debug", "long"))
    assert format_sinfo(cluster, PARTITIONS, fmt="%P") == "PARTITION\ndebug*\nlong\n"


def test_sinfo_cpus_of_dask_tests() -> None:
    cluster = nodes("idle", "idle", "idle", "idle")
    assert format_sinfo(cluster, PARTITIONS[:1], fmt="%C") == "CPUS(A/I/O/T)\n0/16/0/16\n"


def test_sinfo_splits_a_partition_per_node_state() -> None:
    cluster = nodes("completing", "idle", "idle", "idle")
    assert format_sinfo(cluster, PARTITIONS) == (
        "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n"
        "debug*       up   infinite      1   comp n1\n"
        "debug*       up   infinite      3   idle n[2-4]\n"
        "long         up 7-00:00:00      0    n/a \n"
    )


def test_sinfo_node_oriented() -> None:
    cluster = nodes("completing", "idle")
    out = format_sinfo(cluster, PARTITIONS[:1], fmt="%N %T %C %G", node_oriented=True)
    assert out == "NODELIST STATE CPUS(A/I/O/T) GRES\nn1 completing 2/2/0/4 gpu:a100:4\n" + (
        "n2 idle 0/4/0/4 gpu:a100:4\n"
    )


def test_node_states_read_like_sinfo() -> None:
    assert node_state({"state": "alloc"}) == "allocated"
    assert node_state({"state": "DRAIN", "alloc_cpus": 2}) == "draining"
    assert node_state({}) == "unknown"
    assert gres_text({"gpus": 2}) == "gpu:2"
    cluster = nodes("idle", "idle", partitions=("debug", "long"))
    assert format_sinfo(cluster, PARTITIONS, fmt="%D %t", header=False) == "2 idle\n"


def test_sinfo_other_cpus_and_counts() -> None:
    cluster = nodes("drain", "down", "mixed", "allocated")
    cluster[3]["alloc_cpus"] = 4
    cluster[0]["gpus"] = 0
    out = format_sinfo(cluster, PARTITIONS[:1], fmt="%C %A %D %t", header=False)
    assert out.splitlines() == [
        "0/0/4/4 0/0 1 drain", "0/0/4/4 0/0 1 down", "2/2/0/4 1/0 1 mix", "4/0/0/4 1/0 1 alloc",
    ]  # fmt: skip
    grouped = format_sinfo(cluster, PARTITIONS[:1], fmt="%C|%A|%D", header=False)
    assert grouped == "6/2/8/16|2/0|4\n"
    per_state = format_sinfo(cluster, PARTITIONS[:1], fmt="%T %D %G %c %m %E %f", header=False)
    assert per_state.splitlines() == [
        "drained 1 (null) 4 16000 none (null)",
        "down 1 gpu:a100:4 4 16000 none (null)",
        "mixed 1 gpu:a100:4 4 16000 none (null)",
        "allocated 1 gpu:a100:4 4 16000 none (null)",
    ]
    with pytest.raises(FormatError, match="Invalid node format specification: Q"):
        format_sinfo(cluster, PARTITIONS, fmt="%Q")


# --- json, columns, host lists ------------------------------------------------------------------


def test_json_is_plain_dumps_under_a_top_level_key() -> None:
    records = [job(1), running(2)]
    text = format_json(jobs=records)
    assert json.loads(text) == {"jobs": records}
    assert text.endswith("}\n")
    assert text.startswith('{\n  "jobs": [')
    assert json.loads(format_json(nodes=[], partitions=PARTITIONS))["partitions"] == PARTITIONS


def test_columns() -> None:
    assert fit("21166_[0-9%2]", 10) == "21166_[0-9"
    assert fit("7", 3, right=True) == "  7"
    assert fit("anything", 0) == "anything"
    assert parse_percent_format("x%.5i-%j") == Layout(
        "x", (Column("i", 5, True, "-"), Column("j", 0, False, ""))
    )
    assert parse_percent_format("no fields") == Layout("no fields", ())
    assert parse_named_format("jobid,,name:10,state:.8;") == Layout(
        "", (Column("jobid", 20), Column("name", 10), Column("state", 8, True, ";"))
    )


@pytest.mark.parametrize(
    ("names", "text"),
    [(["n1", "n2", "n3", "n5"], "n[1-3,5]"), (["gpu01", "gpu02", "gpu10"], "gpu[01-02,10]"),
     (["n2", "n1", "login"], "n[1-2],login"), (["n1", "n1"], "n1"), ([], ""),
     (["rack1-n1", "rack1-n2"], "rack1-n[1-2]"), (["n09", "n10", "n9"], "n[09-10],n9")],
)  # fmt: skip
def test_compress_hostnames(names: list[str], text: str) -> None:
    assert compress_hostnames(names) == text
