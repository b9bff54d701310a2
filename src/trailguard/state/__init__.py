"""State that outlives one record: threshold windows (and, with delivery, dedup keys).

Stores share one small interface so the CLI (memory), and later DynamoDB and SQLite, are
interchangeable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class StateError(RuntimeError):
    """A store cannot be read or written; the message says what to check. The CLI shows it
    as an error (exit 2); the Lambda function fails the invocation, so AWS retries."""


class StateStore(Protocol):
    """Dedup keys and threshold windows.

    Dedup is two-phase so that nothing is lost: the detector asks `seen` while it works and
    the caller `remember`s an alert's keys only once the alert was delivered. A batch that
    fails is retried by AWS and alerts again; one that succeeded is not alerted twice.
    """

    def seen(self, key: str, now: float) -> bool:
        """Whether `key` was remembered and has not expired at `now` (epoch seconds)."""
        ...

    def remember(self, expiries: Mapping[str, float]) -> None:
        """Remember each key until its expiry (epoch seconds)."""
        ...

    def window_hit(
        self,
        key: str,
        at: float,
        window_seconds: int,
        threshold: int,
        event_key: str | None = None,
    ) -> int | None:
        """Count a hit for `key` at time `at` (epoch seconds).

        Returns the number of hits in a window of `window_seconds` that contains `at` when it
        reaches `threshold` (then the count starts afresh); else None. Records arrive out of
        order, so the window need not end at `at`. A hit whose `event_key` was already counted
        for `key` is ignored, so a redelivered batch does not count its events twice.
        """
        ...
