"""The parsing and formatting modules of the Slurm-named commands import only the standard library.

Commands must start fast (DESIGN §4, STYLE rule 11): a fresh interpreter imports each module and
reports which heavy or Berth-internal packages ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

MODULES = [
    "cli.options",
    "cli.sbatchscript",
    "cli.sbatchvalues",
    "cli.submission",
    "cli.states",
    "cli.arrays",
    "cli.timefmt",
    "cli.columns",
    "cli.hostnames",
    "cli.squeueformat",
    "cli.sacctfields",
    "cli.sacctformat",
    "cli.sinfoformat",
    "cli.scontrolformat",
    "cli.formats",
]
FORBIDDEN = ("scheduler", "daemon", "sim", "aiohttp", "sqlmodel", "sqlalchemy", "docker", "rich",
             "pydantic", "yaml", "matplotlib")  # fmt: skip


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_nothing_heavy(module: str) -> None:
    code = (
        f"import json, sys, {module}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(FORBIDDEN)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_modules_import_only_the_standard_library_and_cli() -> None:
    code = (
        "import json, sys\n"
        f"before = set(sys.modules)\n"
        f"import {', '.join(MODULES)}\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(json.dumps(sorted(m for m in new if m not in sys.stdlib_module_names)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == ["cli"]


COMMANDS = ["cli.sbatch", "cli.squeue", "cli.scancel", "cli.sinfo", "cli.sacct", "cli.scontrol",
            "cli.srun", "cli.sacctmgr", "cli.sshare", "cli.main"]  # fmt: skip
HEAVY = ("aiohttp", "sqlmodel", "sqlalchemy", "docker", "rich", "scheduler", "pydantic", "yaml",
         "matplotlib", "apscheduler", "pynvml", "sim")  # fmt: skip


@pytest.mark.parametrize("module", COMMANDS)
def test_command_imports_nothing_heavy(module: str) -> None:
    """Each installed command's module: nothing heavy, and of the daemon only the stdlib-only
    `daemon.filenames` (srun expands output patterns with it)."""
    code = (
        f"import json, sys, {module}\n"
        "names = sorted(sys.modules)\n"
        f"print(json.dumps([sorted({{m.split('.')[0] for m in names}} & {set(HEAVY)!r}),"
        " [m for m in names if m.split('.')[0] == 'daemon']]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    heavy, daemon_modules = json.loads(result.stdout)
    assert heavy == []
    assert set(daemon_modules) <= {"daemon", "daemon.filenames"}
