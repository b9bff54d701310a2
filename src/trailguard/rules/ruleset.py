"""A pack of detection rules, indexed so a record meets only the rules that can match it.

Rules are filed under (event source, event name), event name, event source, or nowhere
(conditions only). A record looks in four dictionaries, so cost follows the rules that
apply to its event, not the number of rules loaded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from trailguard.engine import PackErrors
from trailguard.model import Finding, Place, Record
from trailguard.rules.context import RecordContext
from trailguard.rules.rule import Rule

_EMPTY: tuple[Rule, ...] = ()
CANDIDATES_LIMIT = 8192
"""Kinds of event whose candidate rules are remembered (bounded against crafted names)."""


class RuleSet:
    def __init__(self, pack_id: str, rules: Iterable[Rule]) -> None:
        self.pack_id = pack_id
        self.rules = tuple(rule for rule in rules if rule.enabled)
        by_pair: defaultdict[tuple[str, str], list[Rule]] = defaultdict(list)
        by_name: defaultdict[str, list[Rule]] = defaultdict(list)
        by_source: defaultdict[str, list[Rule]] = defaultdict(list)
        unindexed: list[Rule] = []
        for rule in self.rules:
            if rule.event_names and rule.event_sources:
                for source in rule.event_sources:
                    for name in rule.event_names:
                        by_pair[(source, name)].append(rule)
            elif rule.event_names:
                for name in rule.event_names:
                    by_name[name].append(rule)
            elif rule.event_sources:
                for source in rule.event_sources:
                    by_source[source].append(rule)
            else:
                unindexed.append(rule)
        self._by_pair = {key: tuple(value) for key, value in by_pair.items()}
        self._by_name = {key: tuple(value) for key, value in by_name.items()}
        self._by_source = {key: tuple(value) for key, value in by_source.items()}
        self._unindexed = tuple(unindexed)
        # Position in this set, not `Rule.ordinal`: rules built one by one all have ordinal 0.
        self._position = {id(rule): index for index, rule in enumerate(self.rules)}
        self._candidates: dict[tuple[str | None, str, bool], tuple[Rule, ...]] = {}

    def candidates(self, ctx: RecordContext) -> tuple[Rule, ...]:
        """The rules whose event source, name and outcome allow this record, in load order.

        Remembered per (source, name, outcome): a stream repeats a few hundred kinds of
        event, so most records cost one dictionary lookup here.
        """
        key = (ctx.source, ctx.event_name, ctx.failed)
        found = self._candidates.get(key)
        if found is None:
            if len(self._candidates) >= CANDIDATES_LIMIT:
                self._candidates.clear()
            found = self._candidates[key] = tuple(
                rule for rule in self.indexed(ctx) if rule.applies(ctx)
            )
        return found

    def indexed(self, ctx: RecordContext) -> tuple[Rule, ...]:
        """The rules filed under this record's event source and name, in load order."""
        source = ctx.source or ""
        name = ctx.event_name
        groups = [
            group
            for group in (
                self._by_pair.get((source, name), _EMPTY),
                self._by_name.get(name, _EMPTY),
                self._by_source.get(source, _EMPTY),
                self._unindexed,
            )
            if group
        ]
        if len(groups) == 1:
            return groups[0]
        if not groups:
            return _EMPTY
        position = self._position
        return tuple(sorted((r for g in groups for r in g), key=lambda r: position[id(r)]))

    def evaluate(self, record: Record, place: Place) -> list[Finding]:
        return self.evaluate_context(RecordContext(record), place)

    def evaluate_context(self, ctx: RecordContext, place: Place) -> list[Finding]:
        """Findings of every candidate rule; a rule that raises is isolated (PackErrors), so a
        crafted record cannot blind the rest of the pack."""
        candidates = self.candidates(ctx)
        if not candidates:
            return []
        findings: list[Finding] = []
        failures: list[tuple[str, Exception]] = []
        for rule in candidates:
            try:
                condition = rule.condition  # source, name and outcome: checked by `candidates`
                if condition is None or condition.test(ctx):
                    findings.append(finding_for(rule, ctx, place))
            except Exception as exc:  # reported per rule by the engine, with the record's place
                failures.append((rule.rule_id, exc))
        if failures:
            raise PackErrors(findings, failures)
        return findings


def finding_for(rule: Rule, ctx: RecordContext, place: Place) -> Finding:
    evidence = rule.evidence(ctx)
    return Finding(
        rule_id=rule.rule_id,
        severity=rule.severity_for(ctx),
        title=rule.title_for(ctx),
        record=ctx.record,
        place=place,
        description=rule.description,
        references=rule.reference_labels,
        tags=rule.tags,
        runbook=rule.runbook,
        context={"matched": evidence} if evidence else None,
        threshold=rule.threshold,
    )
