"""The AWS Lambda entry point: `trailguard.aws_lambda.handler`.

Import stays light (no boto3, packs compiled lazily once per container). Every alert is
written as one JSON line to stdout, which CloudWatch Logs keeps; every skipped or invalid
input is logged as a JSON line too, and the invocation returns a summary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from trailguard.alerts import build_alert
from trailguard.engine import Engine, default_engine
from trailguard.model import Place
from trailguard.sinks import Sink
from trailguard.sinks.log import LogSink
from trailguard.sources import Decoder
from trailguard.tally import InputTally, Problem

ALERT_BATCH = 500


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


def log_problem(problem: Problem) -> None:
    line = {
        "log_type": "trailguard.input",
        "level": "WARNING" if problem.kind == "invalid" else "INFO",
        "kind": problem.kind,
        "reason": problem.reason,
        "detail": problem.detail or None,
        **problem.place.as_dict(),
    }
    sys.stdout.buffer.write(orjson.dumps(line) + b"\n")


class Runtime:
    """What one container keeps between invocations: the compiled engine and the sinks."""

    def __init__(self, engine: Engine, sinks: Sequence[Sink]) -> None:
        self.engine = engine
        self.sinks = tuple(sinks)

    def process(
        self, event: Any, listener: Callable[[Problem], None] = log_problem
    ) -> dict[str, Any]:
        trigger = trigger_of(event)
        tally = InputTally(listener=listener)
        items = Decoder(tally).document(event, Place(trigger, envelope=trigger))
        batch: list[dict[str, Any]] = []
        alerts = 0
        for finding in self.engine.run(items, tally):
            batch.append(build_alert(finding))
            if len(batch) >= ALERT_BATCH:
                alerts += self._deliver(batch)
                batch = []
        alerts += self._deliver(batch)
        return {
            "log_type": "trailguard.summary",
            "trigger": trigger,
            "alerts": alerts,
            **tally.as_dict(),
        }

    def _deliver(self, alerts: list[dict[str, Any]]) -> int:
        for sink in self.sinks:
            sink.send(alerts)
        return len(alerts)


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """Built on first use and kept for the container's life."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(default_engine(), [LogSink()])
    return _runtime


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Decode the trigger's event, classify every record, and emit the alerts."""
    summary = runtime().process(event)
    sys.stdout.buffer.write(orjson.dumps(summary) + b"\n")
    sys.stdout.flush()
    return summary
