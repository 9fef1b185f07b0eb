"""Tests of `sim` (the simulator's workloads and metrics), and where they find their data.

The shared traces live beside the checkout (``../shared/traces``); tests that need one call
`shared_trace`, which skips only when that whole folder is absent (a missing file inside it is
an error). The bundled demo slice (``sim/data``) is always there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRACES = REPO.parent / "shared" / "traces"
DEMO_SWF = REPO / "sim" / "data" / "kth-sp2-first2000.swf.gz"


def shared_trace(name: str) -> Path:
    """The path of a shared trace file; skips the test when the shared folder is absent."""
    if not TRACES.is_dir():
        pytest.skip(f"shared traces folder {TRACES} is absent")
    return TRACES / name
