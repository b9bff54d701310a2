"""The alert: one documented JSON shape (docs/alerts.md) for the CLI and every sink."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson

from trailguard.actor import actor_of
from trailguard.model import SEVERITY_LABELS, Finding
from trailguard.record import peek, plain
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


def _content_key(record: Mapping[str, Any]) -> bytes:
    """The record's content, independent of key order: the identity of a record without eventID."""
    try:
        return orjson.dumps(plain(record), option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers past 64 bits, nesting past orjson's limit
        return _canonical(plain(record))


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


INT_RANGE = range(-(1 << 63), 1 << 64)
"""The integers every JSON encoder here writes (orjson's range); others go as text."""


def _json_safe(value: Any) -> Any:
    """Record values quoted in `context`, with integers JSON encoders refuse as text: a
    crafted record must not make its alert undeliverable."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value not in INT_RANGE:
        return str(value)
    return value


def _insight_subject(record: Mapping[str, Any], key: str) -> str | None:
    """Insight events name the API call whose rate or errors were unusual in insightDetails."""
    details = record.get("insightDetails")
    return _text(details.get(key)) if isinstance(details, dict) else None


_RECENT_IDS: dict[tuple[str, str], str] = {}
RECENT_IDS_LIMIT = 4096
"""Ids just computed: dedup computes each one, and the alert built next needs it again."""


def alert_id(rule_id: str, event_id: Any, record: Mapping[str, Any]) -> str:
    """Stable across redeliveries: rule plus eventID, or plus the record's content without one."""
    if isinstance(event_id, str) and event_id:
        key = (rule_id, event_id)
        known = _RECENT_IDS.get(key)
        if known is None:
            if len(_RECENT_IDS) >= RECENT_IDS_LIMIT:
                _RECENT_IDS.clear()
            basis = f"{rule_id}\x00{event_id}".encode()
            known = _RECENT_IDS[key] = hashlib.blake2b(basis, digest_size=16).hexdigest()
        return known
    basis = rule_id.encode() + b"\x00" + _content_key(record)
    return hashlib.blake2b(basis, digest_size=16).hexdigest()


_RECORD_FIELDS = (
    "eventID",
    "eventTime",
    "eventName",
    "eventSource",
    "eventType",
    "awsRegion",
    "recipientAccountId",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "readOnly",
)


def build_alert(finding: Finding) -> Alert:
    """Everything a responder needs, with null for whatever the record does not say."""
    record = finding.record
    values = peek(record, _RECORD_FIELDS)
    # The string fields at once (a non-empty string, else null): this runs for every alert.
    (
        event_id,
        event_time,
        event_name,
        event_source,
        event_type,
        region,
        account,
        source_ip,
        user_agent,
        error_code,
        error_message,
    ) = [v if v.__class__ is str and v else None for v in values[:-1]]
    read_only = values[-1]
    return {
        "schema_version": SCHEMA_VERSION,
        "alert_id": alert_id(finding.rule_id, event_id, record),
        "rule_id": finding.rule_id,
        "severity": SEVERITY_LABELS[finding.severity],
        "title": finding.title,
        "description": finding.description or None,
        "references": list(finding.references),
        "tags": list(finding.tags),
        "runbook": finding.runbook or None,
        "context": None if finding.context is None else _json_safe(finding.context),
        "event_id": event_id,
        "event_time": event_time,
        "event_name": event_name or _insight_subject(record, "eventName"),
        "event_source": event_source or _insight_subject(record, "eventSource"),
        "event_type": event_type,
        "aws_region": region,
        "account_id": account,
        "actor": actor_of(record),
        "source_ip": source_ip,
        "user_agent": user_agent,
        "error_code": error_code,
        "error_message": error_message,
        "read_only": read_only if read_only.__class__ is bool else None,
        "resources": extract_resources(record),
        "source": finding.place.as_dict(),
    }
