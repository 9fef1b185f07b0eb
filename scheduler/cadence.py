"""When a scheduling pass is due: the one rule both drivers follow.

A pass runs ``debounce_s`` after the first submit or job end that arrived since the last pass
(so a burst of submissions costs one pass, not one each), and at least every ``interval_s``
(so begin times, decayed priorities and freed limits are noticed without an event). The daemon
sleeps until the returned instant on the wall clock; the simulator puts a pass event there on
its virtual clock. Same rule, same passes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Cadence:
    debounce_s: int = 1
    interval_s: int | None = 30  # None: no periodic pass (trace replays that must match
    # an event-driven reference simulator exactly)


def next_pass_at(last_pass: int, first_event_since: int | None, cadence: Cadence) -> int | None:
    """The instant of the next pass.

    ``last_pass`` is when the previous pass ran; ``first_event_since`` is the time of the first
    submit or end after it, or None when nothing happened. A debounce of 0 means "at once".
    Returns None when no pass is due: nothing happened and there is no periodic pass.
    """
    after_event = (
        None
        if first_event_since is None
        else max(first_event_since + cadence.debounce_s, last_pass)
    )
    if cadence.interval_s is None:
        return after_event
    periodic = last_pass + cadence.interval_s
    return periodic if after_event is None else min(periodic, after_event)
