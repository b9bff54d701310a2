"""Sending alerts in batches to an AWS API that accepts some entries of a call and not others.

SNS `PublishBatch` and Security Hub `BatchImportFindings` both answer per entry, and a call
that fails outright leaves that batch and the ones after it unsent. Both sinks need the same
bookkeeping: which alerts failed, why (each reason once), and whether a retry may help.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from trailguard.alerts import Alert

Batch = TypeVar("Batch")
Response = TypeVar("Response")


@dataclass(slots=True)
class BatchOutcome:
    """What did not go through: the alerts, the reasons, and whether to retry them."""

    failed: list[Alert] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    transient: bool = False


def send_batches(
    batches: Sequence[Batch],
    call: Callable[[Batch], Response],
    refused: Callable[[Batch, Response], tuple[list[Alert], list[str], bool]],
    alerts_of: Callable[[Batch], Sequence[Alert]],
    explain: Callable[[BaseException], str],
    transient: Callable[[BaseException], bool],
) -> BatchOutcome:
    """Send each batch with `call`; `refused` reads a response's per-entry failures, and
    `explain` and `transient` judge a call that failed outright (it stops the sending)."""
    outcome = BatchOutcome()
    for number, batch in enumerate(batches):
        try:
            response = call(batch)
        except Exception as exc:  # the whole call failed: this batch and those after it
            outcome.failed.extend(a for rest in batches[number:] for a in alerts_of(rest))
            outcome.problems.append(explain(exc))
            outcome.transient = outcome.transient or transient(exc)
            break
        lost, reasons, retry = refused(batch, response)
        outcome.failed.extend(lost)
        outcome.problems.extend(r for r in reasons if r not in outcome.problems)
        outcome.transient = outcome.transient or retry
    return outcome
