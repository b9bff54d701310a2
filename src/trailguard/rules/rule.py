"""One detection rule: metadata, a match (event source and name, outcome, condition), tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from trailguard.model import Record, Severity, Threshold
from trailguard.rules.conditions import Condition, Explanation
from trailguard.rules.context import RecordContext

Outcome = Literal["success", "failure", "any"]
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.\-]+)\}")

REFERENCE_LABELS = {
    "pci_dss": "PCI DSS v4.0/{}",
    "cis_aws": "CIS AWS Foundations Benchmark v{}",
    "securityhub": "Security Hub {}",
    "mitre_attack": "MITRE ATT&CK {}",
}
"""How each kind of reference reads in an alert (`Compliance.RelatedRequirements` style)."""


def _title_parts(title: str) -> tuple[str | tuple[str, ...], ...]:
    """`Root use: {eventName}` -> ("Root use: ", ("eventName",)): text and paths in turn."""
    pieces = _PLACEHOLDER.split(title)  # text, path, text, path, ..., text
    parts: list[str | tuple[str, ...]] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            parts.append(tuple(piece.split(".")))
        elif piece:
            parts.append(piece)
    if not any(isinstance(part, tuple) for part in parts):
        return (title,)
    return tuple(parts)


def _event_source(record: Record) -> str | None:
    """The record's eventSource if it is text (a malformed record may hold a list there)."""
    source = record.get("eventSource")
    return source if isinstance(source, str) else None


@dataclass(frozen=True, slots=True)
class SeverityCase:
    condition: Condition
    severity: Severity


@dataclass(frozen=True, slots=True)
class RuleTest:
    """An inline test: records in order, and whether (and how often, how severely) it fires."""

    name: str
    records: tuple[Record, ...]
    expect_match: bool
    severity: Severity | None = None
    count: int | None = None


@dataclass(slots=True)
class Rule:
    rule_id: str
    title: str
    description: str
    severity: Severity
    source: str
    event_sources: frozenset[str] | None = None
    event_names: frozenset[str] | None = None
    outcome: Outcome = "success"
    condition: Condition | None = None
    severity_when: tuple[SeverityCase, ...] = ()
    references: dict[str, tuple[str, ...]] = field(default_factory=dict)
    runbook: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool = True
    threshold: Threshold | None = None
    tests: tuple[RuleTest, ...] = ()
    ordinal: int = 0
    """Load order; keeps the order of findings stable whatever index found the rule."""
    spec: dict[str, Any] = field(default_factory=dict)
    """The rule as written (for `trailguard rules show`)."""
    _title_parts: tuple[str | tuple[str, ...], ...] | None = field(
        default=None, compare=False, repr=False
    )
    """The title split into text and field paths, once."""
    _reference_labels: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def reference_labels(self) -> tuple[str, ...]:
        """The references as alerts show them (made once: every finding carries them)."""
        labels = self._reference_labels
        if labels is None:
            labels = self._reference_labels = tuple(
                REFERENCE_LABELS[kind].format(value)
                for kind, values in self.references.items()
                for value in values
            )
        return labels

    def applies(self, ctx: RecordContext) -> bool:
        """Event source, event name and outcome: the cheap part, before the condition."""
        if self.event_sources is not None and ctx.source not in self.event_sources:
            return False
        if self.event_names is not None and ctx.event_name not in self.event_names:
            return False
        return self.outcome == "any" or ctx.failed is (self.outcome == "failure")

    def matches(self, ctx: RecordContext) -> bool:
        return self.applies(ctx) and (self.condition is None or self.condition.test(ctx))

    def severity_for(self, ctx: RecordContext) -> Severity:
        for case in self.severity_when:
            if case.condition.test(ctx):
                return case.severity
        return self.severity

    def title_for(self, ctx: RecordContext) -> str:
        """The title with `{field.path}` placeholders filled from the record (or `?`)."""
        parts = self._title_parts
        if parts is None:
            parts = self._title_parts = _title_parts(self.title)
        if len(parts) == 1 and isinstance(parts[0], str):
            return parts[0]
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                values = ctx.values(part)
                out.append(str(values[0]) if values else "?")
        return "".join(out)

    def evidence(self, ctx: RecordContext) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.condition is not None:
            self.condition.evidence(ctx, found)
        return found

    def explain(self, ctx: RecordContext) -> Explanation:
        """Each requirement of the rule and whether the record met it."""
        record = ctx.record
        parts: list[Explanation] = []
        if self.event_sources is not None:
            source = record.get("eventSource")
            held = _event_source(record) in self.event_sources
            parts.append(
                Explanation(
                    held, f"eventSource one of {sorted(self.event_sources)} (found {source!r})"
                )
            )
        if self.event_names is not None:
            held = ctx.event_name in self.event_names
            names = sorted(self.event_names)
            shown = names if len(names) <= 8 else [*names[:8], "..."]
            parts.append(Explanation(held, f"eventName one of {shown} (found {ctx.event_name!r})"))
        if self.outcome != "any":
            error = record.get("errorCode")
            held = bool(error) is (self.outcome == "failure")
            parts.append(Explanation(held, f"outcome {self.outcome} (errorCode {error!r})"))
        if self.condition is not None:
            parts.append(self.condition.explain(ctx))
        return Explanation(all(p.held for p in parts), f"rule {self.rule_id}", tuple(parts))
