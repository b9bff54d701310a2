"""`trailguard scan`: local input through the engine, with counts for the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from trailguard.alerts import Alert, build_alert
from trailguard.model import Severity
from trailguard.pipeline import Detector
from trailguard.sources import Decoder, read_local
from trailguard.tally import InputTally

if TYPE_CHECKING:
    from trailguard.sources.s3_listing import DayRange


class AlertWriter(Protocol):
    """Where the CLI puts alerts as they are found (a table, JSON lines, one JSON document)."""

    def write(self, alert: Alert) -> None: ...

    def finish(self, result: ScanResult) -> None: ...


@dataclass(slots=True)
class ScanResult:
    """What a scan found and read; drives the summary and the exit status."""

    tally: InputTally
    min_severity: Severity
    shown: int = 0
    by_severity: Counter[Severity] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    highest: Severity | None = None
    detection: dict[str, object] = field(default_factory=dict)
    """Suppressed by allowlists and held below thresholds (Detector.stats)."""

    @property
    def findings(self) -> int:
        return sum(self.by_severity.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "findings": self.findings,
            "alerts_shown": self.shown,
            "min_severity": self.min_severity.label,
            "by_severity": {s.label: self.by_severity[s] for s in reversed(Severity)},
            "by_rule": dict(sorted(self.by_rule.items())),
            **self.detection,
            "input": self.tally.as_dict(),
        }


def scan_paths(
    paths: Iterable[str],
    detector: Detector,
    writer: AlertWriter,
    tally: InputTally,
    min_severity: Severity = Severity.INFO,
    days: DayRange | None = None,
) -> ScanResult:
    """Decode every path, evaluate every record, hand alerts at or above the floor to `writer`."""
    result = ScanResult(tally, min_severity)
    decoder = Decoder(tally)
    for finding in detector.run(read_local(paths, decoder, days=days), tally):
        severity = finding.severity
        result.by_severity[severity] += 1
        result.by_rule[finding.rule_id] += 1
        if result.highest is None or severity > result.highest:
            result.highest = severity
        if severity >= min_severity:
            result.shown += 1
            writer.write(build_alert(finding))
    result.detection = detector.stats()
    writer.finish(result)
    detector.commit()  # reported: with a persistent store, the next run drops them
    return result
