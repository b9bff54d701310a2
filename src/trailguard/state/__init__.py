"""State that outlives one record: threshold windows (and, with delivery, dedup keys).

Stores share one small interface so the CLI (memory), and later DynamoDB and SQLite, are
interchangeable.
"""

from __future__ import annotations

from typing import Protocol


class StateStore(Protocol):
    def window_hit(self, key: str, at: float, window_seconds: int, threshold: int) -> int | None:
        """Count a hit for `key` at time `at` (epoch seconds).

        Returns the number of hits in a window of `window_seconds` that contains `at` when it
        reaches `threshold` (then the count starts afresh, so one burst alerts once); else
        None. Records arrive out of order, so the window need not end at `at`.
        """
        ...

    def first_seen(self, key: str, now: float, ttl_seconds: int) -> bool:
        """True the first time `key` is seen within `ttl_seconds` (then remembered); else False.

        This is how a redelivered batch (CloudWatch Logs and S3 retry whole batches) or the
        same event read from two places alerts once.
        """
        ...
