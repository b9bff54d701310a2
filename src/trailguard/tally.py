"""Accounting for input: every unit read is a record, a counted skip, or a counted error.

Decoders never drop anything silently; they tell the tally, and the tally tells a listener
(the CLI prints to stderr, the Lambda handler logs a JSON line) as it happens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from trailguard.model import Place

ProblemKind = Literal["skipped", "invalid"]


@dataclass(frozen=True, slots=True)
class Problem:
    """A unit of input that produced no record, and why."""

    kind: ProblemKind
    place: Place
    reason: str
    detail: str = ""

    def message(self) -> str:
        text = f"{self.place}: {self.reason}"
        return f"{text}: {self.detail}" if self.detail else text


Listener = Callable[[Problem], None]


@dataclass(slots=True)
class InputTally:
    """Counts records read, skips by reason, and invalid input, and keeps the errors."""

    listener: Listener | None = None
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    errors: list[Problem] = field(default_factory=list)

    def skip(self, place: Place, reason: str, detail: str = "") -> None:
        """Input recognised as not CloudTrail records (control messages, digests, ...)."""
        self.skipped[reason] += 1
        if self.listener is not None:
            self.listener(Problem("skipped", place, reason, detail))

    def error(self, place: Place, reason: str, detail: str = "") -> None:
        """Input that should have held records but could not be read."""
        problem = Problem("invalid", place, reason, detail)
        self.invalid[reason] += 1
        self.errors.append(problem)
        if self.listener is not None:
            self.listener(problem)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def invalid_total(self) -> int:
        return sum(self.invalid.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "skipped": self.skipped_total,
            "invalid": self.invalid_total,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "invalid_by_reason": dict(sorted(self.invalid.items())),
        }
