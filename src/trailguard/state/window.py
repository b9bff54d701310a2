"""One threshold window as plain data, and the one implementation of counting hits in it.

The memory store keeps windows in a dict; the persistent stores load a key's window, apply
one hit here and write the result back (SQLite in a transaction, DynamoDB with a
conditional write). The counting rules live in one place, so every store fires on the same
hits.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

MAX_HITS = 1000
"""Hits kept per key (the newest). A window never holds `threshold` hits without firing, so
this bounds a stored item (DynamoDB's limit is 400 KB) without changing any count below it."""


@dataclass(slots=True)
class Window:
    hits: list[float] = field(default_factory=list)
    """Hit times, sorted, no older than two windows before the latest."""
    counted: dict[str, float] = field(default_factory=dict)
    """The event keys already counted, with their times: a redelivered event counts once."""


@dataclass(frozen=True, slots=True)
class Hit:
    changed: bool
    """Whether the window must be written back (False: an event already counted)."""
    fired: int | None
    """The count that reached the threshold (the window is then empty); else None."""


def apply_hit(
    window: Window,
    at: float,
    window_seconds: int,
    threshold: int,
    event_key: str | None = None,
) -> Hit:
    """Count a hit at `at` in `window` (in place), as `StateStore.window_hit` describes.

    Event keys older than the hits kept are forgotten at once: such an event, counted
    again, falls outside every window still kept, so no count differs.
    """
    if event_key is not None:
        if event_key in window.counted:
            return Hit(changed=False, fired=None)
        window.counted[event_key] = at
    hits = window.hits
    bisect.insort(hits, at)
    horizon = hits[-1] - 2 * window_seconds
    del hits[: max(bisect.bisect_left(hits, horizon), len(hits) - MAX_HITS)]
    window.counted = {e: t for e, t in window.counted.items() if t >= hits[0]}
    if len(window.counted) > MAX_HITS:
        newest = sorted(window.counted.items(), key=lambda item: item[1])[-MAX_HITS:]
        window.counted = dict(newest)
    best = 0
    first = bisect.bisect_left(hits, at - window_seconds)
    last = bisect.bisect_right(hits, at)
    for start in range(first, last):
        best = max(best, bisect.bisect_right(hits, hits[start] + window_seconds) - start)
    if best >= threshold:
        window.hits = []  # start afresh: one burst alerts once
        window.counted = {}
        return Hit(changed=True, fired=best)
    return Hit(changed=True, fired=None)
