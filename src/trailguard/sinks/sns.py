"""The `sns` sink: every alert published to an SNS topic, its JSON as the message.

Subscribers (email, SQS, Lambda, chat bridges) get a readable subject and the alert as
documented in docs/alerts.md; the message attributes `severity`, `rule_id` and `account_id`
let each subscription keep only what it wants with a filter policy. Alerts go out through
PublishBatch, ten at a time, and each entry SNS refuses is reported for a retry of its own.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from trailguard import aws
from trailguard.alerts import Alert
from trailguard.delivery import SinkError
from trailguard.rules.errors import RuleSyntaxError
from trailguard.sinks.batches import send_batches
from trailguard.sinks.spec import SinkSpec

if TYPE_CHECKING:
    from trailguard.sinks.registry import SinkContext

OPTIONS = ("topic_arn",)

TOPIC_ARN = re.compile(
    r"^arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"[A-Za-z0-9_-]{1,256}(\.fifo)?$"
)
BATCH_ENTRIES = 10
"""PublishBatch takes at most ten entries..."""
MAX_BYTES = 262_144
"""...and at most 256 KiB: per message (body and attributes) and for the whole batch."""
SUBJECT_LIMIT = 100
STRING_CAP = 512
"""When dropping the bulky fields is not enough, every string is cut to this many characters."""
BULKY_FIELDS: tuple[tuple[str, Any], ...] = (
    ("context", None),
    ("resources", []),
    ("runbook", None),
    ("description", None),
    ("error_message", None),
    ("user_agent", None),
    ("references", []),
    ("tags", []),
)
"""Emptied in this order, while an alert is too large for SNS; `truncated` lists them."""
NOT_FOUND = frozenset({"NotFound", "NotFoundException", "ResourceNotFound"})
DENIED = frozenset({"AuthorizationError", "AccessDenied", "AccessDeniedException"})
KMS_REFUSED = frozenset(
    {"KMSAccessDenied", "KMSDisabled", "KMSInvalidState", "KMSNotFound", "KMSOptInRequired"}
)


def validate(spec: SinkSpec) -> None:
    arn = spec.option("topic_arn")
    if not TOPIC_ARN.match(arn):
        raise RuleSyntaxError(
            f"{spec.where}.topic_arn",
            f"{arn!r} is not an SNS topic ARN; expected the form "
            "arn:aws:sns:eu-west-1:123456789012:trailguard-alerts",
        )


def build(spec: SinkSpec, context: SinkContext) -> SnsSink:
    arn = spec.option("topic_arn")
    match = TOPIC_ARN.match(arn)
    region = match.group("region") if match else None
    # The topic's own region: SNS takes a publish only in the region of the topic.
    client = aws.client("sns", context.clients.get("sns"), region)
    return SnsSink(spec.name, arn, client)


class SnsSink:
    def __init__(self, name: str, topic_arn: str, client: Any) -> None:
        self.name = name
        self.topic_arn = topic_arn
        self.client = client
        self.fifo = topic_arn.endswith(".fifo")

    def send(self, alerts: Sequence[Alert]) -> None:
        entries = [self._entry(str(index), alert) for index, alert in enumerate(alerts)]
        outcome = send_batches(
            list(batched(entries)),
            self._publish,
            entry_failures,
            lambda batch: [entry.alert for entry in batch],
            self._explain,
            aws.is_transient,
        )
        if outcome.failed:
            raise SinkError(
                f"SNS topic {self.topic_arn}: {len(outcome.failed)} of {len(alerts)} alert(s) "
                f"not published: {'; '.join(outcome.problems[:5])}",
                outcome.failed,
                transient=outcome.transient,
            )

    def _publish(self, batch: list[Entry]) -> Any:
        return self.client.publish_batch(
            TopicArn=self.topic_arn,
            PublishBatchRequestEntries=[entry.request for entry in batch],
        )

    def _entry(self, entry_id: str, alert: Alert) -> Entry:
        title = subject(alert)
        attributes = message_attributes(alert)
        budget = MAX_BYTES - len(title) - attributes_size(attributes)
        body = message(alert, budget)
        request: dict[str, Any] = {
            "Id": entry_id,
            "Message": body,
            "Subject": title,
            "MessageAttributes": attributes,
        }
        if self.fifo:
            # A FIFO topic keeps order per group and drops a repeat of an alert within its
            # five-minute deduplication window: alert_id is the same for a redelivered event.
            request["MessageGroupId"] = str(alert.get("rule_id") or "trailguard")[:128]
            request["MessageDeduplicationId"] = str(alert.get("alert_id"))[:128]
        size = len(body.encode()) + len(title) + attributes_size(attributes)
        return Entry(alert, request, size)

    def _explain(self, exc: BaseException) -> str:
        """What went wrong with a whole call, and what to check."""
        error = (getattr(exc, "response", None) or {}).get("Error") or {}
        code = str(error.get("Code") or type(exc).__name__)
        detail = f"{code}: {error.get('Message') or exc}"
        if code in NOT_FOUND:
            return (
                f"{detail}; the topic does not exist: check `topic_arn` (name, region and "
                "account) against `aws sns list-topics`"
            )
        if code in DENIED:
            return (
                f"{detail}; the function's role may not publish there: allow sns:Publish on "
                "the topic (in the role's policy and the topic's access policy), and for an "
                "encrypted topic let the role use the KMS key (kms:GenerateDataKey*, "
                "kms:Decrypt in the key policy)"
            )
        if code in KMS_REFUSED:
            return (
                f"{detail}; the topic is encrypted and its KMS key refused: check that the key "
                "is enabled and that its key policy allows the function's role "
                "kms:GenerateDataKey* and kms:Decrypt"
            )
        return detail


class Entry:
    """One alert as a PublishBatch entry, with its size as SNS counts it."""

    __slots__ = ("alert", "request", "size")

    def __init__(self, alert: Alert, request: dict[str, Any], size: int) -> None:
        self.alert = alert
        self.request = request
        self.size = size


def batched(entries: Sequence[Entry]) -> Iterator[list[Entry]]:
    """Up to ten entries a call, and no more than 256 KiB in all."""
    batch: list[Entry] = []
    total = 0
    for entry in entries:
        if batch and (len(batch) == BATCH_ENTRIES or total + entry.size > MAX_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(entry)
        total += entry.size
    if batch:
        yield batch


def entry_failures(
    batch: Sequence[Entry], response: dict[str, Any]
) -> tuple[list[Alert], list[str], bool]:
    """The alerts of `batch` that SNS did not take, why, and whether a retry may help.

    A failed entry is the sender's fault (SenderFault true: retrying the same entry fails
    again) or SNS's (false: retry). An entry SNS reports neither way counts as failed and
    retried: a duplicate is better than a loss.
    """
    by_id = {entry.request["Id"]: entry.alert for entry in batch}
    succeeded = {str(item.get("Id")) for item in response.get("Successful") or ()}
    lost: list[Alert] = []
    reasons: list[str] = []
    transient = False
    for item in response.get("Failed") or ():
        alert = by_id.pop(str(item.get("Id")), None)
        if alert is None:
            continue
        code = str(item.get("Code") or "")
        lost.append(alert)
        reasons.append(f"{code}: {item.get('Message') or 'no message'}")
        transient = transient or not item.get("SenderFault") or _transient_code(code)
    for entry_id, alert in by_id.items():
        if entry_id not in succeeded:
            lost.append(alert)
            reasons.append("SNS reported neither success nor failure for an entry")
            transient = True
    return lost, reasons, transient


def _transient_code(code: str) -> bool:
    return code in aws.TRANSIENT_CODES or "Throttl" in code  # KMSThrottling too


def subject(alert: Alert) -> str:
    """`[HIGH] title (account)`: printable ASCII on one line, at most 100 characters."""
    head = f"[{str(alert.get('severity') or 'unknown').upper()}] "
    account = _ascii(str(alert.get("account_id") or ""))
    tail = f" ({account})" if account and len(account) <= 20 else ""
    title = _ascii(str(alert.get("title") or "")) or _ascii(str(alert.get("rule_id") or ""))
    room = SUBJECT_LIMIT - len(head) - len(tail)
    if len(title) > room:
        title = title[: room - 3].rstrip() + "..."
    return _ascii(head + title + tail)[:SUBJECT_LIMIT]


def _ascii(text: str) -> str:
    """Printable ASCII only, whitespace runs as one space: what SNS accepts in a subject."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    printable = "".join(c if " " <= c <= "~" else " " for c in folded)
    return " ".join(printable.split())


