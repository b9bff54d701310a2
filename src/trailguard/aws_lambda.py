"""The AWS Lambda entry point: `trailguard.aws_lambda.handler`.

One handler serves every trigger (`trigger_of`): CloudWatch Logs subscriptions, EventBridge
(CloudTrail events, S3 "Object Created"), S3 notifications direct, through SNS, or through
SQS. Import stays light (no boto3; packs compiled once per container, on first use; the S3
reader is built only for triggers that name objects). Every alert is written as one JSON
line to stdout, which CloudWatch Logs keeps; every skipped or invalid input is logged as a
JSON line too, and the invocation returns a summary (for SQS, the partial batch response).
Configuration: the YAML named by TRAILGUARD_CONFIG, a packaged file or `ssm:NAME`
(docs/configuration.md). Alerts not delivered after retries, and objects that cannot be
read, fail the invocation (for SQS, just their messages), so AWS retries them.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import yaml

from trailguard import metrics
from trailguard.alerts import Alert, build_alert
from trailguard.config import Config, ConfigError, config_from_data, load_config
from trailguard.delivery import DeliveryError, RetryPolicy
from trailguard.model import Place, SourcedRecord
from trailguard.pipeline import Detector, build_detector
from trailguard.sinks.registry import RoutedSink, build_sinks
from trailguard.sources import Decoder, messaging
from trailguard.sources.s3_objects import S3ObjectError, S3ObjectReader
from trailguard.state.registry import build_store
from trailguard.tally import InputTally, Problem

ALERT_BATCH = 500
CONFIG_ENV = "TRAILGUARD_CONFIG"
FUNCTION_ENV = "AWS_LAMBDA_FUNCTION_NAME"
COUNTED = ("suppressed", "duplicates", "below_threshold", "windows_dropped")
READS_S3 = frozenset({"s3", "sns", "sqs", "eventbridge"})
"""Triggers whose events may name S3 objects: only these get the S3 reader (and boto3)."""
_RECORD_TRIGGERS = {"aws:sqs": "sqs", "aws:sns": "sns", "aws:s3": "s3", "aws:kinesis": "kinesis"}


class UnsupportedTriggerError(ValueError):
    """An event from a trigger this version does not read; failing keeps it for a retry."""


def _record_trigger(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    return _RECORD_TRIGGERS.get(str(record.get("eventSource") or record.get("EventSource")))


def trigger_of(event: Any) -> str:
    """Name the trigger from the event's shape (one handler serves them all)."""
    if isinstance(event, dict):
        if "awslogs" in event:
            return "cloudwatch_logs"
        if "detail-type" in event and "detail" in event:
            return "eventbridge"
        if event.get("Event") == "s3:TestEvent":
            return "s3"
        records = event.get("Records")
        if isinstance(records, list) and records:
            kinds = {_record_trigger(record) for record in records}
            if len(kinds) == 1 and None not in kinds:
                return str(kinds.pop())
    keys = ", ".join(map(str, list(event)[:6])) if isinstance(event, dict) else type(event).__name__
    raise UnsupportedTriggerError(
        f"trailguard cannot read this event (top-level keys: {keys}); it handles CloudWatch Logs "
        "subscriptions (direct or through a Kinesis stream), EventBridge events (CloudTrail, "
        "S3 Object Created), and S3 notifications direct, through SNS or through SQS. Check "
        "the function's triggers."
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
        s3: Any | None = None,
    ) -> None:
        self.detector = detector
        self.sinks = tuple(sinks)
        self.policy = policy or RetryPolicy()
        self.s3 = s3
        """The S3 client for reading log files; None: `aws.client("s3")`, on first use."""
        self._reader: S3ObjectReader | None = None
        self._time_left: Callable[[], float] | None = None
        """The current invocation's remaining seconds (`process`)."""
        self.observed = metrics.RunMetrics()
        """Per invocation: severities of findings and the delay since each eventTime."""

    def process(
        self,
        event: Any,
        listener: Callable[[Problem], None] = log_problem,
        time_left: Callable[[], float] | None = None,
    ) -> dict[str, Any]:
        """One invocation: a summary, with `batchItemFailures` for SQS.

        Raises DeliveryError or S3ObjectError (after delivering what was read) for the
        other triggers, so that AWS retries the event. `time_left()`: the seconds left in
        the invocation, which bound the waits between delivery retries.
        """
        self._time_left = time_left
        trigger = trigger_of(event)
        self.observed = metrics.RunMetrics()
        tally = InputTally(listener=listener)
        decoder = Decoder(tally, self._s3_reader() if trigger in READS_S3 else None)
        place = Place(trigger, envelope=trigger)
        if trigger == "sqs":
            summary = self._sqs_batch(event["Records"], decoder, place)
        else:
            reading = _Reading(decoder.document(event, place))
            summary = self._run(reading, tally)
            if reading.failure is not None:
                raise reading.failure
        return {"trigger": trigger, **summary, **self.observed.as_summary()}

    def _s3_reader(self) -> S3ObjectReader:
        if self._reader is None:
            self._reader = S3ObjectReader(self.s3)
        return self._reader

    def _sqs_batch(
        self, messages: list[dict[str, Any]], decoder: Decoder, place: Place
    ) -> dict[str, Any]:
        """Each message on its own: a failed one is reported, the others are deleted.

        A message fails when its input was invalid (a garbage body, an unreadable file), its
        object could not be read, or its alerts could not be delivered; a recognised skip
        (an S3 test event, a digest key) succeeds.
        """
        ids = [message.get("messageId") for message in messages]
        if not all(isinstance(i, str) and i for i in ids):
            raise UnsupportedTriggerError(
                "an SQS message has no messageId, so its failure could not be reported; "
                "this is not an event Lambda sends from SQS"
            )
        tally = decoder.tally
        before = self.detector.stats()
        alerts = 0
        delivered: Counter[str] = Counter()
        failures: list[str] = []
        failed_by_sink: Counter[str] = Counter()
        for index, message in enumerate(messages):
            invalid = tally.invalid_total
            reading = _Reading(messaging.sqs_message(message, index, place, decoder, depth=1))
            reason = ""
            try:
                summary = self._run(reading, tally)
            except DeliveryError as exc:
                reason = str(exc)
                failed_by_sink.update(metrics.failed_by_sink(exc.results))
            else:
                alerts += summary["alerts"]
                delivered.update(summary["delivered"])
            if reading.failure is not None:
                reason = str(reading.failure)
            elif not reason and tally.invalid_total > invalid:
                reason = "invalid input (logged above); kept for the dead-letter queue"
            if reason:
                failures.append(str(ids[index]))
                log_line(
                    {
                        "log_type": "trailguard.message_failed",
                        "level": "ERROR",
                        "message_id": ids[index],
                        "position": f"Records[{index}]",
                        "reason": reason,
                    }
                )
        after = self.detector.stats()
        return {
            "log_type": "trailguard.summary",
            "alerts": alerts,
            "delivered": dict(delivered),
            **{key: after[key] - before[key] for key in COUNTED},
            **tally.as_dict(),
            "messages": len(messages),
            "failed": dict(failed_by_sink),
            "batchItemFailures": [{"itemIdentifier": i} for i in failures],
        }

    def _run(self, items: Iterable[SourcedRecord], tally: InputTally) -> dict[str, Any]:
        """`run`, forgetting undelivered alerts whatever stops it, so a retry alerts again."""
        try:
            return self.run(items, tally)
        except BaseException:
            self.detector.discard()
            raise

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
        for finding in self.detector.run(self.observed.records(items), tally):
            self.observed.finding(finding)
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
        policy = self.policy.within(self._time_left)
        results = [sink.deliver(alerts, policy) for sink in self.sinks]
        failed = {id(alert) for result in results for alert in result.failed}
        for result in results:
            delivered[result.sink] += result.delivered
        self.detector.commit(
            [a["alert_id"] for a in alerts if id(a) not in failed]
            if failed
            else [a["alert_id"] for a in alerts]
        )
        if failed:
            self.detector.discard()
            raise DeliveryError(results)
        return len(alerts)


