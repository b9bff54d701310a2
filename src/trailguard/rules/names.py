"""Event-name helpers shared by every rule pack."""

from __future__ import annotations

import re

_API_VERSION_SUFFIX = re.compile(r"\d{8}(?:v\d+)?$")


def base_event_name(name: str) -> str:
    """Drop an API-version suffix: `UpdateFunctionCode20150331v2` -> `UpdateFunctionCode`.

    Lambda records its API version in the event name; rules name the operation. Every such
    suffix ends in a digit, so most names skip the regex.
    """
    if not name or not name[-1].isdigit():
        return name
    return _API_VERSION_SUFFIX.sub("", name)
