"""Sink configuration: `sinks:` entries, checked at load with errors that name the key.

    sinks:
      - {type: log}
      - {type: sns, topic_arn: arn:aws:sns:...:alerts, min_severity: high}
      - {type: slack, webhook_url_secret: "secretsmanager:trailguard/slack", min_severity: medium}

Every entry takes `type`, optional `name` (defaults to the type), `min_severity`, `rules`
(rule-id globs) and `tags`; the rest belongs to the type (docs/configuration.md).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from trailguard.model import Severity
from trailguard.rules.errors import RuleSyntaxError

SINK_MODULES = {
    "log": "trailguard.sinks.log",
    "file": "trailguard.sinks.file",
    "sns": "trailguard.sinks.sns",
    "slack": "trailguard.sinks.slack",
    "securityhub": "trailguard.sinks.securityhub",
    "webhook": "trailguard.sinks.webhook",
}
COMMON_KEYS = ("type", "name", "min_severity", "rules", "tags")


@dataclass(frozen=True, slots=True)
class SinkSpec:
    kind: str
    name: str
    where: str
    min_severity: Severity = Severity.INFO
    rules: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, key: str, kind: type | tuple[type, ...] = str, required: bool = True) -> Any:
        """A type-specific option, checked; errors name `sinks[i].key`."""
        value = self.options.get(key)
        if value is None:
            if required:
                raise RuleSyntaxError(f"{self.where}.{key}", f"required for a {self.kind} sink")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise RuleSyntaxError(f"{self.where}.{key}", f"wrong type {type(value).__name__}")
        return value


def sink_module(type_name: str) -> Any:
    """The module of a sink type; imported only when a config names the type."""
    return importlib.import_module(SINK_MODULES[type_name])


def parse_sinks(value: Any) -> list[SinkSpec]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RuleSyntaxError("sinks", "expected a list such as [{type: log}, {type: sns, ...}]")
    specs: list[SinkSpec] = []
    names: set[str] = set()
    for index, entry in enumerate(value):
        where = f"sinks[{index}]"
        if not isinstance(entry, dict):
            raise RuleSyntaxError(where, "expected a mapping with `type`")
        kind = entry.get("type")
        if kind not in SINK_MODULES:
            raise RuleSyntaxError(
                f"{where}.type", f"{kind!r}: use one of {', '.join(SINK_MODULES)}"
            )
        allowed = (*COMMON_KEYS, *sink_module(kind).OPTIONS)
        unknown = [key for key in entry if key not in allowed]
        if unknown:
            raise RuleSyntaxError(
                f"{where}.{unknown[0]}",
                f"unknown key for a {kind} sink; allowed: {', '.join(allowed)}",
            )
        name = entry.get("name", kind)
        if not isinstance(name, str) or not name or name in names:
            raise RuleSyntaxError(f"{where}.name", "give each sink a distinct `name`")
        names.add(name)
        try:
            min_severity = Severity.parse(entry.get("min_severity", "info"))
        except ValueError as exc:
            raise RuleSyntaxError(f"{where}.min_severity", str(exc)) from None
        spec = SinkSpec(
            kind=kind,
            name=name,
            where=where,
            min_severity=min_severity,
            rules=tuple(_strings(entry.get("rules"), f"{where}.rules")),
            tags=frozenset(_strings(entry.get("tags"), f"{where}.tags")),
            options={k: v for k, v in entry.items() if k not in COMMON_KEYS},
        )
        sink_module(kind).validate(spec)
        specs.append(spec)
    return specs


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise RuleSyntaxError(where, "expected a string or a non-empty list of strings")
    return items
