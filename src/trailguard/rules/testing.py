"""Run the tests rules carry inline: each in a fresh detector holding only that rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from trailguard.engine import Engine
from trailguard.model import Place, SourcedRecord
from trailguard.pipeline import Detector
from trailguard.rules.rule import Rule, RuleTest
from trailguard.rules.ruleset import RuleSet
from trailguard.tally import InputTally


@dataclass(frozen=True, slots=True)
class TestOutcome:
    rule_id: str
    test_name: str
    passed: bool
    problem: str = ""
    source: str = ""


def run_test(rule: Rule, test: RuleTest) -> TestOutcome:
    enabled = replace(rule, enabled=True)  # disabled rules are still tested
    detector = Detector(Engine([RuleSet(rule.rule_id, [enabled])]))
    place = Place(f"{rule.source} test {test.name!r}")
    items = [
        SourcedRecord(record, place.child(f"records[{i}]")) for i, record in enumerate(test.records)
    ]
    tally = InputTally()
    findings = [f for f in detector.run(items, tally) if f.rule_id == rule.rule_id]
    problem = ""
    if tally.errors:  # the rule raised on a record: never a pass, whatever was expected
        problem = "; ".join(error.message() for error in tally.errors)
    elif test.expect_match and not findings:
        problem = "expected a match, got none"
    elif not test.expect_match and findings:
        problem = f"expected no match, got {len(findings)}"
    elif test.count is not None and len(findings) != test.count:
        problem = f"expected {test.count} finding(s), got {len(findings)}"
    elif test.severity is not None and findings and findings[-1].severity != test.severity:
        problem = f"expected severity {test.severity.label}, got {findings[-1].severity.label}"
    return TestOutcome(rule.rule_id, test.name, not problem, problem, rule.source)


def run_tests(rules: Iterable[Rule]) -> list[TestOutcome]:
    outcomes: list[TestOutcome] = []
    for rule in rules:
        if not rule.tests:
            outcomes.append(
                TestOutcome(rule.rule_id, "(none)", False, "the rule has no tests", rule.source)
            )
            continue
        has_positive = any(t.expect_match for t in rule.tests)
        has_negative = any(not t.expect_match for t in rule.tests)
        if not (has_positive and has_negative):
            missing = "a `match`" if not has_positive else "a `no_match`"
            outcomes.append(
                TestOutcome(rule.rule_id, "(coverage)", False, f"needs {missing} test", rule.source)
            )
        outcomes += [run_test(rule, test) for test in rule.tests]
    return outcomes
