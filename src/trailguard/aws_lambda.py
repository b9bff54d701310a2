"""The AWS Lambda entry point: `trailguard.aws_lambda.handler`.

Import stays light (no boto3; packs compiled once per container, on first use). Every
alert is written as one JSON line to stdout, which CloudWatch Logs keeps; every skipped or
invalid input is logged as a JSON line too, and the invocation returns a summary.
Configuration: the YAML named by TRAILGUARD_CONFIG, a packaged file or `ssm:NAME`
(docs/configuration.md). Alerts not delivered after retries fail the invocation.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml

from trailguard.alerts import Alert, build_alert
from trailguard.config import Config, ConfigError, config_from_data, load_config
from trailguard.delivery import DeliveryError, RetryPolicy
from trailguard.model import Place, SourcedRecord
from trailguard.pipeline import Detector, build_detector
from trailguard.sinks.registry import RoutedSink, build_sinks
from trailguard.sources import Decoder
from trailguard.state.registry import build_store
from trailguard.tally import InputTally, Problem

ALERT_BATCH = 500
CONFIG_ENV = "TRAILGUARD_CONFIG"
COUNTED = ("suppressed", "duplicates", "below_threshold")


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
    """What one container keeps between invocations: the detector, the sinks, the policy."""

    def __init__(
        self,
        detector: Detector,
        sinks: Sequence[RoutedSink],
        policy: RetryPolicy | None = None,
    ) -> None:
        self.detector = detector
        self.sinks = tuple(sinks)
        self.policy = policy or RetryPolicy()

    def process(
        self, event: Any, listener: Callable[[Problem], None] = log_problem
    ) -> dict[str, Any]:
        trigger = trigger_of(event)
        tally = InputTally(listener=listener)
        items = Decoder(tally).document(event, Place(trigger, envelope=trigger))
        return {"trigger": trigger, **self.run(items, tally)}

    def run(self, items: Iterable[SourcedRecord], tally: InputTally) -> dict[str, Any]:
        """Detect, deliver in chunks, and remember only what was delivered.

        A chunk that a sink could not take after its retries stops the run with
        DeliveryError: its alerts are not remembered, so AWS's retry of the batch sends them
        again, while the chunks already delivered are dropped then as duplicates.
        """
        before = self.detector.stats()
        delivered: Counter[str] = Counter()
        alerts = 0
        chunk: list[Alert] = []
        for finding in self.detector.run(items, tally):
            chunk.append(build_alert(finding))
            if len(chunk) >= ALERT_BATCH:
                alerts += self._deliver(chunk, delivered)
                chunk = []
        alerts += self._deliver(chunk, delivered)
        after = self.detector.stats()
        return {
            "log_type": "trailguard.summary",
            "alerts": alerts,
            "delivered": dict(delivered),
            **{key: after[key] - before[key] for key in COUNTED},
            **tally.as_dict(),
        }

    def _deliver(self, alerts: list[Alert], delivered: Counter[str]) -> int:
        if not alerts:
            return 0
        results = [sink.deliver(alerts, self.policy) for sink in self.sinks]
        failed = {id(alert) for result in results for alert in result.failed}
        for result in results:
            delivered[result.sink] += result.delivered
        self.detector.commit(a["alert_id"] for a in alerts if id(a) not in failed)
        if failed:
            self.detector.discard()
            raise DeliveryError(results)
        return len(alerts)


def load_lambda_config(ssm: Any | None = None) -> Config:
    """TRAILGUARD_CONFIG: a file packaged with the function, or `ssm:NAME`; else defaults."""
    source = os.environ.get(CONFIG_ENV)
    if not source:
        return Config()
    if source.startswith("ssm:"):
        from trailguard import aws

        name = source[len("ssm:") :]
        try:
            response = aws.client("ssm", ssm).get_parameter(Name=name, WithDecryption=True)
        except aws.AwsUnavailableError:
            raise
        except Exception as exc:
            raise ConfigError(
                source,
                "(parameter)",
                f"cannot read it: {type(exc).__name__}: {exc}; check the name and that the "
                "function's role may ssm:GetParameter (and kms:Decrypt) it",
            ) from None
        text = str(response["Parameter"]["Value"])
        return config_from_data(yaml.safe_load(text) or {}, source, Path.cwd())
    return load_config(Path(source))


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """Built on first use and kept for the container's life (config read once)."""
    global _runtime
    if _runtime is None:
        config = load_lambda_config()
        for warning in config.warnings():
            log_line({"log_type": "trailguard.config", "level": "WARNING", "message": warning})
        detector = build_detector(config, build_store(config.state))
        _runtime = Runtime(detector, build_sinks(config.sinks))
    return _runtime


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Decode the trigger's event, evaluate every record, and emit the alerts."""
    summary = runtime().process(event)
    log_line(summary)
    sys.stdout.flush()
    return summary
