"""CloudWatch Embedded Metric Format lines from a Lambda run's summary."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from trailguard.delivery import DeliveryResult
from trailguard.metrics import RunMetrics, emf_lines, failed_by_sink
from trailguard.model import Finding, Place, Severity, SourcedRecord

NOW = 1_767_225_600.5  # 2026-01-01T00:00:00.5Z
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip
"""The units the EMF specification allows."""


def assert_emf(line: dict[str, Any]) -> None:
    """The structure the EMF specification requires of one log line."""
    json.dumps(line, allow_nan=False)  # one JSON object
    meta = line["_aws"]
    assert isinstance(meta["Timestamp"], int)
    assert meta["Timestamp"] > 10**12  # milliseconds, not seconds
    directives = meta["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert directives
    for directive in directives:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert 1 <= len(directive["Namespace"]) <= 1024
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(line[name], str)
                assert 1 <= len(line[name]) <= 1024
        metrics = directive["Metrics"]
        assert 1 <= len(metrics) <= 100
        names = [metric["Name"] for metric in metrics]
        assert len(set(names)) == len(names)
        for metric in metrics:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            assert metric["Unit"] in UNITS
            value = line[metric["Name"]]
            assert isinstance(value, int | float)
            assert not isinstance(value, bool)


SUMMARY = {
    "log_type": "trailguard.summary",
    "trigger": "cloudwatch_logs",
    "alerts": 4,
    "delivered": {"archive": 4, "oncall": 3},
    "suppressed": 2,
    "duplicates": 1,
    "below_threshold": 5,
    "records": 12,
    "skipped": 3,
    "invalid": 0,
    "skipped_by_reason": {"control message": 3},
    "invalid_by_reason": {},
    "failed": {"oncall": 1},
    "by_severity": {"critical": 1, "high": 2, "low": 1},
    "event_delay": {"max": 95.25, "average": 40.5, "records": 12},
}


def directive(*dimensions: str, seconds: tuple[str, ...] = (), counts: tuple[str, ...]) -> Any:
    metrics = [{"Name": n, "Unit": "Count"} for n in counts]
    metrics += [{"Name": n, "Unit": "Seconds"} for n in seconds]
    return {
        "Timestamp": 1_767_225_600_500,
        "CloudWatchMetrics": [
            {"Namespace": "trailguard", "Dimensions": [list(dimensions)], "Metrics": metrics}
        ],
    }


def test_a_run_summary_as_emf_lines() -> None:
    lines = emf_lines(SUMMARY, function_name="trailguard-prod", now=NOW)
    for line in lines:
        assert_emf(line)
    counts = (
        "Alerts",
        "Suppressed",
        "Duplicates",
        "BelowThreshold",
        "Records",
        "Skipped",
        "Invalid",
        "AlertsFailed",
    )
    per_sink = ("AlertsDelivered", "AlertsFailed")
    base = {"log_type": "trailguard.metrics", "Function": "trailguard-prod"}
    assert lines == [
        {
            "_aws": directive(
                "Function", counts=counts, seconds=("EventDelayMax", "EventDelayAverage")
            ),
            **base,
            "Alerts": 4,
            "Suppressed": 2,
            "Duplicates": 1,
            "BelowThreshold": 5,
            "Records": 12,
            "Skipped": 3,
            "Invalid": 0,
            "AlertsFailed": 1,
            "EventDelayMax": 95.25,
            "EventDelayAverage": 40.5,
        },
        {
            "_aws": directive("Function", "Sink", counts=per_sink),
            **base,
            "Sink": "archive",
            "AlertsDelivered": 4,
            "AlertsFailed": 0,
        },
        {
            "_aws": directive("Function", "Sink", counts=per_sink),
            **base,
            "Sink": "oncall",
            "AlertsDelivered": 3,
            "AlertsFailed": 1,
        },
        {
            "_aws": directive("Function", "Severity", counts=("Findings",)),
            **base,
            "Severity": "low",
            "Findings": 1,
        },
        {
            "_aws": directive("Function", "Severity", counts=("Findings",)),
            **base,
            "Severity": "high",
            "Findings": 2,
        },
        {
            "_aws": directive("Function", "Severity", counts=("Findings",)),
            **base,
            "Severity": "critical",
            "Findings": 1,
        },
    ]


def test_a_quiet_run_reports_zeros_and_no_delay() -> None:
    summary = {"alerts": 0, "delivered": {}, "records": 0, "by_severity": {}}
    (line,) = emf_lines(summary, function_name="f", now=NOW)
    assert_emf(line)
    assert line["_aws"] == directive("Function", counts=("Alerts", "Records"))
    assert (line["Alerts"], line["Records"]) == (0, 0)


def test_a_failed_run_reports_what_failed() -> None:
    """The handler's error path knows only the failures (DeliveryError.results)."""
    results = [
        DeliveryResult("archive", delivered=3),
        DeliveryResult("oncall", delivered=1, failed=[{"alert_id": "a"}, {"alert_id": "b"}]),
    ]
    summary = {"failed": failed_by_sink(results)}
    assert summary == {"failed": {"archive": 0, "oncall": 2}}
    lines = emf_lines(summary, function_name="f", now=NOW)
    for line in lines:
        assert_emf(line)
    assert [(line.get("Sink"), line["AlertsFailed"]) for line in lines] == [
        (None, 2),
        ("archive", 0),
        ("oncall", 2),
    ]


def record_at(text: Any) -> SourcedRecord:
    return SourcedRecord({"eventName": "StopLogging", "eventTime": text}, Place("test"))


def test_run_metrics_measure_event_delay_and_count_severities() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    collector = RunMetrics(clock=lambda: now)
    items = [
        record_at("2025-12-31T23:59:00Z"),  # 60 s
        record_at("2025-12-31T23:58:20Z"),  # 100 s
        record_at(None),  # no time: not counted
        record_at("2026-01-01T00:00:05Z"),  # ahead of the clock: 0 s
    ]
    passed = list(collector.records(items))
    assert passed == items
    for severity in (Severity.HIGH, Severity.LOW, Severity.HIGH):
        record = items[0]
        collector.finding(Finding("t.r", severity, "t", record.record, record.place))
    assert collector.as_summary() == {
        "by_severity": {"high": 2, "low": 1},
        "event_delay": {"max": 100.0, "average": 53.333, "records": 3},
    }


def test_run_metrics_without_timed_records() -> None:
    collector = RunMetrics(clock=lambda: NOW)
    assert list(collector.records([record_at("soon")])) == [record_at("soon")]
    assert collector.as_summary() == {"by_severity": {}}
    assert emf_lines(collector.as_summary(), function_name="f", now=NOW) == []


def test_event_times_of_any_json_type_are_passed_over() -> None:
    collector = RunMetrics(clock=lambda: NOW)
    items = [record_at(value) for value in ([1, 2], {"a": 1}, 17, None)]  # type: ignore[arg-type]
    assert list(collector.records(items)) == items
    assert collector.as_summary() == {"by_severity": {}}
