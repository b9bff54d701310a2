"""Predicates about audit logging itself: trail event selectors, log-bucket lifecycle rules,
and where a trail's resources live.

Each reads the request as CloudTrail records it and returns False on anything malformed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.matchers import as_number
from trailguard.rules.predicates import predicate
from trailguard.rules.predicates.policies import own_account
from trailguard.times import parse_time

ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:(\d{12}):")
DAY = 86400  # seconds


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if isinstance(item, str | bool)]


def _keeps_write_management(selector: dict[str, Any]) -> bool:
    """An advanced selector that records management events, writes included.

    `eventCategory = Management` selects management events; a `readOnly` field that keeps only
    `true` (or excludes `false`) leaves the writes out, and the writes are what matter.
    """
    fields = selector.get("fieldSelectors")
    if not isinstance(fields, list):
        return False
    management = False
    reads_only = False
    for field in fields:
        if not isinstance(field, dict):
            continue
        if field.get("field") == "eventCategory" and "Management" in _strings(field.get("equals")):
            management = True
        if field.get("field") == "readOnly":
            equals = [v.lower() for v in _strings(field.get("equals"))]
            not_equals = [v.lower() for v in _strings(field.get("notEquals"))]
            if (equals and all(v == "true" for v in equals)) or "false" in not_equals:
                reads_only = True
    return management and not reads_only


@predicate("event_selectors_drop_management")
def event_selectors_drop_management(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """PutEventSelectors leaves the trail without (write) management events."""
    params = ctx.record.get("requestParameters")
    if not isinstance(params, dict):
        return False
    advanced = _selectors(params.get("advancedEventSelectors"))
    if advanced:
        return not any(_keeps_write_management(selector) for selector in advanced)
    selectors = _selectors(params.get("eventSelectors"))
    if not selectors:
        return False  # nothing readable: no claim either way
    for selector in selectors:
        if selector.get("includeManagementEvents", True) is not False and selector.get(
            "readWriteType", "All"
        ) in ("All", "WriteOnly"):
            return False  # some selector still records write management events
    return True


def _selectors(value: Any) -> list[dict[str, Any]]:
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def _lifecycle_rules(params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The rules of a PutBucketLifecycle request (one rule is an object, several a list)."""
    configuration = params.get("LifecycleConfiguration")
    rules = configuration.get("Rule") if isinstance(configuration, dict) else None
    for rule in rules if isinstance(rules, list) else [rules]:
        if isinstance(rule, dict):
            yield rule


def _rule_prefix(rule: Mapping[str, Any]) -> str | None:
    """The key prefix a lifecycle rule applies to ("" for the whole bucket), or None when a
    tag filter limits it to tagged objects (CloudTrail does not tag its log files)."""
    found: Any = rule.get("Prefix")
    rule_filter = rule.get("Filter")
    if isinstance(rule_filter, dict):
        both = rule_filter.get("And")
        if rule_filter.get("Tag") is not None or (
            isinstance(both, dict) and both.get("Tag") is not None
        ):
            return None
        found = rule_filter.get("Prefix", both.get("Prefix") if isinstance(both, dict) else None)
    return found if isinstance(found, str) else ""


def _event_time(ctx: RecordContext) -> dt.datetime | None:
    return parse_time(ctx.record.get("eventTime"))


def _expires_within(rule: Mapping[str, Any], days: int, at: dt.datetime | None) -> bool:
    """Whether an enabled rule deletes current or noncurrent objects within `days` days."""
    if rule.get("Status") != "Enabled":
        return False
    expiration = rule.get("Expiration")
    if isinstance(expiration, dict):
        after = as_number(expiration.get("Days"))
        if after is not None and after <= days:
            return True
        # A fixed date: every object the rule covers goes on that day, at once if it is past.
        date = parse_time(expiration.get("Date"))
        if date is not None and at is not None and (date - at).total_seconds() <= days * DAY:
            return True
    noncurrent = rule.get("NoncurrentVersionExpiration")
    if isinstance(noncurrent, dict):
        after = as_number(noncurrent.get("NoncurrentDays"))
        if after is not None and after <= days:
            return True
    return False


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@predicate("lifecycle_expires_within", required=("days",), days=int, prefix_regex=str)
def lifecycle_expires_within(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """PutBucketLifecycle: an enabled rule deletes objects within `days` days (on a prefix
    matching `prefix_regex`, if given; a whole-bucket rule's prefix is "")."""
    params = ctx.record.get("requestParameters")
    if not isinstance(params, dict):
        return False
    days = int(args["days"])
    wanted = _compiled(args["prefix_regex"]) if "prefix_regex" in args else None
    at = _event_time(ctx)
    for rule in _lifecycle_rules(params):
        prefix = _rule_prefix(rule)
        if prefix is None or (wanted is not None and not wanted.search(prefix)):
            continue
        if _expires_within(rule, days, at):
            return True
    return False


@predicate("arn_outside_account", required=("path",), path=str)
def arn_outside_account(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """The ARN at `path` names an account other than the record's own (a key id does not)."""
    own = own_account(ctx)
    if own is None:
        return False
    for value in ctx.values(tuple(args["path"].split("."))):
        match = ARN_ACCOUNT.match(value) if isinstance(value, str) else None
        if match and match.group(1) != own:
            return True
    return False
