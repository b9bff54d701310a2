"""The alert: one documented JSON shape (docs/alerts.md) for the CLI and every sink."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from trailguard.actor import resolve_actor
from trailguard.model import Finding
from trailguard.resources import extract_resources

SCHEMA_VERSION = 1
Alert = dict[str, Any]


def _scalar(value: Any) -> Any:
    """A record field as the schema wants it: strings, numbers and booleans; else null."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return None


def alert_id(rule_id: str, event_id: Any, record: dict[str, Any]) -> str:
    """Stable across redeliveries: rule plus eventID, or plus the record's content without one."""
    if isinstance(event_id, str) and event_id:
        basis = f"{rule_id}\x00{event_id}".encode()
    else:
        basis = rule_id.encode() + b"\x00" + orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(basis, digest_size=16).hexdigest()


def build_alert(finding: Finding) -> Alert:
    """Everything a responder needs, with null for whatever the record does not say."""
    record = finding.record
    get = record.get
    event_id = _scalar(get("eventID"))
    return {
        "schema_version": SCHEMA_VERSION,
        "alert_id": alert_id(finding.rule_id, event_id, record),
        "rule_id": finding.rule_id,
        "severity": finding.severity.label,
        "title": finding.title,
        "description": finding.description or None,
        "references": list(finding.references),
        "tags": list(finding.tags),
        "event_id": event_id,
        "event_time": _scalar(get("eventTime")),
        "event_name": _scalar(get("eventName")),
        "event_source": _scalar(get("eventSource")),
        "event_type": _scalar(get("eventType")),
        "aws_region": _scalar(get("awsRegion")),
        "account_id": _scalar(get("recipientAccountId")),
        "actor": resolve_actor(get("userIdentity")),
        "source_ip": _scalar(get("sourceIPAddress")),
        "user_agent": _scalar(get("userAgent")),
        "error_code": _scalar(get("errorCode")),
        "error_message": _scalar(get("errorMessage")),
        "read_only": _scalar(get("readOnly")),
        "resources": extract_resources(record),
        "source": finding.place.as_dict(),
    }
