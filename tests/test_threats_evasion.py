"""Defense-evasion and audit-trail rules (threats pack) and the audit_logging predicates.

The predicates are tested on real-shaped records, mostly the real Stratus Red Team
detonations in tests/fixtures/shared_data, varied one field at a time. The rules are run,
on their own, over the real detonations of the defense-evasion techniques, both as the
catalogue lines hold them and as CloudTrail delivers them (CloudWatch Logs payloads and
S3 log files), and must report each with a medium or higher finding.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import Any

import pytest

from conftest import SHARED_DATA, decoded_items
from trailguard.config import Config
from trailguard.engine import Engine
from trailguard.model import Finding, Place, Severity, SourcedRecord
from trailguard.pipeline import Detector
from trailguard.rules.conditions import compile_condition
from trailguard.rules.context import RecordContext
from trailguard.rules.errors import RuleSyntaxError
from trailguard.rules.loader import load_rules
from trailguard.rules.packs import PACKS_DIR, load_packs
from trailguard.rules.rule import Rule
from trailguard.rules.ruleset import RuleSet
from trailguard.tally import InputTally

THREATS = PACKS_DIR / "threats"
EVASION_RULES = (
    "audit_tampering_denied",
    "cloudtrail_created",
    "cloudtrail_deleted",
    "cloudtrail_event_selectors_weakened",
    "cloudtrail_lake_disabled",
    "cloudtrail_logs_deleted",
    "cloudtrail_redirected",
    "cloudtrail_stopped",
    "cloudtrail_weakened",
    "cloudwatch_monitoring_removed",
    "config_recording_disabled",
    "dns_query_logging_deleted",
    "ebs_default_encryption_disabled",
    "eventbridge_rule_disabled",
    "guardduty_disabled",
    "guardduty_findings_suppressed",
    "kms_key_disabled",
    "kms_key_material_imported",
    "log_bucket_lifecycle_shortened",
    "log_group_deleted",
    "log_retention_shortened",
    "organizations_account_left",
    "organizations_scp_removed",
    "region_enabled",
    "securityhub_disabled",
    "securityhub_findings_suppressed",
    "vpc_flow_logs_deleted",
    "waf_ip_set_changed",
)
DETONATIONS = SHARED_DATA / "events" / "stratus_detonations.jsonl"
STRATUS_EXPECTED = {
    "aws.defense-evasion.cloudtrail-stop": ("threats.cloudtrail_stopped", Severity.HIGH),
    "aws.defense-evasion.cloudtrail-delete": ("threats.cloudtrail_deleted", Severity.HIGH),
    "aws.defense-evasion.cloudtrail-event-selectors": (
        "threats.cloudtrail_event_selectors_weakened",
        Severity.HIGH,
    ),
    # Deleting a configuration (no VPC can be attached any more) is medium; detaching is high.
    "aws.defense-evasion.dns-delete-logs": ("threats.dns_query_logging_deleted", Severity.MEDIUM),
    # The detonation's LeaveOrganization was denied: an attempt, medium.
    "aws.defense-evasion.organizations-leave": (
        "threats.organizations_account_left",
        Severity.MEDIUM,
    ),
    "aws.defense-evasion.vpc-remove-flow-logs": ("threats.vpc_flow_logs_deleted", Severity.HIGH),
}
"""Each Stratus technique with a real detonation in the shared data, the rule that must
report it, and the severity it must get."""


@cache
def evasion_rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for name in EVASION_RULES:
        rules += load_rules(THREATS / f"{name}.yaml", first_ordinal=len(rules))
    return tuple(rules)


def run(rules: Iterable[Rule], items: Iterable[SourcedRecord]) -> list[Finding]:
    detector = Detector(Engine([RuleSet("threats", list(rules))]))
    return list(detector.run(items, InputTally()))


@cache
def detonations() -> dict[str, list[dict[str, Any]]]:
    by_technique: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in DETONATIONS.read_text().splitlines():
        entry = json.loads(line)
        by_technique[entry["technique"]].append(entry["event"])
    return dict(by_technique)


def detonation(technique: str, event_name: str) -> dict[str, Any]:
    """A deep copy of a technique's (first) real record with that event name."""
    for record in detonations()[technique]:
        if record["eventName"] == event_name:
            return copy.deepcopy(record)
    raise LookupError((technique, event_name))


def sourced(records: Iterable[dict[str, Any]], where: str) -> list[SourcedRecord]:
    return [SourcedRecord(r, Place(where, f"records[{i}]")) for i, r in enumerate(records)]


