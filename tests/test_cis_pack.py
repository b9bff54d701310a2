"""The `cis` pack against the CIS metric filters Security Hub checks (CloudWatch.1 to 14, 4.15).

The filter patterns are parsed out of the reference file itself
(tests/fixtures/reference/cis-cloudwatch-filters.md), so the rules are compared with what the
reference says, not with a second hand-typed copy: the event names and event source of each
pattern, the CIS versions it lists, and, through a small evaluator of the CloudWatch Logs
filter-pattern subset the patterns use, the semantics of every other term, on the real records
of tests/fixtures/shared_data and on generated records.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, SHARED_DATA, decoded, editable
from trailguard.model import Place, Record, Severity
from trailguard.rules.packs import load_shipped_rules
from trailguard.rules.rule import Rule
from trailguard.rules.ruleset import RuleSet

REFERENCE = REPO / "tests" / "fixtures" / "reference" / "cis-cloudwatch-filters.md"
LOG_FILES = "envelopes/s3/cloudtrail_log_files"
PLACE = Place("tests/test_cis_pack.py")
ORGANIZATIONS = "CIS 4.15"
"""Key of the Organizations pattern (not a Security Hub control) among the parsed controls."""

# --- the reference, parsed ----------------------------------------------------------------------

TEXT = REFERENCE.read_text(encoding="utf-8")
SECTION = re.compile(r"^## (CloudWatch\.\d+): [^\n]*\n(.*?)(?=^## |\Z)", re.M | re.S)
PATTERN_BLOCK = re.compile(r"```\n(\{.*?\})\n```", re.S)
RELATED_CIS = re.compile(r"CIS AWS Foundations Benchmark v(\d+\.\d+\.\d+/\d+\.\d+)")
EVENT_NAME_TERM = re.compile(r'\$\.eventName\s*=\s*"?([A-Za-z0-9]+)"?')
EVENT_SOURCE_TERM = re.compile(r'\$\.eventSource\s*=\s*"?([a-z0-9.\-]+)"?')


@dataclass(frozen=True)
class Control:
    control_id: str
    pattern: str
    cis: frozenset[str]

    @property
    def event_names(self) -> frozenset[str]:
        return frozenset(EVENT_NAME_TERM.findall(self.pattern))

    @property
    def event_sources(self) -> frozenset[str]:
        return frozenset(EVENT_SOURCE_TERM.findall(self.pattern))


def organizations_list() -> tuple[str, list[str]]:
    """The event source and event names of the reference's last paragraph (CIS v1.4 4.15)."""
    start = TEXT.index("CIS v1.4 4.15")
    paragraph = " ".join(TEXT[start:].split())
    match = re.search(r"eventSource (\S+) and (.+?)\.$", paragraph)
    assert match is not None, "the 4.15 paragraph no longer reads `eventSource X and A, B, ...`"
    return match.group(1), [name.strip() for name in match.group(2).split(",")]


def parse_controls() -> dict[str, Control]:
    controls: dict[str, Control] = {}
    for control_id, body in SECTION.findall(TEXT):
        block = PATTERN_BLOCK.search(body)
        assert block is not None, f"{control_id}: no pattern block"
        related = next(line for line in body.splitlines() if line.startswith("Related"))
        controls[control_id] = Control(
            control_id, block.group(1), frozenset(RELATED_CIS.findall(related))
        )
    source, names = organizations_list()
    terms = " || ".join(f"($.eventName={name})" for name in names)
    controls[ORGANIZATIONS] = Control(
        ORGANIZATIONS, f"{{($.eventSource={source}) && ({terms})}}", frozenset({"1.4.0/4.15"})
    )
    return controls


CONTROLS = parse_controls()
CONTROL_IDS = list(CONTROLS)
CIS_RULES = load_shipped_rules("cis")


def rule_for(control_id: str) -> Rule:
    if control_id == ORGANIZATIONS:
        found = [r for r in CIS_RULES if "1.4.0/4.15" in r.references.get("cis_aws", ())]
    else:
        found = [r for r in CIS_RULES if control_id in r.references.get("securityhub", ())]
    assert len(found) == 1, f"{control_id}: expected one rule, found {[r.rule_id for r in found]}"
    return found[0]


