"""An in-process store: right for the CLI and tests, lost when the process ends."""

from __future__ import annotations

import bisect

SWEEP_EVERY = 10_000
"""Forget expired dedup keys after this many new ones, so memory stays bounded."""


class MemoryStore:
    def __init__(self) -> None:
        self._hits: dict[str, list[float]] = {}
        self._seen: dict[str, float] = {}
        self._since_sweep = 0

    def first_seen(self, key: str, now: float, ttl_seconds: int) -> bool:
        expires = self._seen.get(key)
        if expires is not None and expires > now:
            return False
        self._seen[key] = now + ttl_seconds
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
            self._since_sweep = 0
        return True

    def window_hit(self, key: str, at: float, window_seconds: int, threshold: int) -> int | None:
        """Count a hit; fire when some window of `window_seconds` holding `at` has `threshold`.

        Records arrive out of order (several log files, backfills), so a late hit may complete
        a window with hits already seen after it. Hits more than two windows older than the
        latest are forgotten: a hit up to one window late is still counted exactly.
        """
        hits = self._hits.setdefault(key, [])
        bisect.insort(hits, at)
        del hits[: bisect.bisect_left(hits, hits[-1] - 2 * window_seconds)]
        # No window reached the threshold before this hit (it would have fired and reset), so
        # only windows holding `at` can; each fullest one starts at a hit in [at - window, at].
        best = 0
        first = bisect.bisect_left(hits, at - window_seconds)
        last = bisect.bisect_right(hits, at)
        for start in range(first, last):
            best = max(best, bisect.bisect_right(hits, hits[start] + window_seconds) - start)
        if best >= threshold:
            del self._hits[key]  # start afresh: one burst alerts once
            return best
        return None