def holds(condition: dict[str, Any], record: dict[str, Any]) -> bool:
    return compile_condition(condition).test(RecordContext(record))


# --- the rule files ------------------------------------------------------------------------------


def test_each_rule_file_holds_the_rule_named_after_it():
    assert sorted(EVASION_RULES) == list(EVASION_RULES)
    for name in EVASION_RULES:
        [rule] = load_rules(THREATS / f"{name}.yaml")
        assert rule.rule_id == f"threats.{name}"


@pytest.mark.parametrize("rule", evasion_rules(), ids=lambda rule: rule.rule_id)
def test_rule_names_pci_dss_and_attack_or_cis(rule):
    assert rule.references.get("pci_dss")
    assert rule.runbook
    assert rule.tags
    assert {"mitre_attack", "cis_aws", "securityhub"} & set(rule.references) or (
        rule.rule_id == "threats.ebs_default_encryption_disabled"
    )


@pytest.mark.parametrize("rule", evasion_rules(), ids=lambda rule: rule.rule_id)
def test_rule_tests_cover_both_outcomes_and_a_severity(rule):
    assert any(t.expect_match and t.severity is not None for t in rule.tests)
    assert any(not t.expect_match for t in rule.tests)


# --- Stratus Red Team: every defense-evasion detonation is reported --------------------------


def test_every_detonated_defense_evasion_technique_is_listed():
    detonated = {t for t in detonations() if t.startswith("aws.defense-evasion.")}
    assert detonated == set(STRATUS_EXPECTED)


@pytest.mark.parametrize("technique", sorted(STRATUS_EXPECTED))
def test_stratus_detonation_raises_a_medium_or_higher_finding(technique):
    findings = run(evasion_rules(), sourced(detonations()[technique], technique))
    rule_id, severity = STRATUS_EXPECTED[technique]
    assert [f for f in findings if f.severity >= Severity.MEDIUM]
    assert (rule_id, severity) in [(f.rule_id, f.severity) for f in findings]


@pytest.mark.parametrize("technique", sorted(STRATUS_EXPECTED))
def test_stratus_detonation_is_reported_as_cloudtrail_delivers_it(technique):
    """The same records through the real envelopes: a CloudWatch Logs subscription payload
    and a gzipped S3 log file, decoded as the CLI and the Lambda decode them."""
    rule_id, severity = STRATUS_EXPECTED[technique]
    for relative in (
        f"envelopes/cloudwatch_logs/stratus_awslogs/stratus_{technique}.json",
        f"envelopes/s3/cloudtrail_log_files/stratus_{technique}.json.gz",
    ):
        findings = run(evasion_rules(), decoded_items(relative))
        assert (rule_id, severity) in [(f.rule_id, f.severity) for f in findings], relative


def test_stratus_detonations_are_reported_with_the_shipped_packs():
    """load_packs with only the threats pack (all of its rules, not only these) still gives the
    expected findings, and the rule ids are unique across the pack."""
    config = Config(packs={"catalog": False, "cis": False})
    loaded = load_packs(config)
    detector = Detector(Engine(loaded.packs), config)
    for technique, (rule_id, severity) in STRATUS_EXPECTED.items():
        findings = list(detector.run(sourced(detonations()[technique], technique), InputTally()))
        assert (rule_id, severity) in [(f.rule_id, f.severity) for f in findings], technique


def test_other_stratus_techniques_raise_nothing_high_from_these_rules():
    """False-positive check: persistence, exfiltration, credential access and the rest are
    not defense evasion, and these rules must not call them high."""
    others = [
        SourcedRecord(record, Place(technique))
        for technique, records in detonations().items()
        if technique not in STRATUS_EXPECTED
        for record in records
    ]
    assert len(others) > 200
    findings = run(evasion_rules(), others)
    assert not [(f.rule_id, f.place.location) for f in findings if f.severity >= Severity.HIGH]


# --- predicate: event_selectors_drop_management --------------------------------------------------

SELECTORS = {"predicate": "event_selectors_drop_management"}


def stratus_selectors() -> dict[str, Any]:
    return detonation("aws.defense-evasion.cloudtrail-event-selectors", "PutEventSelectors")


def test_selectors_the_stratus_detonation_drops_management_events():
    assert holds(SELECTORS, stratus_selectors())


