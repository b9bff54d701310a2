"""Sinks deliver alerts. Each channel is one module; all share the `Sink` shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trailguard.alerts import Alert


class Sink(Protocol):
    """Delivers alerts; raises if it could not, so nothing is lost quietly."""

    name: str

    def send(self, alerts: Sequence[Alert]) -> None: ...