@cache
def ruleset(rule_id: str) -> RuleSet:
    return RuleSet("cis", [r for r in CIS_RULES if r.rule_id == rule_id])


def fires(control_id: str, record: Record) -> bool:
    rule = rule_for(control_id)
    return bool(ruleset(rule.rule_id).evaluate(record, PLACE))


def severity(control_id: str, record: Record) -> Severity:
    rule = rule_for(control_id)
    findings = ruleset(rule.rule_id).evaluate(record, PLACE)
    assert len(findings) == 1
    return findings[0].severity


# --- an evaluator of the filter-pattern subset the CIS patterns use -----------------------------
# `{ expr }` with `&&`, `||`, parentheses, and terms `$.a.b = value`, `$.a.b != value` and
# `$.a.b NOT EXISTS`; values bare or quoted, `*` a wildcard; comparisons case-sensitive.
# Assumptions the reference does not spell out, written down here as the semantics trailguard
# takes: `!=` holds when the field is absent (a sign-in that does not say MFAUsed=Yes counts as
# one without MFA), and a JSON null is an absent field.

Filter = Callable[[Record], bool]
TOKEN = re.compile(
    r'\s*(NOT EXISTS|&&|\|\||!=|=|[{}()]|"[^"]*"|\$\.[A-Za-z0-9_.]+|[A-Za-z0-9_.*\-]+)'
)


def tokenize(pattern: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(pattern.rstrip()):
        match = TOKEN.match(pattern, position)
        assert match is not None, f"cannot read the pattern at {pattern[position:]!r}"
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def field_value(record: Record, selector: str) -> Any:
    value: Any = record
    for part in selector.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def value_matches(actual: Any, expected: str) -> bool:
    if isinstance(actual, bool) or not isinstance(actual, str | int | float):
        return False
    text = str(actual)
    if "*" in expected:
        regex = ".*".join(re.escape(part) for part in expected.split("*"))
        return re.fullmatch(regex, text, re.S) is not None
    return text == expected


class Parser:
    def __init__(self, pattern: str) -> None:
        self.tokens = tokenize(pattern)
        self.at = 0

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at]
        assert expected is None or token == expected, f"expected {expected!r}, found {token!r}"
        self.at += 1
        return token

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def pattern(self) -> Filter:
        self.take("{")
        result = self.either()
        self.take("}")
        assert self.peek() is None
        return result

    def either(self) -> Filter:
        parts = [self.both()]
        while self.peek() == "||":
            self.take()
            parts.append(self.both())
        return lambda record: any(part(record) for part in parts)

    def both(self) -> Filter:
        parts = [self.term()]
        while self.peek() == "&&":
            self.take()
            parts.append(self.term())
        return lambda record: all(part(record) for part in parts)

    def term(self) -> Filter:
        if self.peek() == "(":
            self.take()
            inner = self.either()
            self.take(")")
            return inner
        selector = self.take()
        assert selector.startswith("$."), f"expected a selector, found {selector!r}"
        operator = self.take()
        if operator == "NOT EXISTS":
            return lambda record: field_value(record, selector) is None
        expected = self.take().strip('"')
        if operator == "=":
            return lambda record: value_matches(field_value(record, selector), expected)
        assert operator == "!=", f"unknown operator {operator!r}"
        return lambda record: not value_matches(field_value(record, selector), expected)


FILTERS = {control_id: Parser(c.pattern).pattern() for control_id, c in CONTROLS.items()}


# --- real records -------------------------------------------------------------------------------


def jsonl_events(name: str) -> list[dict[str, Any]]:
    """The CloudTrail records of one events/*.jsonl catalogue, with their wrappers."""
    entries = []
    for line in (SHARED_DATA / "events" / name).read_text(encoding="utf-8").splitlines():
        entry = orjson.loads(line)
        event = entry.get("event")
        if isinstance(event, dict) and isinstance(event.get("detail"), dict):
            event = event["detail"]
        if isinstance(event, dict) and "eventName" in event:
            entries.append({**entry, "event": event})
    return entries


