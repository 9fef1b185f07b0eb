"""The simulator's public surface is exactly its ``__all__``, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import sim


def test_public_surface_is_exactly_what_all_says() -> None:
    exported = {name for name in dir(sim) if not name.startswith("_")}
    modules = {name for name in exported if type(getattr(sim, name)).__name__ == "module"}
    assert set(sim.__all__) == exported - modules


def test_importing_sim_loads_no_heavy_or_daemon_library() -> None:
    script = (
        "import sys, sim; "
        "print(','.join(m for m in ('rich', 'matplotlib', 'aiohttp', 'docker', 'sqlmodel', "
        "'daemon') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
