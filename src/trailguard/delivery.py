"""Delivering alerts reliably: retries with backoff and jitter, then a loud failure.

A sink raises `SinkError` naming the alerts it could not deliver and whether trying again
may help (throttling, 5xx, timeouts, refused connections), with the server's Retry-After if
it gave one. `deliver` retries just those alerts; what still fails is returned, and the
caller fails the invocation (`DeliveryError`) so AWS retries the batch and, in the end, the
dead-letter queue or on-failure destination keeps it. Nothing is caught and called success.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from trailguard.alerts import Alert

MAX_RETRY_AFTER = 30.0
"""Honour a server's Retry-After up to this many seconds; beyond it, fail and let AWS retry."""
RESERVE_SECONDS = 15.0
"""Time a wait must leave in a Lambda invocation: one more attempt (an HTTP sink's timeout
is 10 s by default) and the loud failure. A retry that would eat into it is not made, so the
invocation fails with a DeliveryError naming the alerts instead of being killed by its
timeout, which names nothing. Nor is a first attempt started with less than this left."""
RAISE_TIMEOUT = "(raise the function's timeout if this recurs)"


class SinkError(Exception):
    """Some alerts were not delivered; `failed` says which, `transient` whether to retry."""

    def __init__(
        self,
        message: str,
        failed: Sequence[Alert],
        *,
        transient: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.failed = list(failed)
        self.transient = transient
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits up to min(cap, base * 2**n)."""

    attempts: int = 4
    base_seconds: float = 0.5
    cap_seconds: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[float], float] = field(
        default=lambda limit: random.uniform(0, limit), compare=False
    )
    time_left: Callable[[], float] | None = field(default=None, compare=False)
    """Seconds left to deliver in (a Lambda invocation's remaining time); None: no limit."""

    def within(self, time_left: Callable[[], float] | None) -> RetryPolicy:
        """This policy inside an invocation with `time_left()` seconds to go."""
        return self if time_left is None else replace(self, time_left=time_left)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        return self.jitter(min(self.cap_seconds, self.base_seconds * 2**attempt))


@dataclass(slots=True)
class DeliveryResult:
    sink: str
    delivered: int = 0
    failed: list[Alert] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    attempts: int = 0
    stopped: str = ""
    """Why retries stopped before the policy's attempts ran out, if time did."""


class DeliveryError(RuntimeError):
    """Alerts that could not be delivered after their retries; raised to fail the invocation."""

    def __init__(self, results: Sequence[DeliveryResult]) -> None:
        self.results = [r for r in results if r.failed]
        parts = []
        for result in self.results:
            ids = ", ".join(str(a.get("alert_id")) for a in result.failed[:5])
            more = f" and {len(result.failed) - 5} more" if len(result.failed) > 5 else ""
            why = "; ".join(filter(None, [*result.errors[-1:], result.stopped]))
            parts.append(
                f"sink {result.sink!r}: {len(result.failed)} alert(s) not delivered after "
                f"{result.attempts} attempt(s) ({ids}{more}): {why or 'unknown error'}"
            )
        super().__init__("; ".join(parts))


def deliver(
    name: str,
    send: Callable[[Sequence[Alert]], None],
    alerts: Sequence[Alert],
    policy: RetryPolicy,
) -> DeliveryResult:
    """Send `alerts`, retrying the ones that failed for as long as the policy allows."""
    result = DeliveryResult(name)
    pending = list(alerts)
    left = None if policy.time_left is None or not pending else policy.time_left()
    if left is not None and left < RESERVE_SECONDS:
        # An attempt could outlast the invocation (a hanging receiver): fail now, loudly,
        # so the rest of an SQS batch is reported rather than lost to the timeout.
        result.stopped = (
            f"not attempted: {left:.1f} s were left in the invocation, too few for an "
            f"attempt; AWS retries the batch {RAISE_TIMEOUT}"
        )
        result.failed = pending
        return result
    for attempt in range(policy.attempts):
        if not pending:
            break
        result.attempts = attempt + 1
        try:
            send(pending)
        except SinkError as exc:
            result.errors.append(str(exc))
            result.delivered += len(pending) - len(exc.failed)
            pending = exc.failed
            if not exc.transient or attempt + 1 == policy.attempts:
                break
            if not _wait(policy, policy.delay(attempt, exc.retry_after), result):
                break
            continue
        except Exception as exc:  # an unexpected error: all of this attempt is undelivered
            result.errors.append(f"{type(exc).__name__}: {exc}")
            if attempt + 1 == policy.attempts:
                break
            if not _wait(policy, policy.delay(attempt, None), result):
                break
            continue
        result.delivered += len(pending)
        pending = []
    result.failed = pending
    return result


def _wait(policy: RetryPolicy, delay: float, result: DeliveryResult) -> bool:
    """Sleep before the next attempt; False (and why, in `result`) if time is too short."""
    if policy.time_left is not None:
        left = policy.time_left()
        if left - delay < RESERVE_SECONDS:
            result.stopped = (
                f"not retried: {left:.1f} s were left in the invocation, too few for a "
                f"{delay:.1f} s wait and another attempt; AWS retries the batch {RAISE_TIMEOUT}"
            )
            return False
    policy.sleep(delay)
    return True