@cache
def corpus() -> tuple[Record, ...]:
    """Every CloudTrail record in the shared data: log files and the event catalogues."""
    records: list[Record] = []
    for path in sorted((SHARED_DATA / LOG_FILES).glob("*.json.gz")):
        records += decoded(f"{LOG_FILES}/{path.name}")
    for path in sorted((SHARED_DATA / "events" / "awsdocs_log_files").glob("*_records.json")):
        records += decoded(f"events/awsdocs_log_files/{path.name}")
    for name in (
        "stratus_detonations.jsonl",
        "awsdocs_userguide_events.jsonl",
        "fixtures_misc.jsonl",
    ):
        records += [entry["event"] for entry in jsonl_events(name)]
    return tuple(records)


def console_logins() -> list[Record]:
    return [
        e["event"]
        for e in jsonl_events("awsdocs_userguide_events.jsonl")
        if e["event"]["eventName"] == "ConsoleLogin"
    ]


def one(records: list[Record], **fields: Any) -> Record:
    """The first record whose top-level or userIdentity fields have these values."""
    for record in records:
        identity = record.get("userIdentity") or {}
        if all(record.get(k, identity.get(k)) == v for k, v in fields.items()):
            return editable(record)
    raise LookupError(fields)


def stratus(technique: str) -> list[Record]:
    return decoded(f"{LOG_FILES}/stratus_aws.{technique}.json.gz")


# --- the pack mirrors the reference -------------------------------------------------------------


def test_reference_parses_into_fourteen_controls_and_4_15():
    assert [f"CloudWatch.{n}" for n in range(1, 15)] + [ORGANIZATIONS] == CONTROL_IDS
    assert all(c.cis for c in CONTROLS.values())
    assert len(CONTROLS["CloudWatch.4"].event_names) == 16
    assert len(CONTROLS[ORGANIZATIONS].event_names) == 18


def test_pack_is_one_rule_per_control():
    assert len(CIS_RULES) == len(CONTROLS)
    assert {rule_for(c).rule_id for c in CONTROLS} == {r.rule_id for r in CIS_RULES}
    assert all(r.rule_id.startswith("cis.") for r in CIS_RULES)
    for n in range(1, 15):
        assert rule_for(f"CloudWatch.{n}").rule_id.startswith(f"cis.cloudwatch_{n:02d}_")


@pytest.mark.parametrize("control_id", CONTROL_IDS)
def test_event_names_are_exactly_the_patterns(control_id):
    names = CONTROLS[control_id].event_names
    assert rule_for(control_id).event_names == (names or None)


@pytest.mark.parametrize("control_id", CONTROL_IDS)
def test_event_source_is_exactly_the_patterns(control_id):
    sources = CONTROLS[control_id].event_sources
    assert rule_for(control_id).event_sources == (sources or None)


def test_organizations_rule_has_the_4_15_paragraphs_list():
    source, names = organizations_list()
    rule = rule_for(ORGANIZATIONS)
    assert rule.event_sources == {source} == {"organizations.amazonaws.com"}
    assert rule.event_names == set(names)
    assert len(names) == len(set(names)) == 18


@pytest.mark.parametrize("control_id", CONTROL_IDS)
def test_cis_references_are_the_reference_versions(control_id):
    rule = rule_for(control_id)
    assert set(rule.references["cis_aws"]) == CONTROLS[control_id].cis
    assert rule.references.get("pci_dss")


@pytest.mark.parametrize("control_id", CONTROL_IDS)
def test_outcome_counts_failed_calls_like_a_metric_filter(control_id):
    """A metric filter has no success-only default: only errorCode terms may narrow it."""
    rule = rule_for(control_id)
    pattern = CONTROLS[control_id].pattern
    assert rule.outcome == ("failure" if "$.errorCode" in pattern else "any")
    assert f"outcome: {rule.outcome}" in rule.description


# --- the semantics equal the filter's, on real and generated records ----------------------------


