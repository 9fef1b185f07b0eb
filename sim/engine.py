"""A SimPy-small discrete-event engine: a heap of ``(time, order, seq, event)`` and a clock.

``order`` ranks kinds of event at one instant (`Order`): job ends first, then the pass their
ends call for, then submits, then the pass the submits call for; ``seq`` (a counter) keeps
first-in first-out among equals. Same events in, same order out: the run is deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from enum import IntEnum
from itertools import count


class Order(IntEnum):
    END = 0
    PASS_AFTER_ENDS = 1
    SUBMIT = 2
    PASS = 3


Handler = Callable[[int, object], None]


class Engine:
    """The virtual clock and the event heap. Handlers are called as ``handler(now, payload)``."""

    __slots__ = ("_heap", "_seq", "now")

    def __init__(self, start: int = 0) -> None:
        self.now = start
        self._heap: list[tuple[int, int, int, Handler, object]] = []
        self._seq = count()

    def at(self, time: int, order: Order, handler: Handler, payload: object = None) -> None:
        """Schedule ``handler(time, payload)``; ``time`` may not lie in the past."""
        if time < self.now:
            raise ValueError(f"event at {time} is before the clock ({self.now})")
        heapq.heappush(self._heap, (time, order, next(self._seq), handler, payload))

    def peek(self) -> int | None:
        """The time of the next event, or None when there is none."""
        return self._heap[0][0] if self._heap else None

    def step(self) -> None:
        time, _, _, handler, payload = heapq.heappop(self._heap)
        self.now = time
        handler(time, payload)

    def run(self, until: int | None = None) -> None:
        """Process events until none is left, or until the next one lies after ``until``."""
        heap = self._heap
        pop = heapq.heappop
        while heap and (until is None or heap[0][0] <= until):
            time, _, _, handler, payload = pop(heap)
            self.now = time
            handler(time, payload)
