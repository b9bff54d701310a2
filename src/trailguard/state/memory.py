"""An in-process store: right for the CLI and tests, lost when the process ends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trailguard.state.window import Window, apply_hit

if TYPE_CHECKING:
    from trailguard.state.spec import StateSpec

GENERATION = 100_000
"""Dedup keys per generation; the store keeps the newest two, so memory stays bounded in a
long-lived Lambda container and a recent redelivery is still caught."""
HITS_LIMIT = 100_000
"""What threshold windows may hold, counted in hits, a window itself costing WINDOW_COST (its
key and containers): about 13 MiB at most, whether the hits crowd into few windows or spread
one per window (measured: `bench/memory.py`). Past it, windows whose hits are all more than
two of their windows older than the newest hit are forgotten first (they count nothing any
more, as `state.window` forgets such hits), then the least recently hit ones, which are
counted in `windows_dropped`: a flood of distinct groups (source addresses, say) must not
grow a container without bound."""
WINDOW_COST = 4
"""A window with one hit takes about as much memory as five hits in a window."""


class MemoryStore:
    def __init__(self, generation: int = GENERATION, hits_limit: int | None = None) -> None:
        self._windows: dict[str, tuple[Window, int]] = {}
        """Per key, its window and window length, the least recently hit first."""
        self._seen: dict[str, float] = {}
        self._older: dict[str, float] = {}
        self._generation = generation
        self._hits_limit = HITS_LIMIT if hits_limit is None else hits_limit
        self._hits = 0
        """Hits kept across all windows."""
        self._latest = float("-inf")
        """The newest hit time seen."""
        self.windows_dropped = 0
        """Windows forgotten while they could still have fired (the store was full)."""

    def seen(self, key: str, now: float) -> bool:
        expires = self._seen.get(key)
        if expires is None:
            expires = self._older.get(key)
        return expires is not None and expires > now

    def remember(self, expiries: Mapping[str, float]) -> None:
        self._seen.update(expiries)
        if len(self._seen) >= self._generation:  # the oldest generation is forgotten
            self._older = self._seen
            self._seen = {}

    def window_hit(
        self,
        key: str,
        at: float,
        window_seconds: int,
        threshold: int,
        event_key: str | None = None,
    ) -> int | None:
        """As `StateStore.window_hit`, counted by `state.window` like every store."""
        kept = self._windows.pop(key, None)
        window = Window() if kept is None else kept[0]
        before = len(window.hits)
        fired = apply_hit(window, at, window_seconds, threshold, event_key).fired
        self._hits += len(window.hits) - before
        if at > self._latest:
            self._latest = at
        if fired is None:
            self._windows[key] = (window, window_seconds)  # now the most recently hit
            if self._held() > self._hits_limit:
                self._make_room()
        return fired

    def _held(self) -> int:
        """What the windows hold, in hits (`HITS_LIMIT`)."""
        return self._hits + WINDOW_COST * len(self._windows)

    def _make_room(self) -> None:
        """Forget spent windows, then the least recently hit, down to 90% of the limit (so
        this runs once per many hits, not on every one)."""
        target = self._hits_limit * 9 // 10
        latest = self._latest
        spent = [
            key
            for key, (window, seconds) in self._windows.items()
            if not window.hits or window.hits[-1] < latest - 2 * seconds
        ]
        for key in spent:
            self._hits -= len(self._windows.pop(key)[0].hits)
        while self._held() > target and self._windows:
            oldest = next(iter(self._windows))
            self._hits -= len(self._windows.pop(oldest)[0].hits)
            self.windows_dropped += 1


OPTIONS: tuple[str, ...] = ()


def validate(spec: StateSpec) -> None:
    """Nothing to check: memory has no options."""


def build(spec: StateSpec, clients: Mapping[str, Any]) -> MemoryStore:
    return MemoryStore()
