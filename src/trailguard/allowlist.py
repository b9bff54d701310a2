"""Allowlists: suppress findings an operator has judged expected, always with a reason.

Each entry narrows by rule, actor ARN, account, region, source IP, user agent, event name or
any rule condition; every criterion given must hold. An entry past its `expires` date stops
applying, and loading the configuration warns about it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from trailguard.model import Finding
from trailguard.rules.conditions import Condition
from trailguard.rules.context import RecordContext
from trailguard.rules.matchers import IPNetwork, address_in_networks


@dataclass(frozen=True, slots=True)
class AllowEntry:
    label: str
    reason: str
    expires: dt.date | None = None
    rules: tuple[str, ...] = ()
    actor_arns: tuple[str, ...] = ()
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    source_ips: tuple[IPNetwork, ...] = ()
    user_agents: tuple[str, ...] = ()
    event_names: frozenset[str] = frozenset()
    condition: Condition | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def covers(self, finding: Finding, ctx: RecordContext) -> bool:
        record = finding.record
        if self.rules and not any(fnmatchcase(finding.rule_id, g) for g in self.rules):
            return False
        if self.actor_arns and not _any_glob(_actor_arns(ctx), self.actor_arns):
            return False
        if self.accounts and _text(record.get("recipientAccountId")) not in self.accounts:
            return False
        if self.regions and _text(record.get("awsRegion")) not in self.regions:
            return False
        if self.source_ips and not address_in_networks(
            record.get("sourceIPAddress"), self.source_ips
        ):
            return False
        if self.user_agents and not _any_glob([record.get("userAgent")], self.user_agents):
            return False
        if self.event_names and ctx.event_name not in self.event_names:
            return False
        return self.condition is None or self.condition.test(ctx)


def _text(value: Any) -> str | None:
    """A field's value if it is text (a malformed record may hold a list or mapping there)."""
    return value if isinstance(value, str) else None


def _actor_arns(ctx: RecordContext) -> list[Any]:
    """The session ARN and the role behind it: allowlists usually name the role."""
    actor = ctx.actor
    return [actor.get("arn"), actor.get("role"), actor.get("issuer")]


def _any_glob(values: list[Any], patterns: tuple[str, ...]) -> bool:
    return any(isinstance(v, str) and any(fnmatchcase(v, p) for p in patterns) for v in values)


@dataclass(slots=True)
class Allowlist:
    entries: tuple[AllowEntry, ...] = ()

    def expired(self, today: dt.date) -> list[AllowEntry]:
        return [entry for entry in self.entries if entry.expired(today)]

    def match(self, finding: Finding, ctx: RecordContext, today: dt.date) -> AllowEntry | None:
        """The first unexpired entry that covers the finding (checked per finding, so a
        long-lived Lambda container stops applying an entry the day it expires)."""
        for entry in self.entries:
            if not entry.expired(today) and entry.covers(finding, ctx):
                return entry
        return None
