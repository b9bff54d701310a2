"""An in-process store: right for the CLI and tests, lost when the process ends."""

from __future__ import annotations

import bisect


class MemoryStore:
    def __init__(self) -> None:
        self._hits: dict[str, list[float]] = {}

    def window_hit(self, key: str, at: float, window_seconds: int, threshold: int) -> int | None:
        hits = self._hits.setdefault(key, [])
        bisect.insort(hits, at)
        start = bisect.bisect_left(hits, at - window_seconds)
        del hits[:start]  # older than any window still open
        in_window = bisect.bisect_right(hits, at) - bisect.bisect_left(hits, at - window_seconds)
        if in_window >= threshold:
            del self._hits[key]
            return in_window
        return None
