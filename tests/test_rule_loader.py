"""Loading rules: every malformed rule is refused with a message that names the file, the rule,
the field path inside it, and what is allowed there; well-formed files load in a stable order;
inline rule tests run; rule ids are unique across packs and folders.

Rules are written to tmp_path here; the shipped packs are swapped for an empty copy (only the
catalogue is kept) so these tests never depend on rules other people are writing.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from trailguard.config import Config, ConfigError
from trailguard.model import Severity, Threshold
from trailguard.rules import packs as packs_module
from trailguard.rules import testing as rule_testing
from trailguard.rules.errors import RuleLoadError
from trailguard.rules.loader import (
    MATCH_KEYS,
    RULE_KEYS,
    TEST_KEYS,
    THRESHOLD_KEYS,
    load_rules,
    parse_duration,
    rule_from_data,
)
from trailguard.rules.matchers import OPERATORS
from trailguard.rules.packs import load_packs
from trailguard.rules.predicates import predicate, registered

SHIPPED_PACKS = packs_module.PACKS_DIR

GOOD_RECORD: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {
        "type": "IAMUser",
        "arn": "arn:aws:iam::143434273843:user/christophe",
        "accountId": "143434273843",
        "userName": "christophe",
    },
    "eventTime": "2024-07-31T13:06:24Z",
    "eventSource": "cloudtrail.amazonaws.com",
    "eventName": "StopLogging",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "86.245.153.234",
    "requestParameters": {"name": "main"},
    "recipientAccountId": "143434273843",
}
"""Shaped after the Stratus cloudtrail-stop detonation in the shared data."""

GOOD_RULE: dict[str, Any] = {
    "id": "local.trail_stopped",
    "title": "Trail stopped: {requestParameters.name}",
    "description": "A trail stopped recording.",
    "severity": "high",
    "match": {
        "event_source": "cloudtrail.amazonaws.com",
        "event_name": "StopLogging",
        "where": {"requestParameters.name": {"exists": True}},
    },
    "tests": [
        {"name": "stops", "expect": "match", "record": GOOD_RECORD},
        {
            "name": "starts",
            "expect": "no_match",
            "record": {**GOOD_RECORD, "eventName": "StartLogging"},
        },
    ],
}


@predicate("test_loader_args", required=("seconds",), seconds=int, names=list, flag=bool)
def loader_args(ctx: Any, args: Mapping[str, Any]) -> bool:
    """Takes typed arguments, for the loader's argument checks."""
    return bool(args.get("flag"))


@predicate("test_loader_explodes")
def loader_explodes(ctx: Any, args: Mapping[str, Any]) -> bool:
    """Raises on a record whose region is `boom`."""
    if ctx.record.get("awsRegion") == "boom":
        raise RuntimeError("predicate blew up")
    return True


