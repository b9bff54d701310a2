"""What counts as a CloudTrail record, and the helpers every envelope shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_cloudtrail_record(obj: Any) -> bool:
    """True for a CloudTrail event record (management, data, console sign-in, Insight).

    S3 event notifications also carry `eventVersion` and `eventSource` (`aws:s3`), so the
    service name must be an AWS endpoint; Insight events have no eventSource at the top.
    Hand-written records without `eventVersion` still count if they name a time or actor,
    so that catalogues that merely mention an event name do not.
    """
    if not isinstance(obj, Mapping):
        return False
    source = obj.get("eventSource")
    if isinstance(source, str):
        return ".amazonaws.com" in source and (
            "eventVersion" in obj
            or ("eventName" in obj and ("eventTime" in obj or "userIdentity" in obj))
        )
    event_type = obj.get("eventType")
    return "eventVersion" in obj and isinstance(event_type, str) and event_type.startswith("Aws")


def describe_keys(obj: Any, limit: int = 6) -> str:
    """A short description of a JSON value, for messages about what was found instead."""
    if isinstance(obj, Mapping):
        keys = list(obj)[:limit]
        more = ", ..." if len(obj) > limit else ""
        return "object with keys " + ", ".join(map(str, keys)) + more if keys else "empty object"
    if isinstance(obj, list):
        return f"array of {len(obj)}"
    return f"JSON {type(obj).__name__}"