@pytest.mark.parametrize("control_id", CONTROL_IDS)
def test_rule_agrees_with_the_filter_on_every_shared_record(control_id):
    disagree = [
        (r.get("eventName"), r.get("eventID"))
        for r in corpus()
        if fires(control_id, r) != FILTERS[control_id](r)
    ]
    assert not disagree


def test_the_shared_records_exercise_the_filters():
    """The agreement above is not vacuous: real records match these controls."""
    matched = {c for c in CONTROL_IDS if any(FILTERS[c](r) for r in corpus())}
    expected = {f"CloudWatch.{n}" for n in (1, 2, 3, 4, 5, 6, 10)} | {ORGANIZATIONS}
    assert expected <= matched


ALL_NAMES = sorted(
    {name for c in CONTROLS.values() for name in c.event_names}
    | {"GetPasswordData", "AssumeRole", "PutEventSelectors", "ModifySecurityGroupRules"}
    | {"DeleteConfigurationRecorder", "AssociateRouteTable", "CancelKeyDeletion", "CreateRole"}
)
SOURCES = [
    "iam.amazonaws.com",
    "ec2.amazonaws.com",
    "s3.amazonaws.com",
    "kms.amazonaws.com",
    "config.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "signin.amazonaws.com",
    "organizations.amazonaws.com",
    "iot.amazonaws.com",
]
ERROR_CODES = [
    "AccessDenied",
    "AccessDeniedException",
    "Client.UnauthorizedOperation",
    "UnauthorizedOperation",
    "accessdenied",
    "Client.AccessDenied",
    "ThrottlingException",
    "NoSuchEntityException",
    "",
]
IDENTITIES = st.fixed_dictionaries(
    {"type": st.sampled_from(["Root", "IAMUser", "AssumedRole", "AWSService", "FederatedUser"])},
    optional={
        "invokedBy": st.sampled_from(["autoscaling.amazonaws.com", "AWS Internal"]),
        "accountId": st.just("111122223333"),
    },
)
RECORDS = st.fixed_dictionaries(
    {
        "eventName": st.sampled_from(ALL_NAMES),
        "eventSource": st.sampled_from(SOURCES),
        "userIdentity": IDENTITIES,
    },
    optional={
        "eventType": st.sampled_from(
            ["AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn", "AwsConsoleAction"]
        ),
        "errorCode": st.sampled_from(ERROR_CODES) | st.text(max_size=30),
        "errorMessage": st.sampled_from(
            ["Failed authentication", "No username found in supplied account", "Access Denied"]
        ),
        "additionalEventData": st.fixed_dictionaries(
            {}, optional={"MFAUsed": st.sampled_from(["Yes", "No", "YES", "yes"])}
        ),
        "responseElements": st.none()
        | st.fixed_dictionaries(
            {}, optional={"ConsoleLogin": st.sampled_from(["Success", "Failure"])}
        ),
    },
)


CONSOLE_SIGN_INS = st.fixed_dictionaries(
    {
        "eventName": st.just("ConsoleLogin"),
        "eventSource": st.just("signin.amazonaws.com"),
        "eventType": st.just("AwsConsoleSignIn"),
        "userIdentity": IDENTITIES,
        "responseElements": st.fixed_dictionaries(
            {}, optional={"ConsoleLogin": st.sampled_from(["Success", "Failure"])}
        ),
        "additionalEventData": st.fixed_dictionaries(
            {}, optional={"MFAUsed": st.sampled_from(["Yes", "No", "YES"])}
        ),
    },
    optional={
        "errorCode": st.sampled_from(ERROR_CODES),
        "errorMessage": st.sampled_from(
            [
                "Failed authentication",
                "No username found in supplied account",
                "failed authentication",
            ]
        ),
    },
)
"""Sign-ins, so that the several terms of CloudWatch.3 and .6 are often met together."""


@settings(max_examples=800)
@given(RECORDS | CONSOLE_SIGN_INS)
def test_rules_agree_with_the_filters_on_generated_records(record):
    for control_id in CONTROL_IDS:
        assert fires(control_id, record) == FILTERS[control_id](record), control_id