def changed(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    rule = copy.deepcopy(GOOD_RULE)
    edit(rule)
    return rule


def write(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load_error(tmp_path: Path, data: Any) -> tuple[str, RuleLoadError]:
    path = write(tmp_path, "rule.yaml", data)
    with pytest.raises(RuleLoadError) as caught:
        load_rules(path)
    return str(path), caught.value


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets a dotted key of the rule (integers index lists)."""

    def edit(rule: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = rule
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return edit


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(rule: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = rule
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return edit


def _rename(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def edit(rule: dict[str, Any]) -> None:
        rule[new] = rule.pop(old)

    return edit


def _both(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(rule: dict[str, Any]) -> None:
        for one in edits:
            one(rule)

    return edit


CIDR_PATH = "match.where.any[1].requestParameters.cidrIp"


def cidr_matcher(matcher: Any) -> Callable[[dict[str, Any]], None]:
    return _set(
        "match.where",
        {"any": [{"eventName": "StopLogging"}, {"requestParameters.cidrIp": matcher}]},
    )


def where(condition: Any) -> Callable[[dict[str, Any]], None]:
    return _set("match.where", condition)


def threshold(spec: Any) -> Callable[[dict[str, Any]], None]:
    return _set("threshold", spec)


DURATION_HELP = "expected a duration such as 30s, 15m, 1h or 1d"

MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    # (case, edit, field, problem)
    (
        "typo in a top-level key",
        _rename("severity", "severty"),
        "severty",
        f"unknown key; allowed here: {', '.join(RULE_KEYS)}",
    ),
    (
        "unknown match key",
        _set("match.event_nam", "StopLogging"),
        "match.event_nam",
        f"unknown key; allowed here: {', '.join(MATCH_KEYS)}",
    ),
    (
        "bad severity",
        _set("severity", "urgent"),
        "severity",
        "unknown severity 'urgent'; use one of: info, low, medium, high, critical",
    ),
    (
        "missing severity",
        _drop("severity"),
        "severity",
        "unknown severity None; use one of: info, low, medium, high, critical",
    ),
    (
        "bad outcome",
        _set("match.outcome", "failed"),
        "match.outcome",
        "'failed': use one of success, failure, any",
    ),
    (
        "bad operator",
        cidr_matcher({"startswith": "10."}),
        f"{CIDR_PATH}.startswith",
        f"unknown operator; use one of: {', '.join(OPERATORS)}",
    ),
    (
        "bad regex",
        where({"errorCode": {"regex": ["^ok$", "("]}}),
        "match.where.errorCode.regex",
        "invalid regular expression: missing ), unterminated subpattern at position 0",
    ),
    (
        "bad CIDR",
        cidr_matcher({"cidr_contains": ["10.0.0.0/8", "10.0.0.0/33"]}),
        f"{CIDR_PATH}.cidr_contains",
        "'10.0.0.0/33' is not a CIDR block or address",
    ),
    (
        "open_cidr wants a boolean",
        cidr_matcher({"open_cidr": "yes"}),
        f"{CIDR_PATH}.open_cidr",
        "expected true or false",
    ),
    (
        "exists wants a boolean",
        cidr_matcher({"exists": 1}),
        f"{CIDR_PATH}.exists",
        "expected true or false",
    ),
    (
        "empty matcher",
        cidr_matcher({}),
        CIDR_PATH,
        f"empty matcher; use one of: {', '.join(OPERATORS)}",
    ),
    (
        "a comparison wants a number",
        where({"requestParameters.fromPort": {"gte": "22"}}),
        "match.where.requestParameters.fromPort.gte",
        "expected a number, found '22'",
    ),
    (
        "a boolean is not a number",
        where({"requestParameters.fromPort": {"lt": True}}),
        "match.where.requestParameters.fromPort.lt",
        "expected a number, found True",
    ),
    (
        "prefix wants strings",
        where({"userAgent": {"prefix": ["aws-cli/", 2]}}),
        "match.where.userAgent.prefix",
        "expected a string or a list of strings",
    ),
    (
        "one_of wants a list",
        where({"userAgent": {"one_of": "aws-cli"}}),
        "match.where.userAgent.one_of",
        "expected a non-empty list of strings, numbers or booleans",
    ),
    (
        "unknown predicate",
        where({"predicate": "no_such_predicate"}),
        "match.where.predicate",
        "PREDICATES",  # filled in by the test: the message lists every registered predicate
    ),
    (
        "unknown predicate argument",
        where({"predicate": "test_loader_args", "args": {"seconds": 1, "colour": "red"}}),
        "match.where.args",
        "unknown argument(s) ['colour']; allowed: flag, names, seconds",
    ),
    (
        "missing predicate argument",
        where({"predicate": "test_loader_args", "args": {"flag": True}}),
        "match.where.args",
        "missing argument(s) ['seconds']",
    ),
    (
        "predicate argument of the wrong type",
        where({"predicate": "test_loader_args", "args": {"seconds": "60"}}),
        "match.where.args.seconds",
        "wrong type str; expected int",
    ),
    (
        "a boolean is not an int argument",
        where({"predicate": "test_loader_args", "args": {"seconds": True}}),
        "match.where.args.seconds",
        "wrong type bool; expected int",
    ),
    (
        "predicate args not a mapping",
        where({"predicate": "test_loader_args", "args": [60]}),
        "match.where.args",
        "expected a mapping of argument names to values",
    ),
    (
        "predicate args an empty list",
        where({"predicate": "test_loader_args", "args": []}),
        "match.where.args",
        "expected a mapping of argument names to values",
    ),
    (
        "predicate with other keys",
        where({"predicate": "test_loader_args", "args": {"seconds": 1}, "eventName": "X"}),
        "match.where",
        "a predicate takes only `predicate` and `args`, not ['eventName']",
    ),
    (
        "args without predicate",
        where({"eventName": "StopLogging", "args": {"seconds": 1}}),
        "match.where.args",
        "`args` goes with `predicate`",
    ),
    (
        "args without predicate, nested",
        where({"not": {"all": [{"args": {}}]}}),
        "match.where.not.all[0].args",
        "`args` goes with `predicate`",
    ),
    (
        "non-mapping where",
        where(["eventName", "StopLogging"]),
        "match.where",
        "expected a mapping of `path: matcher` or all/any/not",
    ),
    (
        "null where",
        where(None),
        "match.where",
        "expected a mapping of `path: matcher` or all/any/not",
    ),
    (
        "non-mapping inside any",
        where({"any": [{"eventName": "StopLogging"}, "errorCode"]}),
        "match.where.any[1]",
        "expected a mapping of `path: matcher` or all/any/not",
    ),
    (
        "empty any",
        where({"any": []}),
        "match.where.any",
        "expected a non-empty list of conditions",
    ),
    (
        "all is not a list",
        where({"all": {"eventName": "StopLogging"}}),
        "match.where.all",
        "expected a non-empty list of conditions",
    ),
    (
        "a non-string field path",
        where({1: "x"}),
        "match.where",
        "1 is not a field path",
    ),
    (
        "match not a mapping",
        _set("match", ["StopLogging"]),
        "match",
        f"expected a mapping with {', '.join(MATCH_KEYS)}",
    ),
    (
        "event_name not strings",
        _set("match.event_name", ["StopLogging", 3]),
        "match.event_name",
        "expected a string or a list of strings",
    ),
    (
        "empty event_source list",
        _set("match.event_source", []),
        "match.event_source",
        "expected a string or a list of strings",
    ),
    ("missing title", _drop("title"), "title", "expected a non-empty string"),
    ("blank description", _set("description", "  "), "description", "expected a non-empty string"),
    ("enabled not a boolean", _set("enabled", "no"), "enabled", "expected true or false"),
    (
        "severity_when case with extra keys",
        _set("severity_when", [{"when": {"eventName": "X"}, "severity": "low", "why": "x"}]),
        "severity_when[0]",
        "expected exactly the keys `when` and `severity`",
    ),
    (
        "severity_when with a bad severity",
        _set("severity_when", [{"when": {"eventName": "X"}, "severity": "severe"}]),
        "severity_when[0].severity",
        "unknown severity 'severe'; use one of: info, low, medium, high, critical",
    ),
    (
        "severity_when with a bad condition",
        _set("severity_when", [{"when": {"userIdentity.type": {"is": "Root"}}, "severity": "low"}]),
        "severity_when[0].when.userIdentity.type.is",
        f"unknown operator; use one of: {', '.join(OPERATORS)}",
    ),
    (
        "unknown reference kind",
        _set("references", {"nist": ["AU-2"]}),
        "references.nist",
        "unknown kind; allowed: pci_dss, cis_aws, securityhub, mitre_attack",
    ),
    (
        "threshold count 0",
        threshold({"count": 0, "window": "15m"}),
        "threshold.count",
        "expected a whole number of at least 1",
    ),
    (
        "threshold count true",
        threshold({"count": True, "window": "15m"}),
        "threshold.count",
        "expected a whole number of at least 1",
    ),
    (
        "threshold without window",
        threshold({"count": 5}),
        "threshold.window",
        f"None: {DURATION_HELP}",
    ),
    (
        "threshold window in words",
        threshold({"count": 5, "window": "15 minutes"}),
        "threshold.window",
        f"'15 minutes': {DURATION_HELP}",
    ),
    (
        "threshold window of zero",
        threshold({"count": 5, "window": "0m"}),
        "threshold.window",
        f"'0m': {DURATION_HELP}",
    ),
    (
        "threshold window negative",
        threshold({"count": 5, "window": -60}),
        "threshold.window",
        f"-60: {DURATION_HELP}",
    ),
    (
        "threshold unknown key",
        threshold({"count": 5, "window": "15m", "per": "user"}),
        "threshold.per",
        f"unknown key; allowed here: {', '.join(THRESHOLD_KEYS)}",
    ),
    (
        "threshold group_by not a list",
        threshold({"count": 5, "window": "15m", "group_by": "actor.name"}),
        "threshold.group_by",
        "expected a list of field paths",
    ),
    (
        "threshold group_by on an actor field that does not exist",
        threshold({"count": 5, "window": "15m", "group_by": ["awsRegion", "actor.user"]}),
        "threshold.group_by[1]",
        "the actor has the fields: actor.type, actor.name, actor.arn, actor.account, "
        "actor.session, actor.role, actor.issuer, actor.invoked_by, actor.access_key_id",
    ),
    (
        "test without expect",
        _drop("tests.0.expect"),
        "tests[0].expect",
        "expected `match` or `no_match`",
    ),
    (
        "test with a wrong expect",
        _set("tests.1.expect", "nomatch"),
        "tests[1].expect",
        "expected `match` or `no_match`",
    ),
    (
        "test with both record and records",
        _set("tests.1.records", [GOOD_RECORD]),
        "tests[1]",
        "give exactly one of `record` or `records`",
    ),
    (
        "test with neither record nor records",
        _drop("tests.0.record"),
        "tests[0]",
        "give exactly one of `record` or `records`",
    ),
    (
        "test record not a mapping",
        _set("tests.0.record", "StopLogging"),
        "tests[0]",
        "a test record is a CloudTrail record mapping",
    ),
    (
        "test with an unknown key",
        _set("tests.0.expected", "match"),
        "tests[0].expected",
        f"unknown key; allowed here: {', '.join(TEST_KEYS)}",
    ),
    (
        "test without a name",
        _drop("tests.0.name"),
        "tests[0].name",
        "expected a non-empty string",
    ),
    (
        "test count negative",
        _set("tests.0.count", -1),
        "tests[0].count",
        "expected a whole number",
    ),
    ("tests not a list", _set("tests", {"name": "x"}), "tests", "expected a list of tests"),
    (
        "test severity unknown",
        _set("tests.0.severity", "urgent"),
        "tests[0].severity",
        "unknown severity 'urgent'; use one of: info, low, medium, high, critical",
    ),
    (
        "a field path with an empty part",
        where({"requestParameters..name": "main"}),
        "match.where.requestParameters..name",
        "a field path is dot-separated names, e.g. userIdentity.type",
    ),
    (
        "null equals",
        where({"errorCode": None}),
        "match.where.errorCode",
        "null never matches (a null value counts as missing); use `exists: false`",
    ),
    (
        "typo in an actor field",
        where({"actor.nmae": "christophe"}),
        "match.where.actor.nmae",
        "the actor has the fields: actor.type, actor.name, actor.arn, actor.account, "
        "actor.session, actor.role, actor.issuer, actor.invoked_by, actor.access_key_id",
    ),
]


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_rule_names_file_rule_field_and_what_is_allowed(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], field: str, problem: str
) -> None:
    if problem == "PREDICATES":
        known = ", ".join(sorted(registered()))
        problem = f"unknown predicate 'no_such_predicate'; known: {known}"
        assert "test_loader_args" in known
    source, error = load_error(tmp_path, changed(edit))
    assert (error.source, error.rule_id, error.field, error.problem) == (
        source,
        "local.trail_stopped",
        field,
        problem,
    )
    assert str(error) == f"{source}: rule local.trail_stopped: {field}: {problem}"


def test_the_good_rule_loads(tmp_path: Path) -> None:
    (rule,) = load_rules(write(tmp_path, "rule.yaml", GOOD_RULE))
    assert rule.rule_id == "local.trail_stopped"
    assert rule.severity is Severity.HIGH
    assert rule.event_sources == frozenset({"cloudtrail.amazonaws.com"})
    assert rule.event_names == frozenset({"StopLogging"})
    assert rule.outcome == "success"
    assert rule.source == str(tmp_path / "rule.yaml")
    assert [(t.name, t.expect_match, len(t.records)) for t in rule.tests] == [
        ("stops", True, 1),
        ("starts", False, 1),
    ]


@pytest.mark.parametrize(
    "rule_id",
    ["trail_stopped", "Local.Trail", "local.", ".trail", "local.trail-stopped", "", None, 7],
)
def test_id_must_be_pack_dot_name(tmp_path: Path, rule_id: Any) -> None:
    source, error = load_error(tmp_path, changed(_set("id", rule_id)))
    problem = f"{rule_id!r}: expected `pack.name` in lower case, e.g. threats.root_login"
    assert (error.source, error.rule_id, error.field, error.problem) == (
        source,
        None,
        "id",
        problem,
    )
    assert str(error) == f"{source}: id: {problem}"


def test_ids_with_several_dots_and_digits_load() -> None:
    rule = rule_from_data(changed(_set("id", "team2.net.sg_open_22")), "x.yaml")
    assert rule.rule_id == "team2.net.sg_open_22"


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("id: [unclosed\n", "(file)", "invalid YAML: "),
        ("- id: local.a\n", "(top level)", "expected a rule mapping, or `rules:` with a list"),
        ("", "(top level)", "expected a rule mapping, or `rules:` with a list"),
        ("rules: {id: local.a}\n", "rules", "expected a list of rule mappings"),
        ("rules: [local.a]\n", "rules", "expected a list of rule mappings"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, field: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleLoadError) as caught:
        load_rules(path)
    assert (caught.value.source, caught.value.field, caught.value.rule_id) == (
        str(path),
        field,
        None,
    )
    assert caught.value.problem.startswith(problem)
    if field != "(file)":
        assert caught.value.problem == problem


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuleLoadError) as caught:
        load_rules(tmp_path / "nowhere")
    assert str(caught.value) == f"{tmp_path / 'nowhere'}: (path): no such file or folder"


def test_an_error_in_a_list_of_rules_names_that_rule(tmp_path: Path) -> None:
    second = changed(_both(_set("id", "local.second"), _set("match.outcome", "both")))
    path = write(tmp_path, "many.yaml", {"rules": [GOOD_RULE, second]})
    with pytest.raises(RuleLoadError) as caught:
        load_rules(path)
    assert str(caught.value) == (
        f"{path}: rule local.second: match.outcome: 'both': use one of success, failure, any"
    )


# --- well-formed files ------------------------------------------------------------------------


def test_folders_load_sorted_with_ordinals(tmp_path: Path) -> None:
    write(tmp_path / "b", "z.yml", changed(_set("id", "local.b_z")))
    write(
        tmp_path,
        "a.yaml",
        {"rules": [changed(_set("id", "local.a_1")), changed(_set("id", "local.a_2"))]},
    )
    write(tmp_path / "b", "a.yaml", changed(_set("id", "local.b_a")))
    (tmp_path / "notes.txt").write_text("not a rule")
    (tmp_path / "b" / "README.md").write_text("# not a rule")
    rules = load_rules(tmp_path, first_ordinal=10)
    assert [(r.rule_id, r.ordinal) for r in rules] == [
        ("local.a_1", 10),
        ("local.a_2", 11),
        ("local.b_a", 12),
        ("local.b_z", 13),
    ]
    assert rules[3].source == str(tmp_path / "b" / "z.yml")


def test_every_field_is_read(tmp_path: Path) -> None:
    data = changed(
        _both(
            _set("match.outcome", "any"),
            _set("match.event_name", ["StopLogging", "UpdateFunctionCode20150331v2"]),
            _set(
                "severity_when", [{"when": {"userIdentity.type": "Root"}, "severity": "critical"}]
            ),
            _set("references", {"pci_dss": ["10.2.1.6", 10.7], "mitre_attack": "T1562.008"}),
            _set("runbook", "  Restart logging.  "),
            _set("tags", ["b", "a"]),
            _set("enabled", False),
            _set("threshold", {"count": 3, "window": "1h", "group_by": ["actor.name"]}),
            _set("tests.0.repeat", 3),
            _set("tests.0.count", 1),
            _set("tests.0.severity", "high"),
        )
    )
    (rule,) = load_rules(write(tmp_path, "rule.yaml", data))
    assert rule.outcome == "any"
    assert rule.event_names == frozenset({"StopLogging", "UpdateFunctionCode"})
    assert [case.severity for case in rule.severity_when] == [Severity.CRITICAL]
    assert rule.references == {"pci_dss": ("10.2.1.6", "10.7"), "mitre_attack": ("T1562.008",)}
    assert rule.reference_labels == (
        "PCI DSS v4.0/10.2.1.6",
        "PCI DSS v4.0/10.7",
        "MITRE ATT&CK T1562.008",
    )
    assert rule.runbook == "Restart logging."
    assert rule.tags == ("a", "b")
    assert rule.enabled is False
    assert rule.threshold == Threshold(3, 3600, ("actor.name",))
    first = rule.tests[0]
    assert (len(first.records), first.count, first.severity) == (3, 1, Severity.HIGH)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90), ("30s", 30), ("15m", 900), ("15 m", 900), ("1h", 3600), ("2d", 172800)],
)
def test_durations(value: Any, seconds: int) -> None:
    assert parse_duration(value, "threshold.window") == seconds


# --- inline tests -----------------------------------------------------------------------------


def outcomes(rule_data: dict[str, Any]) -> list[tuple[str, bool, str]]:
    rule = rule_from_data(rule_data, "inline.yaml")
    return [(o.test_name, o.passed, o.problem) for o in rule_testing.run_tests([rule])]


def test_inline_tests_pass() -> None:
    assert outcomes(GOOD_RULE) == [("stops", True, ""), ("starts", True, "")]


def test_inline_test_failures_say_why() -> None:
    data = copy.deepcopy(GOOD_RULE)
    data["tests"] = [
        {"name": "a", "expect": "no_match", "record": GOOD_RECORD},
        {"name": "b", "expect": "match", "record": {**GOOD_RECORD, "eventName": "StartLogging"}},
        {"name": "c", "expect": "match", "record": GOOD_RECORD, "repeat": 2, "count": 3},
        {"name": "d", "expect": "match", "record": GOOD_RECORD, "severity": "low"},
    ]
    assert outcomes(data) == [
        ("a", False, "expected no match, got 1"),
        ("b", False, "expected a match, got none"),
        ("c", False, "expected 3 finding(s), got 2"),
        ("d", False, "expected severity low, got high"),
    ]


def test_inline_tests_need_both_kinds() -> None:
    assert outcomes(changed(_set("tests", [GOOD_RULE["tests"][0]]))) == [
        ("(coverage)", False, "needs a `no_match` test"),
        ("stops", True, ""),
    ]
    assert outcomes(changed(_drop("tests"))) == [("(none)", False, "the rule has no tests")]


def test_disabled_rules_are_still_tested() -> None:
    assert outcomes(changed(_set("enabled", False))) == [("stops", True, ""), ("starts", True, "")]


def test_an_inline_threshold_test_counts_repeats() -> None:
    data = changed(_set("threshold", {"count": 3, "window": "5m"}))
    data["tests"] = [
        {"name": "three", "expect": "match", "record": GOOD_RECORD, "repeat": 3, "count": 1},
        {"name": "two", "expect": "no_match", "record": GOOD_RECORD, "repeat": 2},
    ]
    assert outcomes(data) == [("three", True, ""), ("two", True, "")]


def test_a_rule_that_raises_never_passes_its_test() -> None:
    """A record that breaks the rule is reported, not taken for a `no_match`."""
    data = changed(_set("match.where", {"predicate": "test_loader_explodes"}))
    data["tests"] = [
        {"name": "fires", "expect": "match", "record": GOOD_RECORD},
        {"name": "quiet", "expect": "no_match", "record": {**GOOD_RECORD, "awsRegion": "boom"}},
    ]
    rule = rule_from_data(data, "inline.yaml")
    assert rule_testing.run_tests([rule]) == [
        rule_testing.TestOutcome("local.trail_stopped", "fires", True, "", "inline.yaml"),
        rule_testing.TestOutcome(
            "local.trail_stopped",
            "quiet",
            False,
            "inline.yaml test 'quiet': records[0]: rule 'local.trail_stopped' failed on "
            "this record: RuntimeError: predicate blew up",
            "inline.yaml",
        ),
    ]


# --- packs and folders: unique ids ------------------------------------------------------------


@pytest.fixture
def no_shipped_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Shipped packs with the real catalogue but no rule files (theirs are being written)."""
    packs = tmp_path / "shipped"
    packs.mkdir()
    shutil.copy(SHIPPED_PACKS / "catalog.yaml", packs / "catalog.yaml")
    for pack_id in ("cis", "threats"):
        (packs / pack_id).mkdir()
    monkeypatch.setattr(packs_module, "PACKS_DIR", packs)
    return packs


def test_user_folders_load_after_the_shipped_packs(no_shipped_rules: Path, tmp_path: Path) -> None:
    write(no_shipped_rules / "threats", "stop.yaml", changed(_set("id", "threats.stop")))
    write(tmp_path / "ours", "rule.yaml", GOOD_RULE)
    loaded = load_packs(Config(rule_folders=(tmp_path / "ours",)))
    assert [pack.pack_id for pack in loaded.packs] == [
        "catalog",
        "cis",
        "threats",
        f"folder:{tmp_path / 'ours'}",
    ]
    assert [(r.rule_id, r.ordinal) for r in loaded.rules.values()] == [
        ("threats.stop", 0),
        ("local.trail_stopped", 1),
    ]
    assert loaded.known_ids() == [
        "catalog.deletion",
        "catalog.unlisted_service",
        "catalog.change",
        "threats.stop",
        "local.trail_stopped",
    ]


def test_duplicate_ids_across_folders_name_both_files(
    no_shipped_rules: Path, tmp_path: Path
) -> None:
    first = write(tmp_path / "one", "stop.yaml", GOOD_RULE)
    second = write(tmp_path / "two" / "deep", "again.yaml", GOOD_RULE)
    with pytest.raises(RuleLoadError) as caught:
        load_packs(Config(rule_folders=(tmp_path / "one", tmp_path / "two")))
    assert str(caught.value) == (
        f"{second}: rule local.trail_stopped: id: duplicate id; also in {first}"
    )


def test_duplicate_ids_in_one_folder(no_shipped_rules: Path, tmp_path: Path) -> None:
    first = write(tmp_path / "one", "a.yaml", GOOD_RULE)
    second = write(tmp_path / "one", "b.yaml", {"rules": [GOOD_RULE]})
    with pytest.raises(RuleLoadError) as caught:
        load_packs(Config(rule_folders=(tmp_path / "one",)))
    assert str(caught.value) == (
        f"{second}: rule local.trail_stopped: id: duplicate id; also in {first}"
    )


def test_a_user_rule_cannot_take_a_catalogue_id(no_shipped_rules: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "one", "a.yaml", changed(_set("id", "catalog.change")))
    with pytest.raises(RuleLoadError) as caught:
        load_packs(Config(rule_folders=(tmp_path / "one",)))
    assert str(caught.value) == (
        f"{path}: rule catalog.change: id: duplicate id; also in the catalogue"
    )


def test_a_shipped_and_a_user_rule_clash(no_shipped_rules: Path, tmp_path: Path) -> None:
    shipped = write(no_shipped_rules / "cis", "x.yaml", changed(_set("id", "cis.x")))
    ours = write(tmp_path / "ours", "x.yaml", changed(_set("id", "cis.x")))
    with pytest.raises(RuleLoadError) as caught:
        load_packs(Config(rule_folders=(tmp_path / "ours",)))
    assert str(caught.value) == f"{ours}: rule cis.x: id: duplicate id; also in {shipped}"


def test_a_missing_rule_folder(no_shipped_rules: Path, tmp_path: Path) -> None:
    with pytest.raises(RuleLoadError) as caught:
        load_packs(Config(rule_folders=(tmp_path / "gone",)))
    assert str(caught.value) == f"{tmp_path / 'gone'}: (path): no such file or folder"


def test_unknown_pack_in_config(no_shipped_rules: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_packs(Config(source="cfg.yaml", packs={"threats": True, "cis_v3": False}))
    assert str(caught.value) == (
        "cfg.yaml: packs.cis_v3: no such pack; shipped packs: catalog, cis, threats"
    )


def test_the_operators_are_the_documented_ones() -> None:
    """Messages list these; a new operator must come with tests here and in test_rule_language."""
    assert OPERATORS == (
        "equals",
        "one_of",
        "prefix",
        "suffix",
        "contains",
        "glob",
        "regex",
        "exists",
        "gt",
        "gte",
        "lt",
        "lte",
        "cidr_contains",
        "open_cidr",
    )
