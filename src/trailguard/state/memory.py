"""An in-process store: right for the CLI and tests, lost when the process ends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trailguard.state.window import Window, apply_hit

if TYPE_CHECKING:
    from trailguard.state.spec import StateSpec

SWEEP_EVERY = 10_000
"""Forget expired dedup keys after this many new ones, so memory stays bounded."""


class MemoryStore:
    def __init__(self) -> None:
        self._windows: dict[str, Window] = {}
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
        """As `StateStore.window_hit`, counted by `state.window` like every store."""
        window = self._windows.setdefault(key, Window())
        fired = apply_hit(window, at, window_seconds, threshold, event_key).fired
        if fired is not None:
            del self._windows[key]
        return fired


OPTIONS: tuple[str, ...] = ()


def validate(spec: StateSpec) -> None:
    """Nothing to check: memory has no options."""


def build(spec: StateSpec, clients: Mapping[str, Any]) -> MemoryStore:
    return MemoryStore()