# --- the non-event-name terms, on named real records --------------------------------------------


def test_cloudwatch_1_root_use_and_its_exclusions():
    logins = console_logins()
    assert fires("CloudWatch.1", one(logins, type="Root", errorMessage=None))
    assert fires("CloudWatch.1", one(logins, type="Root", errorMessage="Failed authentication"))
    misc = [e["event"] for e in jsonl_events("fixtures_misc.jsonl")]
    health = one(misc, type="Root", eventName="DescribeEventAggregates")
    assert fires("CloudWatch.1", health)
    assert severity("CloudWatch.1", health) == Severity.HIGH
    # Auto Scaling launching instances as root: invokedBy is set, so not root use.
    scaled = one(misc, type="Root", eventName="RunInstances")
    assert scaled["userIdentity"]["invokedBy"] == "autoscaling.amazonaws.com"
    assert not fires("CloudWatch.1", scaled)
    del scaled["userIdentity"]["invokedBy"]
    assert fires("CloudWatch.1", scaled)
    assert not fires("CloudWatch.1", {**health, "eventType": "AwsServiceEvent"})
    assert not fires("CloudWatch.1", one(logins, type="IAMUser", errorMessage=None))
    refused = {**health, "errorCode": "AccessDenied", "errorMessage": "Access Denied"}
    assert fires("CloudWatch.1", refused)


@pytest.mark.parametrize(
    ("error_code", "expected"),
    [
        ("Client.UnauthorizedOperation", True),
        ("UnauthorizedOperation", True),
        ("AccessDenied", True),
        ("AccessDeniedException", True),
        ("ThrottlingException", False),
        ("Client.AccessDenied", False),
        ("accessdenied", False),
        ("Client.UnauthorizedOperationX", False),
        (None, False),
    ],
)
def test_cloudwatch_2_error_codes(error_code, expected):
    record = one(stratus("credential-access.ec2-get-password-data"), eventName="GetPasswordData")
    record.pop("errorCode", None)
    if error_code is not None:
        record["errorCode"] = error_code
    assert fires("CloudWatch.2", record) is expected


def test_cloudwatch_2_on_real_denials():
    password_data = stratus("credential-access.ec2-get-password-data")
    denied = [r for r in password_data if r.get("errorCode") == "Client.UnauthorizedOperation"]
    assert len(denied) >= 10
    assert all(fires("CloudWatch.2", r) for r in denied)
    assert all(severity("CloudWatch.2", r) == Severity.LOW for r in denied)
    assume_role = one(password_data, eventName="AssumeRole", errorCode="AccessDenied")
    assert fires("CloudWatch.2", assume_role)
    leave = one(stratus("defense-evasion.organizations-leave"), eventName="LeaveOrganization")
    assert fires("CloudWatch.2", leave)
    awsdocs = decoded("events/awsdocs_log_files/cloudtrail-log-file-examples_block8_records.json")
    assert not fires("CloudWatch.2", one(awsdocs, errorCode="TrailNotFoundException"))


def test_cloudwatch_3_console_sign_in_without_mfa():
    stratus_login = one(stratus("initial-access.console-login-without-mfa"), type="IAMUser")
    assert fires("CloudWatch.3", stratus_login)
    assert severity("CloudWatch.3", stratus_login) == Severity.MEDIUM
    docs_login = decoded(
        f"{LOG_FILES}/awsdocs_cloudtrail-event-reference-aws-console-sign-in-events"
        "_block0_records.json.gz"
    )[0]
    assert docs_login["additionalEventData"]["MFAUsed"] == "No"
    assert fires("CloudWatch.3", docs_login)
    logins = console_logins()
    with_mfa = one(
        logins, type="IAMUser", errorMessage=None, eventID="fed06f42-cb12-4764-8c69-121063dc79b9"
    )
    assert with_mfa["additionalEventData"]["MFAUsed"] == "Yes"
    assert not fires("CloudWatch.3", with_mfa)
    assert not fires(
        "CloudWatch.3", one(logins, type="IAMUser", errorMessage="Failed authentication")
    )
    assert not fires("CloudWatch.3", one(logins, type="Root", errorMessage=None))
    # Case-sensitive like the filter, and a record that does not say MFAUsed counts as without.
    with_mfa["additionalEventData"]["MFAUsed"] = "YES"
    assert fires("CloudWatch.3", with_mfa)
    del with_mfa["additionalEventData"]["MFAUsed"]
    assert fires("CloudWatch.3", with_mfa)
    federated = {
        **stratus_login,
        "userIdentity": {**stratus_login["userIdentity"], "type": "AssumedRole"},
    }
    assert not fires("CloudWatch.3", federated)


