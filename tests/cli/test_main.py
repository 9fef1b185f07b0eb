"""`cli.main`: the umbrella command dispatches, and imports only the standard library at start."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cli.main import main

HEAVY = ("sim", "rich", "matplotlib", "aiohttp", "docker", "sqlmodel")


def test_import_leaves_heavy_packages_out() -> None:
    code = f"import sys, cli.main\nprint([name for name in {HEAVY!r} if name in sys.modules])\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("berth ")


def test_demo_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert {"starts", "pending"} <= set(plan)


def test_help_lists_sim(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "sim" in out
    assert "demo" in out


def test_sim_is_dispatched(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--demo", "--first", "100", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["jobs"] == 100
    assert data["policy"] == "easy"


def test_sim_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["sim", "--help"], ["sim", "compare", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
        assert "--trace" in capsys.readouterr().out
