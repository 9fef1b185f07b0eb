"""`cli.sinfo` against a real daemon: ``-o %P``, ``%C``, the default and node-oriented lines,
filters and ``--json``; the adapter from the API's node records."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from cli.sinfo import main, node_record, partition_record
from tests.cli.conftest import BIN, call
from tests.daemon.harness import Daemon


def test_partition_and_cpus(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert call(main, ["-o", "%P"], capsys) == (0, "PARTITION\nmain*\n", "")
    assert call(main, ["-o", "%C"], capsys) == (0, "CPUS(A/I/O/T)\n0/4/0/4\n", "")
    assert call(main, ["-h", "-N", "-o", "%N %T %C %G"], capsys) == (
        0, "node1 idle 0/4/0/4 gpu:2\n", "")  # fmt: skip
    _, out, _ = call(main, [], capsys)
    assert out.splitlines() == ["PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST",
                                "main*        up    1:00:00      1   idle node1"]  # fmt: skip
    assert call(main, ["-h", "-t", "drain"], capsys) == (0, "", "")
    assert json.loads(call(main, ["--json"], capsys)[1])["partitions"][0]["name"] == "main"


def test_records_are_adapted() -> None:
    assert node_record({"name": "n1", "cpus_allocated": 2})["alloc_cpus"] == 2
    part = partition_record({"name": "p", "up": False, "max_time_s": 365 * 86400})
    assert (part["state"], part["max_time_s"]) == ("down", None)


def test_installed_command(daemon: Daemon) -> None:
    result = subprocess.run([str(BIN / "sinfo"), "-o", "%P"], capture_output=True, text=True,
                            env=os.environ, check=True, timeout=30)  # fmt: skip
    assert result.stdout == "PARTITION\nmain*\n"
