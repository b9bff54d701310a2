"""The detector: records through the packs, then overrides, allowlists, dedup and thresholds.

This is the whole path from records to findings that every front door uses (CLI, Lambda,
backfill), so the same records give the same alerts everywhere.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from msgspec.structs import replace

from trailguard.alerts import alert_id
from trailguard.allowlist import Allowlist
from trailguard.config import Config
from trailguard.engine import Engine
from trailguard.model import Finding, SourcedRecord, Threshold
from trailguard.rules.context import RecordContext
from trailguard.state import StateStore
from trailguard.state.memory import MemoryStore
from trailguard.tally import InputTally
from trailguard.times import epoch_seconds

Clock = Callable[[], dt.datetime]
DEDUP_TTL_SECONDS = 7 * 86400
"""How long a (rule, event) pair is remembered: longer than AWS retries and SQS redrives."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Detector:
    def __init__(
        self,
        engine: Engine,
        config: Config | None = None,
        store: StateStore | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self.engine = engine
        self.config = config or Config()
        self.store: StateStore = store if store is not None else MemoryStore()
        self.clock = clock
        self._now: Callable[[], float] = (
            time.time if clock is _utc_now else lambda: self.clock().timestamp()
        )
        """Now in epoch seconds: `clock`, without making a datetime when it is the real one."""
        self.disabled = frozenset(
            rule_id for rule_id, o in self.config.overrides.items() if o.enabled is False
        )
        self.severities = {
            rule_id: o.severity for rule_id, o in self.config.overrides.items() if o.severity
        }
        self.allowlist: Allowlist = self.config.allowlist
        self.suppressed: Counter[str] = Counter()
        self.below_threshold = 0
        self.duplicates = 0
        self._pending: dict[str, float | dict[str, float]] = {}
        """Per alert id: the keys to remember (with their expiry) once the alert is delivered."""
        self._pending_keys: dict[str, float] = {}

    def run(self, items: Iterable[SourcedRecord], tally: InputTally) -> Iterator[Finding]:
        evaluate, screen, admit = self.engine.evaluate, self.screen, self.admit
        screens = bool(self.disabled or self.severities or self.allowlist.entries)
        for item in items:
            for finding in evaluate(item, tally):
                screened = screen(finding) if screens else finding  # nothing to screen by
                if screened is not None:
                    admitted = admit(screened)
                    if admitted is not None:
                        yield admitted

    def screen(self, finding: Finding) -> Finding | None:
        """The stateless stage: disabled rules, severity overrides, allowlists.

        It needs nothing but the finding, so parallel workers may run it; `admit` must then
        see their findings in input order.
        """
        if finding.rule_id in self.disabled:
            return None
        severity = self.severities.get(finding.rule_id)
        if severity is not None:
            finding = replace(finding, severity=severity)
        if self.allowlist.entries:
            today = self.clock().date()  # per finding: a long run crosses midnight
            entry = self.allowlist.match(finding, RecordContext(finding.record), today)
            if entry is not None:
                self.suppressed[f"{entry.label} ({entry.reason})"] += 1
                return None
        return finding

    def admit(self, finding: Finding) -> Finding | None:
        """The stateful stage, in input order: dedup, then thresholds. None: not an alert."""
        key = dedup_key(finding)
        if finding.threshold is None:
            return finding if self.admit_id(key) else None
        now = self._now()
        if self._pending_keys.get(key, 0.0) > now or self.store.seen(key, now):
            self.duplicates += 1  # this rule already reported this very event
            return None
        keys = {key: now + DEDUP_TTL_SECONDS}
        crossed = self._threshold(finding, finding.threshold, key)
        if crossed is None:
            self.below_threshold += 1
            return None
        finding, cooldown = crossed
        keys.update(cooldown)
        self._pending[key] = keys
        self._pending_keys.update(keys)
        return finding

    def admit_id(self, key: str) -> bool:
        """`admit` for a finding without a threshold, known by its alert id alone.

        Parallel scans build such alerts in their workers and send the parent only the id;
        False: a duplicate (counted).
        """
        now = self._now()
        if self._pending_keys.get(key, 0.0) > now or self.store.seen(key, now):
            self.duplicates += 1  # this rule already reported this very event
            return False
        expiry = now + DEDUP_TTL_SECONDS
        self._pending[key] = expiry  # its own key alone (a threshold alert: a dict of keys)
        self._pending_keys[key] = expiry
        return True

    def commit(self, alert_ids: Iterable[str] | None = None) -> None:
        """Remember delivered alerts (all pending ones if None): their redeliveries are dropped.

        Call it only once alerts were delivered; what is not committed alerts again when AWS
        retries the batch, so a failed delivery loses nothing.
        """
        ids = list(self._pending) if alert_ids is None else list(alert_ids)
        expiries: dict[str, float] = {}
        pending = self._pending
        for alert in ids:
            keys = pending.pop(alert, None)
            if isinstance(keys, float):
                expiries[alert] = keys
            elif keys is not None:
                expiries.update(keys)
        if expiries:
            self.store.remember(expiries)
        for key in expiries:
            self._pending_keys.pop(key, None)

    def discard(self) -> None:
        """Forget what was not delivered, so the retried batch alerts again."""
        self._pending.clear()
        self._pending_keys.clear()

    def _threshold(
        self, finding: Finding, threshold: Threshold, event_key: str
    ) -> tuple[Finding, dict[str, float]] | None:
        """The finding that completes a burst, with its cooldown key; None below the count."""
        ctx = RecordContext(finding.record)
        group = {path: _first(ctx.values(tuple(path.split(".")))) for path in threshold.group_by}
        key = "\x1f".join([finding.rule_id, *(str(v) for v in group.values())])
        at = event_epoch(finding.record)
        if at is None:
            at = self.clock().timestamp()
        count = self.store.window_hit(
            key, at, threshold.window_seconds, threshold.count, event_key=event_key
        )
        if count is None:
            return None
        # One alert per group per window: a burst of 30 with a threshold of 10 is one burst.
        cooldown = f"cooldown\x1f{key}"
        if self._pending_keys.get(cooldown, float("-inf")) > at or self.store.seen(cooldown, at):
            return None
        context = dict(finding.context or {})
        context["threshold"] = {
            "count": count,
            "window_seconds": threshold.window_seconds,
            "group": group,
        }
        title = f"{finding.title} ({count} in {_duration(threshold.window_seconds)})"
        return replace(finding, title=title, context=context), {
            cooldown: at + threshold.window_seconds
        }

    def stats(self) -> dict[str, Any]:
        return {
            "suppressed": sum(self.suppressed.values()),
            "suppressed_by_entry": dict(sorted(self.suppressed.items())),
            "below_threshold": self.below_threshold,
            "duplicates": self.duplicates,
            "windows_dropped": (
                self.store.windows_dropped if isinstance(self.store, MemoryStore) else 0
            ),
        }


def _first(values: list[Any]) -> Any:
    return values[0] if values else None


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def dedup_key(finding: Finding) -> str:
    """What a finding is remembered by: its alert's id (this rule, this event)."""
    return alert_id(finding.rule_id, finding.record.get("eventID"), finding.record)


def event_epoch(record: Mapping[str, Any]) -> float | None:
    """The record's eventTime in epoch seconds, so windows follow event time (backfills too)."""
    return epoch_seconds(record.get("eventTime"))


def build_detector(config: Config | None = None, store: StateStore | None = None) -> Detector:
    """The packs the configuration enables, wrapped with its overrides and allowlist."""
    from trailguard.rules.packs import load_packs

    config = config or Config()
    loaded = load_packs(config)
    return Detector(Engine(loaded.packs), config, store)