def test_cloudwatch_6_console_authentication_failures():
    logins = console_logins()
    failed_user = one(logins, type="IAMUser", errorMessage="Failed authentication")
    failed_root = one(logins, type="Root", errorMessage="Failed authentication")
    assert "errorCode" not in failed_user  # why the rule must not be failure-only
    assert fires("CloudWatch.6", failed_user)
    assert severity("CloudWatch.6", failed_user) == Severity.LOW
    assert fires("CloudWatch.6", failed_root)
    assert severity("CloudWatch.6", failed_root) == Severity.MEDIUM
    assert not any(fires("CloudWatch.6", r) for r in logins if "errorMessage" not in r)
    unknown_user = {**failed_user, "errorMessage": "No username found in supplied account"}
    assert not fires("CloudWatch.6", unknown_user)


@pytest.mark.parametrize(
    "control_id", ["CloudWatch.7", "CloudWatch.8", "CloudWatch.9", ORGANIZATIONS]
)
def test_event_source_constraint_holds(control_id):
    (source,) = CONTROLS[control_id].event_sources
    for name in sorted(CONTROLS[control_id].event_names):
        record = {
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "userName": "alice"},
            "eventSource": source,
            "eventName": name,
            "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333",
        }
        assert fires(control_id, record), name
        assert not fires(control_id, {**record, "eventSource": "iot.amazonaws.com"}), name


def test_cloudwatch_4_counts_same_named_calls_of_other_services_like_the_filter():
    attach = one(stratus("persistence.iam-create-backdoor-role"), eventName="AttachRolePolicy")
    assert fires("CloudWatch.4", attach)
    assert severity("CloudWatch.4", attach) == Severity.MEDIUM
    org_policy = {
        **attach,
        "eventSource": "organizations.amazonaws.com",
        "eventName": "CreatePolicy",
    }
    assert fires("CloudWatch.4", org_policy)
    assert fires(ORGANIZATIONS, org_policy)
    refused = {**attach, "errorCode": "AccessDenied"}
    assert fires("CloudWatch.4", refused)
    assert severity("CloudWatch.4", refused) == Severity.LOW


def test_cloudwatch_5_real_trail_tampering_is_high():
    stopped = one(stratus("defense-evasion.cloudtrail-stop"), eventName="StopLogging")
    deleted = one(stratus("defense-evasion.cloudtrail-delete"), eventName="DeleteTrail")
    assert severity("CloudWatch.5", stopped) == Severity.HIGH
    assert severity("CloudWatch.5", deleted) == Severity.HIGH
    selectors = one(
        stratus("defense-evasion.cloudtrail-event-selectors"), eventName="PutEventSelectors"
    )
    assert not fires("CloudWatch.5", selectors)


def test_cloudwatch_10_internet_open_ingress_is_high():
    opened = one(
        stratus("exfiltration.ec2-security-group-open-port-22-ingress"),
        eventName="AuthorizeSecurityGroupIngress",
    )
    assert severity("CloudWatch.10", opened) == Severity.HIGH
    private = copy.deepcopy(opened)
    private["requestParameters"]["cidrIp"] = "10.0.0.0/8"
    private["responseElements"]["securityGroupRuleSet"]["items"][0]["cidrIpv4"] = "10.0.0.0/8"
    assert severity("CloudWatch.10", private) == Severity.MEDIUM
    egress = {**opened, "eventName": "AuthorizeSecurityGroupEgress"}
    assert severity("CloudWatch.10", egress) == Severity.MEDIUM