@pytest.mark.parametrize(
    ("changes", "dropped"),
    [
        ({"includeManagementEvents": True, "readWriteType": "All"}, False),
        ({"includeManagementEvents": True, "readWriteType": "WriteOnly"}, False),
        ({"includeManagementEvents": True, "readWriteType": "ReadOnly"}, True),
        ({"includeManagementEvents": False, "readWriteType": "All"}, True),
        # Both keys are optional in the API; their defaults record everything.
        ({"includeManagementEvents": None, "readWriteType": None}, False),
    ],
)
def test_selectors_basic(changes, dropped):
    record = stratus_selectors()
    selector = record["requestParameters"]["eventSelectors"][0]
    for key, value in changes.items():
        if value is None:
            selector.pop(key)
        else:
            selector[key] = value
    assert holds(SELECTORS, record) is dropped


def test_selectors_one_selector_keeping_writes_is_enough():
    record = stratus_selectors()
    selectors = record["requestParameters"]["eventSelectors"]
    selectors.append({"readWriteType": "WriteOnly", "includeManagementEvents": True})
    assert not holds(SELECTORS, record)


def advanced(*selectors: list[dict[str, Any]]) -> dict[str, Any]:
    record = stratus_selectors()
    params = record["requestParameters"]
    del params["eventSelectors"]
    params["advancedEventSelectors"] = [
        {"name": f"selector {i}", "fieldSelectors": fields} for i, fields in enumerate(selectors)
    ]
    return record


MANAGEMENT = {"field": "eventCategory", "equals": ["Management"]}
S3_DATA = [
    {"field": "eventCategory", "equals": ["Data"]},
    {"field": "resources.type", "equals": ["AWS::S3::Object"]},
]


@pytest.mark.parametrize(
    ("selectors", "dropped"),
    [
        ([[MANAGEMENT]], False),
        ([[MANAGEMENT, {"field": "readOnly", "equals": ["false"]}]], False),
        ([[MANAGEMENT, {"field": "readOnly", "equals": ["true"]}]], True),
        ([[MANAGEMENT, {"field": "readOnly", "notEquals": ["false"]}]], True),
        ([S3_DATA], True),
        ([S3_DATA, [MANAGEMENT]], False),
        ([[MANAGEMENT, {"field": "readOnly", "equals": ["true"]}], S3_DATA], True),
    ],
)
def test_selectors_advanced(selectors, dropped):
    assert holds(SELECTORS, advanced(*selectors)) is dropped


@pytest.mark.parametrize(
    "params",
    [
        None,
        "null",
        {},
        {"trailName": "t", "eventSelectors": "garbage"},
        {"eventSelectors": [7]},
        {"advancedEventSelectors": ["x"]},
    ],
)
def test_selectors_malformed_requests_are_not_a_drop(params):
    record = stratus_selectors()
    record["requestParameters"] = params
    assert not holds(SELECTORS, record)


# --- predicate: lifecycle_expires_within ---------------------------------------------------------


def lifecycle(*rules: dict[str, Any], bucket: str = "acme-cloudtrail-111122223333") -> Any:
    """A PutBucketLifecycle record as S3 logs it (one rule is an object, several a list)."""
    return {
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEDEVUSER01",
            "arn": "arn:aws:iam::111122223333:user/dev-admin",
            "accountId": "111122223333",
            "userName": "dev-admin",
        },
        "eventTime": "2024-04-02T10:16:12Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketLifecycle",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.66",
        "userAgent": "[aws-cli/2.15.30]",
        "requestParameters": {
            "bucketName": bucket,
            "Host": f"{bucket}.s3.us-east-1.amazonaws.com",
            "lifecycle": "",
            "LifecycleConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                "Rule": rules[0] if len(rules) == 1 else list(rules),
            },
        },
        "responseElements": None,
        "eventID": "0d9c7a3e-5b1f-4e2d-8c6a-9f0e1d2c3b4a",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }


def expires(days: int, **more: Any) -> dict[str, Any]:
    return {"predicate": "lifecycle_expires_within", "args": {"days": days, **more}}


def lc_rule(**fields: Any) -> dict[str, Any]:
    return {"ID": "r", "Status": "Enabled", **fields}


