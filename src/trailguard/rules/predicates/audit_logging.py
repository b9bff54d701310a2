"""Predicates about audit logging itself: trail event selectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailguard.rules.context import RecordContext
from trailguard.rules.predicates import predicate


def _management_selected(advanced: list[Any]) -> bool:
    """Whether any advanced selector keeps management events (eventCategory = Management)."""
    for selector in advanced:
        fields = selector.get("fieldSelectors") if isinstance(selector, dict) else None
        for field in fields if isinstance(fields, list) else []:
            if (
                isinstance(field, dict)
                and field.get("field") == "eventCategory"
                and "Management" in (field.get("equals") or [])
            ):
                return True
    return False


@predicate("event_selectors_drop_management")
def event_selectors_drop_management(ctx: RecordContext, args: Mapping[str, Any]) -> bool:
    """PutEventSelectors leaves the trail without (write) management events."""
    params = ctx.record.get("requestParameters")
    if not isinstance(params, dict):
        return False
    advanced = params.get("advancedEventSelectors")
    if isinstance(advanced, list) and advanced:
        return not _management_selected(advanced)
    selectors = params.get("eventSelectors")
    if not isinstance(selectors, list) or not selectors:
        return False
    for selector in selectors:
        if not isinstance(selector, dict):
            continue
        if selector.get("includeManagementEvents", True) is not False and selector.get(
            "readWriteType", "All"
        ) in ("All", "WriteOnly"):
            return False  # some selector still records write management events
    return True
