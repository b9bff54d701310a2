"""The alert: one documented JSON shape (docs/alerts.md) for the CLI and every sink."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from trailguard.actor import resolve_actor
from trailguard.model import Finding
from trailguard.resources import extract_resources

SCHEMA_VERSION = 1
Alert = dict[str, Any]


def _text(value: Any) -> str | None:
    """A string field as the schema promises it: a non-empty string, else null.

    A value of the wrong type (a number, an object) is null rather than passed on, so that
    every consumer can rely on the documented JSON type.
    """
    return value if isinstance(value, str) and value else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _content_key(record: dict[str, Any]) -> bytes:
    """The record's content, independent of key order: the identity of a record without eventID."""
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers past 64 bits, nesting past orjson's limit
        return _canonical(record)


def _canonical(value: Any) -> bytes:
    """A sorted-key rendering of any decoded JSON value, without recursion (any depth)."""
    out: list[str] = []
    stack: list[tuple[bool, Any]] = [(False, value)]
    while stack:
        literal, item = stack.pop()
        if literal:
            out.append(item)
        elif isinstance(item, dict):
            out.append("{")
            stack.append((True, "},"))
            for key in sorted(item, key=str, reverse=True):
                stack.append((False, item[key]))
                stack.append((True, json.dumps(str(key)) + ":"))
        elif isinstance(item, list):
            out.append("[")
            stack.append((True, "],"))
            stack.extend((False, element) for element in reversed(item))
        else:
            out.append(json.dumps(item, default=repr) + ",")
    return "".join(out).encode()


def _insight_subject(record: dict[str, Any], key: str) -> str | None:
    """Insight events name the API call whose rate or errors were unusual in insightDetails."""
    details = record.get("insightDetails")
    return _text(details.get(key)) if isinstance(details, dict) else None


def alert_id(rule_id: str, event_id: Any, record: dict[str, Any]) -> str:
    """Stable across redeliveries: rule plus eventID, or plus the record's content without one."""
    if isinstance(event_id, str) and event_id:
        basis = f"{rule_id}\x00{event_id}".encode()
    else:
        basis = rule_id.encode() + b"\x00" + _content_key(record)
    return hashlib.blake2b(basis, digest_size=16).hexdigest()


def build_alert(finding: Finding) -> Alert:
    """Everything a responder needs, with null for whatever the record does not say."""
    record = finding.record
    get = record.get
    event_id = _text(get("eventID"))
    return {
        "schema_version": SCHEMA_VERSION,
        "alert_id": alert_id(finding.rule_id, event_id, record),
        "rule_id": finding.rule_id,
        "severity": finding.severity.label,
        "title": finding.title,
        "description": finding.description or None,
        "references": list(finding.references),
        "tags": list(finding.tags),
        "runbook": finding.runbook or None,
        "context": finding.context,
        "event_id": event_id,
        "event_time": _text(get("eventTime")),
        "event_name": _text(get("eventName")) or _insight_subject(record, "eventName"),
        "event_source": _text(get("eventSource")) or _insight_subject(record, "eventSource"),
        "event_type": _text(get("eventType")),
        "aws_region": _text(get("awsRegion")),
        "account_id": _text(get("recipientAccountId")),
        "actor": resolve_actor(get("userIdentity")),
        "source_ip": _text(get("sourceIPAddress")),
        "user_agent": _text(get("userAgent")),
        "error_code": _text(get("errorCode")),
        "error_message": _text(get("errorMessage")),
        "read_only": _flag(get("readOnly")),
        "resources": extract_resources(record),
        "source": finding.place.as_dict(),
    }
