"""An in-process store: right for the CLI and tests, lost when the process ends."""

from __future__ import annotations

import bisect


class MemoryStore:
    def __init__(self) -> None:
        self._hits: dict[str, list[float]] = {}

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
