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


_UNCHANGED = Hit(changed=False, fired=None)
_COUNTED = Hit(changed=True, fired=None)


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
    counted = window.counted
    if event_key is not None:
        if event_key in counted:
            return _UNCHANGED
        counted[event_key] = at
    hits = window.hits
    newest = not hits or at >= hits[-1]  # the usual case: events arrive in time order
    if newest:
        hits.append(at)
    else:
        bisect.insort(hits, at)
    drop = max(bisect.bisect_left(hits, hits[-1] - 2 * window_seconds), len(hits) - MAX_HITS)
    if drop > 0:  # only then can an event key fall behind the oldest hit kept
        del hits[:drop]
        oldest = hits[0]
        counted = window.counted = {e: t for e, t in counted.items() if t >= oldest}
    if len(counted) > MAX_HITS:
        window.counted = dict(sorted(counted.items(), key=lambda item: item[1])[-MAX_HITS:])
    first = bisect.bisect_left(hits, at - window_seconds)
    if newest:  # every window from a hit at or after `at - window_seconds` reaches `at`
        best = bisect.bisect_right(hits, hits[first] + window_seconds) - first
        if best != len(hits) - first:  # rounding cut the first window short
            best = _fullest(hits, first + 1, len(hits), window_seconds, best)
    else:
        best = _fullest(hits, first, bisect.bisect_right(hits, at), window_seconds, 0)
    if best >= threshold:
        window.hits = []  # start afresh: one burst alerts once
        window.counted = {}
        return Hit(changed=True, fired=best)
    return _COUNTED


def _fullest(hits: list[float], first: int, last: int, window_seconds: int, best: int) -> int:
    """The most hits in a window of `window_seconds` starting at one of hits[first:last]."""
    for start in range(first, last):
        best = max(best, bisect.bisect_right(hits, hits[start] + window_seconds) - start)
    return best
