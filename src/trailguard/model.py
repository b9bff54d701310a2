"""The small value types every stage shares: severities, places, findings.

Places, sourced records and findings are made for every record on the hot path, so they
are msgspec structs (frozen, several times cheaper to make than frozen dataclasses).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

import msgspec

Record = Mapping[str, Any]
"""A bare CloudTrail record, as CloudTrail wrote it: read-only; sources yield
`trailguard.record.CloudTrailRecord`, which decodes nested objects on first read."""


class Severity(IntEnum):
    """Ordered severities; comparisons (`>=`) drive --min-severity and --fail-on."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity name, with an error that lists what is allowed."""
        try:
            return cls[text.strip().upper()]
        except (KeyError, AttributeError):
            allowed = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; use one of: {allowed}") from None


SEVERITY_LABELS: tuple[str, ...] = tuple(s.label for s in Severity)


class Place(msgspec.Struct, frozen=True, gc=False):
    """Where a record or a problem came from: a file or object, and the position inside it.

    `location` is a path, `s3://bucket/key`, `<stdin>` or a Lambda trigger name; `position`
    is a readable path inside it such as `line 7` or `awslogs.data logEvents[3]`.
    """

    location: str
    position: str = ""
    envelope: str = ""

    def child(self, step: str, envelope: str | None = None) -> Place:
        position = f"{self.position} {step}" if self.position else step
        return Place(self.location, position, self.envelope if envelope is None else envelope)

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "position": self.position, "envelope": self.envelope}

    def __str__(self) -> str:
        return f"{self.location}: {self.position}" if self.position else self.location


class SourcedRecord(msgspec.Struct, frozen=True):
    """A CloudTrail record with the place it was read from."""

    record: Record
    place: Place


class Threshold(msgspec.Struct, frozen=True):
    """Fire only when `count` matches share a group key within `window_seconds`."""

    count: int
    window_seconds: int
    group_by: tuple[str, ...] = ()


class Finding(msgspec.Struct, frozen=True):
    """One rule's verdict on one record; alerts are built from findings."""

    rule_id: str
    severity: Severity
    title: str
    record: Record
    place: Place
    description: str = ""
    references: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    runbook: str = ""
    context: dict[str, Any] | None = None
    """Why it fired: the values that matched, and for thresholds the count and window."""
    threshold: Threshold | None = None
