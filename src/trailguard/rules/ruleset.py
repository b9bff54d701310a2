"""A pack of detection rules, indexed so a record meets only the rules that can match it.

Rules are filed under (event source, event name), event name, event source, or nowhere
(conditions only). A record looks in four dictionaries, so cost follows the rules that
apply to its event, not the number of rules loaded. For each kind of event met, each
candidate's condition is also reduced by what the kind fixes (its eventSource and
eventName), so tests those decide are made once per kind, not once per record, and a rule
they rule out is no candidate at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from trailguard.engine import PackErrors
from trailguard.model import Finding, Place, Record
from trailguard.rules.conditions import Condition
from trailguard.rules.context import RecordContext
from trailguard.rules.rule import Rule

_EMPTY: tuple[Rule, ...] = ()
Candidate = tuple[Rule, Condition | None]
"""A rule that can match a kind of event, and what is left of its condition for that kind
(None: nothing left to test)."""
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
        self._candidates: dict[tuple[str | None, str | None, bool], tuple[Candidate, ...]] = {}

    def candidates(self, ctx: RecordContext) -> tuple[Candidate, ...]:
        """The rules whose event source, name and outcome allow this record, in load order,
        each with what is left of its condition once the source and name are known.

        Remembered per (source, name, outcome): a stream repeats a few hundred kinds of
        event, so most records cost one dictionary lookup here.
        """
        key = (ctx.source, ctx.raw_name, ctx.failed)
        found = self._candidates.get(key)
        if found is None:
            if len(self._candidates) >= CANDIDATES_LIMIT:
                self._candidates.clear()
            facts = {
                field: value
                for field, value in (("eventSource", ctx.source), ("eventName", ctx.raw_name))
                if value is not None
            }
            found = self._candidates[key] = tuple(
                candidate
                for rule in self.indexed(ctx)
                if rule.applies(ctx) and (candidate := _reduced(rule, facts)) is not None
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
        for rule, condition in candidates:  # source, name and outcome: already checked
            try:
                if condition is None or condition.test(ctx):
                    findings.append(finding_for(rule, ctx, place))
            except Exception as exc:  # reported per rule by the engine, with the record's place
                failures.append((rule.rule_id, exc))
        if failures:
            raise PackErrors(findings, failures)
        return findings


def _reduced(rule: Rule, facts: dict[str, str]) -> Candidate | None:
    """The rule with its condition reduced by `facts`; None if they rule it out."""
    condition = rule.condition
    if condition is None:
        return (rule, None)
    try:
        left = condition.given(facts)
    except Exception:  # a test that fails on these values fails per record, and is reported
        return (rule, condition)
    if left is False:
        return None
    return (rule, None if left is True else left)


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
