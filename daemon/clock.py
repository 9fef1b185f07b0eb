"""The daemon's one reading of the wall clock.

The policy core takes ``now`` as an argument (integer epoch seconds); everything in the daemon that
needs the time asks a `Clock`, so tests can drive time by hand and the simulator's faithfulness
argument holds: the core never learns where ``now`` came from.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Integer epoch seconds."""

    def monotonic(self) -> float:
        """Seconds for measuring durations (pass time), never for timestamps."""


class SystemClock:
    def now(self) -> int:
        return int(time.time())

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told to (tests and replays)."""

    def __init__(self, start: int = 1_700_000_000) -> None:
        self.current = start
        self.ticks = 0.0

    def now(self) -> int:
        return self.current

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, seconds: int) -> None:
        self.current += seconds
        self.ticks += seconds
