"""Times as CloudTrail writes them, read once, the same way everywhere."""

from __future__ import annotations

import datetime as dt
from typing import Any


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time (`2024-07-31T13:06:24Z`) as an aware UTC datetime; a time without
    a zone is taken as UTC. Anything else is None, never an error."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


_EPOCHS: dict[str, float | None] = {}
EPOCHS_LIMIT = 4096


def epoch_seconds(value: Any) -> float | None:
    """`parse_time(value)` in epoch seconds. CloudTrail times have one-second resolution, so
    a batch repeats them: each text is parsed once."""
    if not isinstance(value, str):
        return None
    try:
        return _EPOCHS[value]
    except KeyError:
        pass
    moment = parse_time(value)
    if len(_EPOCHS) >= EPOCHS_LIMIT:
        _EPOCHS.clear()
    epoch = _EPOCHS[value] = None if moment is None else moment.timestamp()
    return epoch