@pytest.mark.parametrize(
    ("lifecycle_rule", "within_7", "within_364"),
    [
        (lc_rule(Expiration={"Days": 1}), True, True),
        (lc_rule(Expiration={"Days": "1"}), True, True),  # numbers may come as text
        (lc_rule(Expiration={"Days": 90}), False, True),
        (lc_rule(Expiration={"Days": 365}), False, False),
        (lc_rule(Expiration={"Days": 1}, Status="Disabled"), False, False),
        (lc_rule(NoncurrentVersionExpiration={"NoncurrentDays": 3}), True, True),
        (lc_rule(Transition={"Days": 1, "StorageClass": "GLACIER"}), False, False),
        (lc_rule(Expiration={"ExpiredObjectDeleteMarker": True}), False, False),
        # A fixed date: everything covered goes on that day, at once if it has passed.
        (lc_rule(Expiration={"Date": "2024-04-01T00:00:00.000Z"}), True, True),
        (lc_rule(Expiration={"Date": "2024-06-01T00:00:00Z"}), False, True),
        (lc_rule(Expiration={"Date": "2026-01-01T00:00:00Z"}), False, False),
        (lc_rule(Expiration={"Date": "someday"}), False, False),
    ],
)
def test_lifecycle_expiry(lifecycle_rule, within_7, within_364):
    record = lifecycle(lifecycle_rule)
    assert holds(expires(7), record) is within_7
    assert holds(expires(364), record) is within_364


LOG_KEYS = r"(^|/)AWSLogs/|(^|/)CloudTrail"


@pytest.mark.parametrize(
    ("lifecycle_rule", "covers_logs"),
    [
        (lc_rule(Expiration={"Days": 1}, Filter={"Prefix": "AWSLogs/"}), True),
        (lc_rule(Expiration={"Days": 1}, Filter={"Prefix": "org/AWSLogs/o-abc/"}), True),
        (lc_rule(Expiration={"Days": 1}, Prefix="AWSLogs/111122223333/CloudTrail/"), True),
        (lc_rule(Expiration={"Days": 1}, Filter={"And": {"Prefix": "AWSLogs/", "Tag": []}}), False),
        (lc_rule(Expiration={"Days": 1}, Filter={"And": {"Prefix": "AWSLogs/"}}), True),
        (lc_rule(Expiration={"Days": 1}, Filter={"Tag": {"Key": "scratch", "Value": "1"}}), False),
        (lc_rule(Expiration={"Days": 1}, Filter={"Prefix": "tmp/"}), False),
        # A whole-bucket rule has the prefix "": it covers the logs only if the regex allows it.
        (lc_rule(Expiration={"Days": 1}, Filter=""), False),
        (lc_rule(Expiration={"Days": 1}, Filter={}), False),
    ],
)
def test_lifecycle_prefix(lifecycle_rule, covers_logs):
    assert holds(expires(364, prefix_regex=LOG_KEYS), lifecycle(lifecycle_rule)) is covers_logs


def test_lifecycle_whole_bucket_rule_matches_an_empty_prefix_regex():
    assert holds(expires(7, prefix_regex="^$"), lifecycle(lc_rule(Expiration={"Days": 1})))
    assert not holds(
        expires(7, prefix_regex="^$"),
        lifecycle(lc_rule(Expiration={"Days": 1}, Filter={"Prefix": "tmp/"})),
    )


def test_lifecycle_each_rule_is_judged_on_its_own():
    """A short rule on tmp/ and a long one on AWSLogs/ do not add up to a short one on logs."""
    record = lifecycle(
        lc_rule(ID="tmp", Expiration={"Days": 1}, Filter={"Prefix": "tmp/"}),
        lc_rule(ID="logs", Expiration={"Days": 400}, Filter={"Prefix": "AWSLogs/"}),
    )
    assert holds(expires(7), record)
    assert not holds(expires(364, prefix_regex=LOG_KEYS), record)


@pytest.mark.parametrize(
    "params",
    [None, {}, {"LifecycleConfiguration": ""}, {"LifecycleConfiguration": {"Rule": ["x", 3]}}],
)
def test_lifecycle_malformed_requests(params):
    record = lifecycle(lc_rule(Expiration={"Days": 1}))
    record["requestParameters"] = params
    assert not holds(expires(364), record)


def test_lifecycle_days_is_required_and_typed():
    with pytest.raises(RuleSyntaxError):
        compile_condition({"predicate": "lifecycle_expires_within"})
    with pytest.raises(RuleSyntaxError):
        compile_condition(expires(True))


# --- predicate: arn_outside_account --------------------------------------------------------------

KMS_PATH = {"predicate": "arn_outside_account", "args": {"path": "requestParameters.kmsKeyId"}}


def update_trail(kms_key_id: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::123456789012:user/Alice",
            "accountId": "123456789012",
            "userName": "Alice",
        },
        "eventTime": "2024-03-04T19:41:27Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "UpdateTrail",
        "awsRegion": "us-west-2",
        "requestParameters": {"name": "Trail1", "kmsKeyId": kms_key_id},
        "eventID": "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012",
    }