class _Reading:
    """The records of an event until an object cannot be read.

    What was read before the failure is still detected and delivered; the failure is kept
    for the caller to raise (or, for SQS, to report the message), so AWS retries it.
    """

    def __init__(self, items: Iterable[SourcedRecord]) -> None:
        self.items = items
        self.failure: S3ObjectError | None = None

    def __iter__(self) -> Iterator[SourcedRecord]:
        try:
            yield from self.items
        except S3ObjectError as exc:
            self.failure = exc


def lambda_response(summary: dict[str, Any]) -> dict[str, Any]:
    """What the invocation returns: for SQS exactly the partial batch response, else the
    summary. (SQS's event source mapping needs `ReportBatchItemFailures` turned on.)"""
    if summary.get("trigger") == "sqs":
        return {"batchItemFailures": summary["batchItemFailures"]}
    return summary


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


def _time_left(context: Any) -> Callable[[], float] | None:
    """The invocation's remaining seconds, from the Lambda context (None outside Lambda)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return lambda: float(remaining()) / 1000.0


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Decode the trigger's event, evaluate every record, and emit the alerts and metrics."""
    function = str(
        getattr(context, "function_name", "") or os.environ.get(FUNCTION_ENV, "trailguard")
    )
    try:
        summary = runtime().process(event, time_left=_time_left(context))
    except DeliveryError as exc:
        failed = {"failed": metrics.failed_by_sink(exc.results)}
        for line in metrics.emf_lines(failed, function_name=function, now=time.time()):
            log_line(line)
        sys.stdout.flush()
        raise
    log_line(summary)
    for line in metrics.emf_lines(summary, function_name=function, now=time.time()):
        log_line(line)
    sys.stdout.flush()
    return lambda_response(summary)
