"""CloudWatch metrics from a Lambda run, as Embedded Metric Format (EMF) log lines.

CloudWatch Logs turns each line into metrics as it ingests the function's log: no
PutMetricData call, no permission, no latency in the invocation. The handler logs the lines
`emf_lines` returns, built from the run's summary (`Runtime.run`) and the extras a
`RunMetrics` collects while the run goes (findings by severity, event delay), with the
alerts each sink failed to take (`failed_by_sink`). docs/observability.md lists the metrics.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from trailguard.delivery import DeliveryResult
from trailguard.model import SEVERITY_LABELS, Finding, Severity, SourcedRecord
from trailguard.times import epoch_seconds

NAMESPACE = "trailguard"
LOG_TYPE = "trailguard.metrics"
COUNTS = (
    ("alerts", "Alerts"),
    ("suppressed", "Suppressed"),
    ("duplicates", "Duplicates"),
    ("below_threshold", "BelowThreshold"),
    ("windows_dropped", "ThresholdWindowsDropped"),
    ("records", "Records"),
    ("skipped", "Skipped"),
    ("invalid", "Invalid"),
)
"""Summary key and metric name of each count with the `Function` dimension alone."""


class RunMetrics:
    """What a run's summary lacks for metrics; `as_summary()` adds it to the summary."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._by_severity = [0] * len(Severity)
        self._times: dict[str, int] = {}
        """eventTime texts seen, and how often (a batch repeats each second many times)."""

    def records(self, items: Iterable[SourcedRecord]) -> Iterator[SourcedRecord]:
        """Pass `items` through, noting each one's eventTime; the delays since then are
        measured at the summary, when the batch is done (one clock reading for all)."""
        times = self._times
        for item in items:
            text = item.record.get("eventTime")
            if isinstance(text, str):  # anything else has no time (and may not be hashable)
                times[text] = times.get(text, 0) + 1
            yield item

    def delays(self) -> tuple[float, float, int]:
        """The longest and the total delay since the records' eventTimes, and how many had
        one (a skewed clock is not a negative delay)."""
        now = self.clock()
        longest = total = 0.0
        timed = 0
        for text, count in self._times.items():
            at = epoch_seconds(text)
            if at is not None:
                delay = max(0.0, now - at)
                longest = max(longest, delay)
                total += delay * count
                timed += count
        return longest, total, timed

    def finding(self, finding: Finding) -> None:
        self._by_severity[finding.severity] += 1

    @property
    def by_severity(self) -> dict[str, int]:
        """Findings per severity label, those with any."""
        return {
            Severity(level).label: count for level, count in enumerate(self._by_severity) if count
        }

    def as_summary(self) -> dict[str, Any]:
        extras: dict[str, Any] = {"by_severity": self.by_severity}
        longest, total, timed = self.delays()
        if timed:
            extras["event_delay"] = {
                "max": round(longest, 3),
                "average": round(total / timed, 3),
                "records": timed,
            }
        return extras


def failed_by_sink(results: Sequence[DeliveryResult]) -> dict[str, int]:
    """The alerts each sink could not take (`DeliveryError.results`), for `summary["failed"]`."""
    failed: Counter[str] = Counter()
    for result in results:
        failed[result.sink] += len(result.failed)
    return dict(failed)


def emf_lines(
    summary: Mapping[str, Any], *, function_name: str, now: float
) -> list[dict[str, Any]]:
    """EMF lines for one run: per function, per sink, per severity (Findings).

    Counts the summary lacks are left out rather than reported as zero, so the lines of a
    failed run (`{"failed": ...}` alone) say only what is known.
    """
    timestamp = int(now * 1000)
    base = {"Function": function_name}
    counts = {name: summary[key] for key, name in COUNTS if key in summary}
    delivered = _by_name(summary.get("delivered"))
    failed = _by_name(summary.get("failed"))
    if "failed" in summary:
        counts["AlertsFailed"] = sum(failed.values())
    seconds: dict[str, float] = {}
    delay = summary.get("event_delay")
    if isinstance(delay, Mapping):
        seconds = {"EventDelayMax": delay["max"], "EventDelayAverage": delay["average"]}
    lines = [_line(timestamp, base, counts, seconds)] if counts or seconds else []
    for sink in sorted(delivered.keys() | failed.keys()):
        sink_counts = {
            "AlertsDelivered": delivered.get(sink, 0),
            "AlertsFailed": failed.get(sink, 0),
        }
        lines.append(_line(timestamp, {**base, "Sink": sink}, sink_counts))
    by_severity = _by_name(summary.get("by_severity"))
    for label in SEVERITY_LABELS:
        if by_severity.get(label):
            lines.append(
                _line(timestamp, {**base, "Severity": label}, {"Findings": by_severity[label]})
            )
    return lines


def _by_name(value: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _line(
    timestamp: int,
    dimensions: dict[str, str],
    counts: Mapping[str, Any],
    seconds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """One EMF object: the directive, then dimension values and metric values at top level."""
    seconds = seconds or {}
    metrics = [{"Name": name, "Unit": "Count"} for name in counts]
    metrics += [{"Name": name, "Unit": "Seconds"} for name in seconds]
    return {
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [list(dimensions)], "Metrics": metrics}
            ],
        },
        "log_type": LOG_TYPE,
        **dimensions,
        **{name: int(value) for name, value in counts.items()},
        **{name: float(value) for name, value in seconds.items()},
    }
