"""An in-process store: right for the CLI and tests, lost when the process ends."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trailguard.state.spec import StateSpec

SWEEP_EVERY = 10_000
"""Forget expired dedup keys after this many new ones, so memory stays bounded."""


class MemoryStore:
    def __init__(self) -> None:
        self._hits: dict[str, list[float]] = {}
        self._counted: dict[str, dict[str, float]] = {}
        self._seen: dict[str, float] = {}
        self._since_sweep = 0

    def seen(self, key: str, now: float) -> bool:
        expires = self._seen.get(key)
        return expires is not None and expires > now

    def remember(self, expiries: Mapping[str, float]) -> None:
        self._seen.update(expiries)
        self._since_sweep += len(expiries)
        if self._since_sweep >= SWEEP_EVERY:
            horizon = min(expiries.values(), default=0.0)
            self._seen = {k: t for k, t in self._seen.items() if t > horizon - 86400}
            self._since_sweep = 0

    def window_hit(
        self,
        key: str,
        at: float,
        window_seconds: int,
        threshold: int,
        event_key: str | None = None,
    ) -> int | None:
        """Count a hit; fire when some window of `window_seconds` holding `at` has `threshold`.

        Records arrive out of order (several log files, backfills), so a late hit may complete
        a window with hits already seen after it. Hits more than two windows older than the
        latest are forgotten: a hit up to one window late is still counted exactly.
        """
        if event_key is not None:
            counted = self._counted.setdefault(key, {})
            if event_key in counted:
                return None
            counted[event_key] = at
        hits = self._hits.setdefault(key, [])
        bisect.insort(hits, at)
        horizon = hits[-1] - 2 * window_seconds
        del hits[: bisect.bisect_left(hits, horizon)]
        counted_here = self._counted.get(key)
        if counted_here is not None and len(counted_here) > 2 * len(hits) + 64:
            self._counted[key] = {e: t for e, t in counted_here.items() if t >= horizon}
        # No window reached the threshold before this hit (it would have fired and reset), so
        # only windows holding `at` can; each fullest one starts at a hit in [at - window, at].
        best = 0
        first = bisect.bisect_left(hits, at - window_seconds)
        last = bisect.bisect_right(hits, at)
        for start in range(first, last):
            best = max(best, bisect.bisect_right(hits, hits[start] + window_seconds) - start)
        if best >= threshold:
            del self._hits[key]  # start afresh: one burst alerts once
            self._counted.pop(key, None)
            return best
        return None


OPTIONS: tuple[str, ...] = ()


def validate(spec: StateSpec) -> None:
    """Nothing to check: memory has no options."""


def build(spec: StateSpec, clients: Mapping[str, Any]) -> MemoryStore:
    return MemoryStore()