def message_attributes(alert: Alert) -> dict[str, dict[str, str]]:
    """String attributes for filter policies; `account_id` is left out when unknown."""
    attributes = {
        "severity": alert.get("severity"),
        "rule_id": alert.get("rule_id"),
        "account_id": alert.get("account_id"),
    }
    return {
        key: {"DataType": "String", "StringValue": str(value)}
        for key, value in attributes.items()
        if isinstance(value, str) and value
    }


def attributes_size(attributes: dict[str, dict[str, str]]) -> int:
    return sum(
        len(name.encode()) + len(value["DataType"]) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


def message(alert: Alert, budget: int) -> str:
    """The alert as JSON, within `budget` bytes.

    An alert too large loses its bulkiest fields first (BULKY_FIELDS), then has every string
    cut; the fields touched are listed in a `truncated` key. The alert is never refused.
    """
    text = _dumps(alert)
    if len(text.encode()) <= budget:
        return text
    trimmed = dict(alert)
    truncated: list[str] = []
    for key, empty in BULKY_FIELDS:
        if trimmed.get(key) not in (None, []):
            trimmed[key] = empty
            truncated.append(key)
            text = _dumps({**trimmed, "truncated": truncated})
            if len(text.encode()) <= budget:
                return text
    for key, value in trimmed.items():
        shortened = _cap_strings(value)
        if shortened != value:
            trimmed[key] = shortened
            truncated.append(key)
    text = _dumps({**trimmed, "truncated": truncated})
    if len(text.encode()) <= budget:
        return text
    core = ("schema_version", "alert_id", "rule_id", "severity", "event_id", "event_time")
    return _dumps(
        {
            **{key: _cap_strings(alert.get(key)) for key in core},
            "truncated": [key for key in alert if key not in core],
        }
    )


def _cap_strings(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= STRING_CAP else value[: STRING_CAP - 3] + "..."
    if isinstance(value, dict):
        return {key: _cap_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cap_strings(item) for item in value]
    return value


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers past 64 bits, lone surrogates: the standard library copes
        return json.dumps(value, separators=(",", ":"), default=repr)
