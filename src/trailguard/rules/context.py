"""What a condition sees: the record, plus the resolved actor under the `actor.` root."""

from __future__ import annotations

from typing import Any

from trailguard.actor import ACTOR_FIELDS, Actor, actor_of
from trailguard.model import Record
from trailguard.record import peek
from trailguard.rules.names import base_event_name

Path = tuple[str, ...]
ACTOR_ROOT = "actor"
_INDEXED_FIELDS = ("eventSource", "eventName", "errorCode")


class RecordContext:
    """One record under evaluation, shared by every pack.

    It reads what the rule indexes key on once (source, name, outcome); the actor is
    resolved only if a rule asks for it.
    """

    __slots__ = (
        "_actor",
        "_values",
        "event_name",
        "failed",
        "held",
        "raw_name",
        "record",
        "source",
    )

    def __init__(self, record: Record) -> None:
        self.record = record
        source, name, error = peek(record, _INDEXED_FIELDS)
        self.source: str | None = source if isinstance(source, str) else None
        """eventSource if it is text (a malformed record may hold a list there)."""
        self.raw_name: str | None = name if isinstance(name, str) else None
        self.event_name = base_event_name(name) if isinstance(name, str) else ""
        """eventName without an API-version suffix, or "" if it is not text."""
        self.failed = bool(error)
        """The call failed: it has an errorCode."""
        self._actor: Actor | None = None
        self._values: dict[Path, list[Any]] | None = None
        """Values per path, read once per record however many rules ask."""
        self.held: dict[object, bool] | None = None
        """Verdicts of conditions that several rules share, made once per record."""

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = actor_of(self.record)
        return self._actor

    def values(self, path: Path) -> list[Any]:
        """Every value at `path`; lists met on the way are entered ("any element matches")."""
        cache = self._values
        if cache is None:
            cache = self._values = {}
        else:
            found = cache.get(path)
            if found is not None:
                return found
        if path[0] == ACTOR_ROOT and len(path) == 2:
            value = self.actor.get(path[1])
            found = [] if value is None else [value]
        else:
            head = self.record.get(path[0])
            found = [] if head is None else values_at(head, path[1:])
        cache[path] = found
        return found


def path_problem(label: str) -> str | None:
    """What is wrong with a dotted field path as a rule writes it, or None if it is usable."""
    parts = label.split(".")
    if any(not part for part in parts):
        return "a field path is dot-separated names, e.g. userIdentity.type"
    if parts[0] == ACTOR_ROOT and (len(parts) != 2 or parts[1] not in ACTOR_FIELDS):
        return f"the actor has the fields: {', '.join(f'actor.{f}' for f in ACTOR_FIELDS)}"
    return None


def values_at(root: Any, path: Path) -> list[Any]:
    """Every value at `path` below `root` (a list root: each element)."""
    value = root
    for part in path:  # the usual case first: objects all the way down
        if value.__class__ is not dict:
            break
        value = value.get(part)
        if value is None:
            return []
    else:
        return _flatten([value]) if value.__class__ is list else [value]
    return _values_through_lists(root, path)


def _values_through_lists(root: Any, path: Path) -> list[Any]:
    current: list[Any] = _flatten([root])
    for part in path:
        found: list[Any] = []
        for value in current:
            if isinstance(value, dict):
                child = value.get(part)
                if child is not None:
                    found.append(child)
        current = _flatten(found)
        if not current:
            return current
    return current


def _flatten(values: list[Any]) -> list[Any]:
    if not any(isinstance(v, list) for v in values):
        return values
    flat: list[Any] = []
    stack = list(reversed(values))
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(reversed(value))
        elif value is not None:
            flat.append(value)
    return flat
