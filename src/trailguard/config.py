"""The user's configuration: one YAML document, validated with messages that say what to fix.

    packs: {catalog: true, cis: true, threats: true}   # shipped packs, all on by default
    rule_folders: [./our-rules]                        # relative to this file
    rules:                                             # per-rule overrides
      threats.root_activity: {enabled: false}
      cis.cloudwatch_02_unauthorized_api_calls: {severity: low}
    allowlist:
      - reason: CI deploys from this role
        expires: 2027-06-30
        rules: [cis.*]
        actor_arn: arn:aws:iam::*:role/ci-deployer

docs/configuration.md describes every key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trailguard.allowlist import AllowEntry, Allowlist
from trailguard.model import Severity
from trailguard.rules.conditions import compile_condition
from trailguard.rules.errors import RuleLoadError, RuleSyntaxError
from trailguard.rules.loader import YAML_LOADER, read_yaml
from trailguard.rules.matchers import as_network
from trailguard.rules.names import base_event_name
from trailguard.sinks.spec import SinkSpec, parse_sinks
from trailguard.state.spec import StateSpec, parse_state

TOP_KEYS = ("packs", "rule_folders", "rules", "allowlist", "sinks", "state")
OVERRIDE_KEYS = ("enabled", "severity")
ALLOW_KEYS = (
    "reason",
    "expires",
    "rules",
    "actor_arn",
    "account",
    "region",
    "source_ip",
    "user_agent",
    "event_name",
    "where",
)


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        super().__init__(f"{source}: {key}: {problem}")


@dataclass(frozen=True, slots=True)
class RuleOverride:
    enabled: bool | None = None
    severity: Severity | None = None


@dataclass(slots=True)
class Config:
    source: str = "(defaults)"
    packs: dict[str, bool] = field(default_factory=dict)
    rule_folders: tuple[Path, ...] = ()
    overrides: dict[str, RuleOverride] = field(default_factory=dict)
    allowlist: Allowlist = field(default_factory=Allowlist)
    sinks: list[SinkSpec] = field(default_factory=list)
    state: StateSpec = field(default_factory=StateSpec)

    def pack_enabled(self, pack_id: str) -> bool:
        return self.packs.get(pack_id, True)

    def warnings(self, today: dt.date | None = None) -> list[str]:
        """Things that still work but need a human: expired allowlist entries."""
        day = today or dt.datetime.now(dt.UTC).date()
        return [
            f"{self.source}: {entry.label} expired on {entry.expires} and no longer applies "
            f"(reason was: {entry.reason}); renew or remove it"
            for entry in self.allowlist.expired(day)
        ]


class _WrittenInt(int):
    """An integer that remembers how YAML spelled it: unquoted, the account id `001234567012`
    reads as octal (175304202), and only the text gives the account back."""

    text = ""


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    number = _WrittenInt(loader.construct_yaml_int(node))
    number.text = str(node.value)
    return number


class _ConfigLoader(YAML_LOADER):  # type: ignore[valid-type,misc]
    pass


_ConfigLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_config(path: Path) -> Config:
    source = str(path)
    if not path.is_file():
        raise ConfigError(source, "(file)", "no such file; pass the path of a YAML configuration")
    try:
        data = read_yaml(path, _ConfigLoader)
    except RuleLoadError as exc:  # its message would name the file a second time
        raise ConfigError(source, "(file)", exc.problem) from None
    return config_from_data({} if data is None else data, source, path.parent)


def config_from_data(data: Any, source: str, base: Path) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(source, "(top level)", f"expected a mapping with: {', '.join(TOP_KEYS)}")
    unknown = [key for key in data if key not in TOP_KEYS]
    if unknown:
        raise ConfigError(source, str(unknown[0]), f"unknown key; allowed: {', '.join(TOP_KEYS)}")
    try:
        return Config(
            source=source,
            packs=_packs(data.get("packs")),
            rule_folders=tuple(base / folder for folder in _strings(data, "rule_folders")),
            overrides=_overrides(data.get("rules")),
            allowlist=Allowlist(tuple(_allow_entries(data.get("allowlist")))),
            sinks=parse_sinks(data.get("sinks")),
            state=parse_state(data.get("state")),
        )
    except RuleSyntaxError as exc:
        raise ConfigError(source, exc.field, exc.problem) from None


def _strings(data: dict[str, Any], key: str, parent: str = "") -> list[str]:
    """A string or list of strings at `key`; inside an allowlist entry (`parent`) the list
    must not be empty, since an empty criterion would narrow nothing and suppress everything."""
    value = data.get(key)
    if value is None:
        return []
    where = f"{parent}.{key}" if parent else key
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v for v in items):
        raise RuleSyntaxError(where, "expected a string or a list of strings")
    if parent and not items:
        raise RuleSyntaxError(where, "expected at least one value; leave the key out instead")
    return items


def _packs(value: Any) -> dict[str, bool]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
        raise RuleSyntaxError("packs", "expected a mapping of pack id to true or false")
    return {str(k): v for k, v in value.items()}


def _overrides(value: Any) -> dict[str, RuleOverride]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RuleSyntaxError("rules", "expected a mapping of rule id to {enabled, severity}")
    overrides: dict[str, RuleOverride] = {}
    for rule_id, spec in value.items():
        where = f"rules.{rule_id}"
        if not isinstance(spec, dict) or not spec or set(spec) - set(OVERRIDE_KEYS):
            raise RuleSyntaxError(
                where, f"expected a mapping with {' and/or '.join(OVERRIDE_KEYS)}"
            )
        enabled = spec.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise RuleSyntaxError(f"{where}.enabled", "expected true or false")
        severity = None
        if "severity" in spec:
            try:
                severity = Severity.parse(spec["severity"])
            except ValueError as exc:
                raise RuleSyntaxError(f"{where}.severity", str(exc)) from None
        overrides[str(rule_id)] = RuleOverride(enabled, severity)
    return overrides


def _allow_entries(value: Any) -> list[AllowEntry]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RuleSyntaxError("allowlist", "expected a list of entries, each with a `reason`")
    entries = []
    for index, spec in enumerate(value):
        where = f"allowlist[{index}]"
        if not isinstance(spec, dict):
            raise RuleSyntaxError(where, "expected a mapping")
        unknown = [key for key in spec if key not in ALLOW_KEYS]
        if unknown:
            raise RuleSyntaxError(
                f"{where}.{unknown[0]}", f"unknown key; allowed: {', '.join(ALLOW_KEYS)}"
            )
        reason = spec.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise RuleSyntaxError(f"{where}.reason", "required: say why this is expected")
        criteria = [key for key in ALLOW_KEYS if key not in ("reason", "expires") and key in spec]
        if not criteria:
            raise RuleSyntaxError(where, "an entry needs at least one criterion besides `reason`")
        entries.append(
            AllowEntry(
                label=where,
                reason=reason.strip(),
                expires=_date(spec.get("expires"), f"{where}.expires"),
                rules=tuple(_strings(spec, "rules", where)),
                actor_arns=tuple(_strings(spec, "actor_arn", where)),
                accounts=frozenset(str(a) for a in _strings_or_numbers(spec, "account", where)),
                regions=frozenset(_strings(spec, "region", where)),
                source_ips=tuple(
                    _networks(_strings(spec, "source_ip", where), f"{where}.source_ip")
                ),
                user_agents=tuple(_strings(spec, "user_agent", where)),
                event_names=frozenset(
                    base_event_name(n) for n in _strings(spec, "event_name", where)
                ),
                condition=compile_condition(spec["where"], f"{where}.where")
                if "where" in spec
                else None,
            )
        )
    return entries


def _strings_or_numbers(spec: dict[str, Any], key: str, where: str) -> list[str]:
    """Account ids written unquoted in YAML arrive as numbers; take them back as text."""
    value = spec.get(key)
    items = [] if value is None else value if isinstance(value, list) else [value]
    if value is not None and not items:
        raise RuleSyntaxError(f"{where}.{key}", "expected at least one account id")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise RuleSyntaxError(f"{where}.{key}", "expected account ids")
        if isinstance(item, int):
            text = item.text if isinstance(item, _WrittenInt) else ""
            item = (text if text.isdigit() else str(item)).zfill(12)
        out.append(item)
    return out


def _networks(texts: list[str], where: str) -> list[Any]:
    networks = []
    for text in texts:
        network = as_network(text)
        if network is None:
            raise RuleSyntaxError(where, f"{text!r} is not an IP address or CIDR block")
        networks.append(network)
    return networks


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RuleSyntaxError(where, f"{value!r}: expected a date such as 2027-06-30") from None
