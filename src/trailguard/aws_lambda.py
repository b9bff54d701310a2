"""The AWS Lambda entry point: `trailguard.aws_lambda.handler`.

Import stays light (no boto3; packs compiled once per container, on first use). Every
alert is written as one JSON line to stdout, which CloudWatch Logs keeps; every skipped or
invalid input is logged as a JSON line too, and the invocation returns a summary.
Configuration: the YAML file named by TRAILGUARD_CONFIG (docs/configuration.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from trailguard.alerts import build_alert
from trailguard.config import Config, load_config
from trailguard.model import Place
from trailguard.pipeline import Detector, build_detector
from trailguard.sinks import Sink
from trailguard.sinks.log import LogSink
from trailguard.sources import Decoder
from trailguard.tally import InputTally, Problem

ALERT_BATCH = 500
CONFIG_ENV = "TRAILGUARD_CONFIG"


class UnsupportedTriggerError(ValueError):
    """An event from a trigger this version does not read; failing keeps it for a retry."""


def trigger_of(event: Any) -> str:
    """Name the trigger from the event's shape (one handler serves them all)."""
    if isinstance(event, dict):
        if "awslogs" in event:
            return "cloudwatch_logs"
        if "detail-type" in event and "detail" in event:
            return "eventbridge"
    keys = ", ".join(map(str, list(event)[:6])) if isinstance(event, dict) else type(event).__name__
    raise UnsupportedTriggerError(
        f"trailguard cannot read this event (top-level keys: {keys}); it handles CloudWatch Logs "
        "subscriptions and EventBridge CloudTrail events. Check the function's triggers."
    )


def log_line(line: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(line) + b"\n")


def log_problem(problem: Problem) -> None:
    log_line(
        {
            "log_type": "trailguard.input",
            "level": "WARNING" if problem.kind == "invalid" else "INFO",
            "kind": problem.kind,
            "reason": problem.reason,
            "detail": problem.detail or None,
            **problem.place.as_dict(),
        }
    )


class Runtime:
    """What one container keeps between invocations: the compiled detector and the sinks."""

    def __init__(self, detector: Detector, sinks: Sequence[Sink]) -> None:
        self.detector = detector
        self.sinks = tuple(sinks)

    def process(
        self, event: Any, listener: Callable[[Problem], None] = log_problem
    ) -> dict[str, Any]:
        trigger = trigger_of(event)
        tally = InputTally(listener=listener)
        items = Decoder(tally).document(event, Place(trigger, envelope=trigger))
        before = self.detector.stats()
        batch: list[dict[str, Any]] = []
        alerts = 0
        for finding in self.detector.run(items, tally):
            batch.append(build_alert(finding))
            if len(batch) >= ALERT_BATCH:
                alerts += self._deliver(batch)
                batch = []
        alerts += self._deliver(batch)
        return {
            "log_type": "trailguard.summary",
            "trigger": trigger,
            "alerts": alerts,
            **{
                key: after - before[key]
                for key, after in self.detector.stats().items()
                if key in ("suppressed", "duplicates", "below_threshold")
            },
            **tally.as_dict(),
        }

    def _deliver(self, alerts: list[dict[str, Any]]) -> int:
        for sink in self.sinks:
            sink.send(alerts)
        return len(alerts)


def load_lambda_config() -> Config:
    """The file named by TRAILGUARD_CONFIG (packaged with the function), else the defaults."""
    path = os.environ.get(CONFIG_ENV)
    return load_config(Path(path)) if path else Config()


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """Built on first use and kept for the container's life."""
    global _runtime
    if _runtime is None:
        config = load_lambda_config()
        for warning in config.warnings():
            log_line({"log_type": "trailguard.config", "level": "WARNING", "message": warning})
        _runtime = Runtime(build_detector(config), [LogSink()])
    return _runtime


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Decode the trigger's event, evaluate every record, and emit the alerts."""
    summary = runtime().process(event)
    log_line(summary)
    sys.stdout.flush()
    return summary
