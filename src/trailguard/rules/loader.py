"""Read rule files: one rule per YAML mapping, or `rules: [...]`; every error says where.

Unknown keys are errors (a typo must not silently disable a condition), and each message
names the file, the rule, the field, and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from trailguard.model import Record, Severity, Threshold
from trailguard.rules.conditions import compile_condition
from trailguard.rules.context import path_problem
from trailguard.rules.errors import RuleLoadError, RuleSyntaxError
from trailguard.rules.names import base_event_name
from trailguard.rules.rule import REFERENCE_LABELS, Rule, RuleTest, SeverityCase

RULE_KEYS = (
    "id",
    "title",
    "description",
    "severity",
    "severity_when",
    "references",
    "runbook",
    "tags",
    "enabled",
    "match",
    "threshold",
    "tests",
)
MATCH_KEYS = ("event_source", "event_name", "outcome", "where")
THRESHOLD_KEYS = ("count", "window", "group_by")
TEST_KEYS = ("name", "expect", "severity", "count", "repeat", "record", "records")
OUTCOMES = ("success", "failure", "any")
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)+$")
DURATION = re.compile(r"^(\d+)\s*([smhd])$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RULE_SUFFIXES = (".yaml", ".yml")

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader
YAML_LOADER = _Loader
"""The fastest safe YAML loader available (libyaml's when PyYAML has it)."""


def read_yaml(path: Path, loader: type[yaml.SafeLoader] = _Loader) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleLoadError(str(path), "(file)", f"cannot read: {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date such as 2027-02-30
        raise RuleLoadError(str(path), "(file)", f"invalid YAML: {exc}") from None


def rule_files(folder: Path) -> Iterator[Path]:
    """YAML files under `folder`, sorted, so rule order (and finding order) is stable."""
    for path in sorted(folder.rglob("*")):
        if path.suffix in RULE_SUFFIXES and path.is_file():
            yield path


def load_rules(path: Path, first_ordinal: int = 0) -> list[Rule]:
    """Rules from a file or a folder of files."""
    if not path.exists():
        raise RuleLoadError(str(path), "(path)", "no such file or folder")
    files = list(rule_files(path)) if path.is_dir() else [path]
    rules: list[Rule] = []
    for file in files:
        data = read_yaml(file)
        for data_rule in _rule_documents(data, str(file)):
            rules.append(rule_from_data(data_rule, str(file), first_ordinal + len(rules)))
    return rules


def _rule_documents(data: Any, source: str) -> list[dict[str, Any]]:
    if isinstance(data, dict) and "rules" in data and "id" not in data:
        items = data["rules"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise RuleLoadError(source, "rules", "expected a list of rule mappings")
        return items
    if isinstance(data, dict):
        return [data]
    raise RuleLoadError(source, "(top level)", "expected a rule mapping, or `rules:` with a list")


def rule_from_data(data: dict[str, Any], source: str, ordinal: int = 0) -> Rule:
    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise RuleLoadError(
            source,
            "id",
            f"{rule_id!r}: expected `pack.name` in lower case, e.g. threats.root_login",
        )
    try:
        return _build(data, rule_id, source, ordinal)
    except RuleSyntaxError as exc:
        raise RuleLoadError(source, exc.field, exc.problem, rule_id) from None


def _build(data: dict[str, Any], rule_id: str, source: str, ordinal: int) -> Rule:
    _known_keys(data, RULE_KEYS, "")
    match = data.get("match") or {}
    if not isinstance(match, dict):
        raise RuleSyntaxError("match", "expected a mapping with " + ", ".join(MATCH_KEYS))
    _known_keys(match, MATCH_KEYS, "match")
    outcome = match.get("outcome", "success")
    if outcome not in OUTCOMES:
        raise RuleSyntaxError("match.outcome", f"{outcome!r}: use one of {', '.join(OUTCOMES)}")
    names = _string_set(match.get("event_name"), "match.event_name")
    rule = Rule(
        rule_id=rule_id,
        title=_text(data, "title", required=True),
        description=_text(data, "description", required=True),
        severity=_severity(data.get("severity"), "severity"),
        source=source,
        event_sources=_string_set(match.get("event_source"), "match.event_source"),
        event_names=frozenset(base_event_name(n) for n in names) if names else None,
        outcome=outcome,
        condition=compile_condition(match["where"], "match.where") if "where" in match else None,
        severity_when=_severity_cases(data.get("severity_when")),
        references=_references(data.get("references")),
        runbook=_text(data, "runbook"),
        tags=tuple(sorted(_string_set(data.get("tags"), "tags") or ())),
        enabled=_flag(data.get("enabled", True), "enabled"),
        threshold=_threshold(data.get("threshold")),
        ordinal=ordinal,
        spec={key: value for key, value in data.items() if key != "tests"},
    )
    rule.tests = _tests(data.get("tests"))
    return rule


def _known_keys(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [key for key in data if key not in allowed]
    if unknown:
        field = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise RuleSyntaxError(field, f"unknown key; allowed here: {', '.join(allowed)}")


def _text(data: dict[str, Any], key: str, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise RuleSyntaxError(key, "expected a non-empty string")
    return value.strip()


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise RuleSyntaxError(where, "expected true or false")
    return value


def _severity(value: Any, where: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise RuleSyntaxError(where, str(exc)) from None


def _string_set(value: Any, where: str) -> frozenset[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise RuleSyntaxError(where, "expected a string or a list of strings")
    return frozenset(items)


def _severity_cases(value: Any) -> tuple[SeverityCase, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RuleSyntaxError("severity_when", "expected a list of {when: condition, severity: S}")
    cases = []
    for index, case in enumerate(value):
        where = f"severity_when[{index}]"
        if not isinstance(case, dict) or set(case) != {"when", "severity"}:
            raise RuleSyntaxError(where, "expected exactly the keys `when` and `severity`")
        condition = compile_condition(case["when"], f"{where}.when")
        cases.append(SeverityCase(condition, _severity(case["severity"], f"{where}.severity")))
    return tuple(cases)


def _references(value: Any) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RuleSyntaxError("references", "expected a mapping such as {pci_dss: [10.2.1.6]}")
    references: dict[str, tuple[str, ...]] = {}
    for kind, items in value.items():
        if kind not in REFERENCE_LABELS:
            allowed = ", ".join(REFERENCE_LABELS)
            raise RuleSyntaxError(f"references.{kind}", f"unknown kind; allowed: {allowed}")
        listed = items if isinstance(items, list) else [items]
        if not listed or not all(isinstance(i, str | int | float) for i in listed):
            raise RuleSyntaxError(f"references.{kind}", "expected a list of identifiers")
        references[kind] = tuple(str(i) for i in listed)
    return references


def parse_duration(value: Any, where: str) -> int:
    """Seconds from `90`, `30s`, `15m`, `1h` or `1d`."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match or int(match.group(1)) == 0:
        raise RuleSyntaxError(where, f"{value!r}: expected a duration such as 30s, 15m, 1h or 1d")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


def _threshold(value: Any) -> Threshold | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RuleSyntaxError("threshold", "expected {count: N, window: 15m, group_by: [path]}")
    _known_keys(value, THRESHOLD_KEYS, "threshold")
    count = value.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise RuleSyntaxError("threshold.count", "expected a whole number of at least 1")
    group_by = value.get("group_by", [])
    if not isinstance(group_by, list) or not all(isinstance(p, str) and p for p in group_by):
        raise RuleSyntaxError("threshold.group_by", "expected a list of field paths")
    for index, path in enumerate(group_by):
        problem = path_problem(path)
        if problem:
            raise RuleSyntaxError(f"threshold.group_by[{index}]", problem)
    window = parse_duration(value.get("window"), "threshold.window")
    return Threshold(count, window, tuple(group_by))


def _tests(value: Any) -> tuple[RuleTest, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RuleSyntaxError("tests", "expected a list of tests")
    tests = []
    for index, test in enumerate(value):
        where = f"tests[{index}]"
        if not isinstance(test, dict):
            raise RuleSyntaxError(where, "expected a mapping")
        _known_keys(test, TEST_KEYS, where)
        name = test.get("name")
        if not isinstance(name, str) or not name:
            raise RuleSyntaxError(f"{where}.name", "expected a non-empty string")
        expect = test.get("expect")
        if expect not in ("match", "no_match"):
            raise RuleSyntaxError(f"{where}.expect", "expected `match` or `no_match`")
        tests.append(
            RuleTest(
                name=name,
                records=_test_records(test, where),
                expect_match=expect == "match",
                severity=_severity(test["severity"], f"{where}.severity")
                if "severity" in test
                else None,
                count=_positive(test.get("count"), f"{where}.count"),
            )
        )
    return tuple(tests)


def _test_records(test: dict[str, Any], where: str) -> tuple[Record, ...]:
    if ("record" in test) == ("records" in test):
        raise RuleSyntaxError(where, "give exactly one of `record` or `records`")
    records = [test["record"]] if "record" in test else test["records"]
    if (
        not isinstance(records, list)
        or not records
        or not all(isinstance(r, dict) for r in records)
    ):
        raise RuleSyntaxError(where, "a test record is a CloudTrail record mapping")
    repeat = _positive(test.get("repeat"), f"{where}.repeat") or 1
    # Each repetition stands for new events: a repeated eventID would be a redelivery, which
    # the detector reports once.
    return tuple(
        record if n == 0 else {**record, "eventID": f"{record.get('eventID', 'test')}#{n}"}
        for n in range(repeat)
        for record in records
    )


def _positive(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RuleSyntaxError(where, "expected a whole number")
    return value
