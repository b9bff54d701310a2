"""The seed's catalogue as a pack: whitelist, then deletion, then unknown service, then severity.

Each non-whitelisted record gets exactly one finding. The seed's defects are fixed here
(docs/catalogue.md): anchored deletion prefixes, `low` for unnamed events of known services,
`signin.amazonaws.com` known, and whitelisting that skips only the record itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trailguard.model import Finding, Place, Record, Severity
from trailguard.rules.context import RecordContext
from trailguard.rules.errors import RuleLoadError
from trailguard.rules.names import base_event_name

RULE_DELETION = "catalog.deletion"
RULE_UNLISTED_SERVICE = "catalog.unlisted_service"
RULE_CHANGE = "catalog.change"
KIND = "catalog"
VERDICTS_LIMIT = 8192
"""Kinds of event whose verdict is remembered (bounded against crafted names)."""
Verdict = tuple[str, Severity, str]
"""A finding's rule id, severity and title."""


@dataclass(frozen=True, slots=True)
class CatalogPack:
    """The catalogue's data, checked and ready for per-record evaluation."""

    pack_id: str
    known_services: frozenset[str]
    whitelisted_sources: frozenset[str]
    whitelisted_names: frozenset[str]
    deletion_prefixes: tuple[str, ...]
    deletion_severity: Severity
    unlisted_service_severity: Severity
    unnamed_event_severity: Severity
    events: Mapping[str, Severity]

    _verdicts: dict[tuple[str | None, str | None], Verdict | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def evaluate(self, record: Record, place: Place) -> list[Finding]:
        return self.evaluate_context(RecordContext(record), place)

    def evaluate_context(self, ctx: RecordContext, place: Place) -> list[Finding]:
        """The seed's decision for one record: it depends on the event source and name alone,
        so it is made once per kind of event and remembered."""
        key = (ctx.source, ctx.raw_name)
        try:
            verdict = self._verdicts[key]
        except KeyError:
            if len(self._verdicts) >= VERDICTS_LIMIT:
                self._verdicts.clear()
            verdict = self._verdicts[key] = self.decide(ctx.source, ctx.raw_name)
        if verdict is None:
            return []
        rule_id, severity, title = verdict
        return [Finding(rule_id, severity, title, ctx.record, place)]

    def decide(self, source: str | None, raw_name: str | None) -> Verdict | None:
        """Whitelist, then deletion, then unknown service, then the catalogue's severity."""
        name = base_event_name(raw_name) if raw_name is not None else ""
        if source in self.whitelisted_sources or name in self.whitelisted_names:
            return None
        shown = raw_name if raw_name is not None else "(no event name)"
        if name.startswith(self.deletion_prefixes):
            return (
                RULE_DELETION,
                self.deletion_severity,
                f"{shown}: a resource was deleted, revoked or removed",
            )
        if source not in self.known_services:
            return (
                RULE_UNLISTED_SERVICE,
                self.unlisted_service_severity,
                f"{shown} in {source or '(no event source)'}, a service outside the catalogue",
            )
        severity = self.events.get(name)
        if severity is None:
            return (
                RULE_CHANGE,
                self.unnamed_event_severity,
                f"{shown}: a {source} event the catalogue does not name",
            )
        return RULE_CHANGE, severity, f"{shown}: {severity.label}-severity event in the catalogue"


def load_catalog(path: Path) -> CatalogPack:
    """Read and check a catalogue pack file."""
    source = str(path)
    # libyaml's loader when PyYAML was built with it; PyYAML without libyaml has no CSafeLoader.
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as exc:
        raise RuleLoadError(source, "(file)", f"cannot read YAML: {exc}") from None
    return catalog_from_data(data, source)


def catalog_from_data(data: Any, source: str) -> CatalogPack:
    """Build a catalogue from parsed YAML, naming the field at fault if it is malformed."""
    if not isinstance(data, dict):
        raise RuleLoadError(source, "(top level)", "expected a mapping of catalogue fields")
    if data.get("kind") != KIND:
        raise RuleLoadError(source, "kind", f"expected {KIND!r}, found {data.get('kind')!r}")
    whitelist = _mapping(data, "whitelist", source)
    deletion = _mapping(data, "deletion", source)
    events = _mapping(data, "events", source)
    return CatalogPack(
        pack_id=_string(data, "id", source),
        known_services=frozenset(_strings(data, "known_services", source)),
        whitelisted_sources=frozenset(_strings(whitelist, "event_sources", source, "whitelist.")),
        whitelisted_names=frozenset(_strings(whitelist, "event_names", source, "whitelist.")),
        deletion_prefixes=_deletion_prefixes(_strings(deletion, "prefixes", source, "deletion.")),
        deletion_severity=_severity(deletion.get("severity"), source, "deletion.severity"),
        unlisted_service_severity=_severity(
            data.get("unlisted_service_severity"), source, "unlisted_service_severity"
        ),
        unnamed_event_severity=_severity(
            data.get("unnamed_event_severity"), source, "unnamed_event_severity"
        ),
        events={
            str(name): _severity(value, source, f"events.{name}") for name, value in events.items()
        },
    )


def _deletion_prefixes(prefixes: list[str]) -> tuple[str, ...]:
    """Each prefix with either case of its first letter (the seed meant `[Dd]elete`)."""
    variants: list[str] = []
    for prefix in prefixes:
        variants += [prefix[:1].upper() + prefix[1:], prefix[:1].lower() + prefix[1:]]
    return tuple(dict.fromkeys(variants))


def _mapping(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        raise RuleLoadError(source, key, "missing; expected a mapping (see docs/catalogue.md)")
    if not isinstance(value, dict):
        raise RuleLoadError(source, key, f"expected a mapping, found {type(value).__name__}")
    return value


def _string(data: dict[str, Any], key: str, source: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise RuleLoadError(source, key, "expected a non-empty string")
    return value


def _strings(data: dict[str, Any], key: str, source: str, prefix: str = "") -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleLoadError(source, prefix + key, "expected a list of non-empty strings")
    return value


def _severity(value: Any, source: str, field: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise RuleLoadError(source, field, str(exc)) from None
