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


class MemoryStore:
    def __init__(self, generation: int = GENERATION) -> None:
        self._windows: dict[str, Window] = {}
        self._seen: dict[str, float] = {}
        self._older: dict[str, float] = {}
        self._generation = generation

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