@pytest.mark.parametrize(
    ("key", "outside"),
    [
        ("arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", True),
        ("arn:aws-us-gov:kms:us-gov-west-1:444455556666:alias/trail", True),
        ("arn:aws:kms:us-west-2:123456789012:key/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", False),
        ("1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d", False),  # a bare key id is the caller's own
        ("alias/trail-key", False),
        ("", False),
        (None, False),
        (["arn:aws:kms:us-west-2:444455556666:key/x"], True),
    ],
)
def test_arn_outside_account(key, outside):
    assert holds(KMS_PATH, update_trail(key)) is outside


def test_arn_outside_account_falls_back_to_the_actor_account():
    record = update_trail("arn:aws:kms:us-west-2:444455556666:key/x")
    del record["recipientAccountId"]
    assert holds(KMS_PATH, record)
    record["userIdentity"]["accountId"] = "444455556666"
    assert not holds(KMS_PATH, record)


# --- rules on varied real records ----------------------------------------------------------------


def findings_for(record: dict[str, Any]) -> dict[str, Severity]:
    return {f.rule_id: f.severity for f in run(evasion_rules(), sourced([record], "varied"))}


def test_stratus_stop_as_root_is_critical_and_denied_is_the_attempt_rule():
    record = detonation("aws.defense-evasion.cloudtrail-stop", "StopLogging")
    account = record["recipientAccountId"]
    record["userIdentity"] = {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
    }
    assert findings_for(record) == {"threats.cloudtrail_stopped": Severity.CRITICAL}
    record["errorCode"] = "AccessDenied"
    assert findings_for(record) == {"threats.audit_tampering_denied": Severity.HIGH}


def test_stratus_leave_organization_succeeding_is_high():
    record = detonation("aws.defense-evasion.organizations-leave", "LeaveOrganization")
    del record["errorCode"], record["errorMessage"]
    assert findings_for(record) == {"threats.organizations_account_left": Severity.HIGH}


def test_stratus_dns_detachment_is_high_and_by_root_critical():
    record = detonation("aws.defense-evasion.dns-delete-logs", "DeleteResolverQueryLogConfig")
    record["eventName"] = "DisassociateResolverQueryLogConfig"
    record["requestParameters"]["resourceId"] = "vpc-03cd5a7e9b1f24680"
    assert findings_for(record) == {"threats.dns_query_logging_deleted": Severity.HIGH}
    record["userIdentity"] = {"type": "Root", "accountId": record["recipientAccountId"]}
    assert findings_for(record) == {"threats.dns_query_logging_deleted": Severity.CRITICAL}


def test_stratus_event_selectors_keeping_management_events_is_quiet():
    record = stratus_selectors()
    record["requestParameters"]["eventSelectors"][0]["includeManagementEvents"] = True
    record["requestParameters"]["eventSelectors"][0]["readWriteType"] = "All"
    assert findings_for(record) == {}


def test_stratus_flow_log_dry_run_is_quiet():
    record = detonation("aws.defense-evasion.vpc-remove-flow-logs", "DeleteFlowLogs")
    record["errorCode"] = "Client.DryRunOperation"
    assert findings_for(record) == {}


def test_the_rules_do_not_break_on_malformed_records():
    """Every rule meets every shape of garbage in the fields it reads, without raising."""
    base = detonation("aws.defense-evasion.cloudtrail-stop", "StopLogging")
    tally = InputTally()
    items: list[SourcedRecord] = []
    for each in evasion_rules():
        for source in each.event_sources or {"cloudtrail.amazonaws.com"}:
            for name in each.event_names or {"StopLogging"}:
                for garbage in (None, "null", [], {}, 7, {"LifecycleConfiguration": [1]}):
                    record = dict(base, eventSource=source, eventName=name)
                    record["requestParameters"] = garbage
                    record["responseElements"] = garbage
                    record["userIdentity"] = garbage
                    items.append(SourcedRecord(record, Place("garbage")))
    detector = Detector(Engine([RuleSet("threats", list(evasion_rules()))]))
    list(detector.run(items, tally))
    assert not tally.errors


def test_rules_load_from_the_folder_in_file_order():
    folder_ids = [
        r.rule_id for r in load_rules(THREATS) if r.rule_id.split(".")[1] in EVASION_RULES
    ]
    assert folder_ids == [f"threats.{name}" for name in EVASION_RULES]
