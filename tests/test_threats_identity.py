"""Identity, credential and access threat rules, and their predicates.

The rules must fire on the real Stratus Red Team detonations they are written for, in file
order (thresholds need the whole burst), and on nothing else in that corpus; the console
sign-in examples of the CloudTrail user guide pin down the MFA rule. The predicates are
checked on real-shaped records: the Stratus events themselves, edited one field at a time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest

from conftest import SHARED_DATA, decoded_items, stratus_event, stratus_events, stratus_lines
from conftest import check_predicate as check
from trailguard.engine import Engine
from trailguard.model import Finding, Place, Severity, SourcedRecord
from trailguard.pipeline import Detector
from trailguard.rules.errors import RuleSyntaxError
from trailguard.rules.loader import load_rules
from trailguard.rules.packs import PACKS_DIR
from trailguard.rules.predicates import registered
from trailguard.rules.ruleset import RuleSet
from trailguard.tally import InputTally

RULE_NAMES = (
    "root_write_activity",
    "root_console_login",
    "root_login_failures",
    "root_access_key_created",
    "console_login_without_mfa",
    "console_login_failures_per_user",
    "console_login_failures_per_source_ip",
    "access_denied_burst",
    "iam_admin_policy_granted",
    "iam_credentials_for_other_user",
    "iam_mfa_device_removed",
    "iam_role_trust_opened",
    "signin_token_from_credentials",
    "sts_federation_token_by_user",
    "secret_scanner_key_check",
    "secretsmanager_read_burst",
    "secretsmanager_batch_read_burst",
    "ssm_securestring_bulk_read",
    "ssm_securestring_read_burst",
    "iam_password_policy_deleted",
    "iam_password_policy_weak",
    "rolesanywhere_trust_created",
)
RULE_IDS = {f"threats.{name}" for name in RULE_NAMES}
STRATUS = SHARED_DATA / "events" / "stratus_detonations.jsonl"
USER_GUIDE = SHARED_DATA / "events" / "awsdocs_userguide_events.jsonl"

# Each technique these rules are written for, and the rule(s) that must report it.
EXPECTED: dict[str, set[str]] = {
    "aws.initial-access.console-login-without-mfa": {"threats.console_login_without_mfa"},
    "aws.credential-access.ec2-get-password-data": {"threats.access_denied_burst"},
    "aws.discovery.ec2-download-user-data": {"threats.access_denied_burst"},
    "aws.persistence.iam-create-admin-user": {
        "threats.iam_admin_policy_granted",
        "threats.iam_credentials_for_other_user",
    },
    "aws.persistence.iam-create-backdoor-role": {
        "threats.iam_admin_policy_granted",
        "threats.iam_role_trust_opened",
    },
    "aws.persistence.iam-backdoor-user": {"threats.iam_credentials_for_other_user"},
    "aws.persistence.iam-create-user-login-profile": {"threats.iam_credentials_for_other_user"},
    "aws.privilege-escalation.iam-update-user-login-profile": {
        "threats.iam_credentials_for_other_user"
    },
    "aws.persistence.iam-backdoor-role": {"threats.iam_role_trust_opened"},
    "aws.persistence.sts-federation-token": {"threats.sts_federation_token_by_user"},
    "aws.credential-access.secretsmanager-retrieve-secrets": {"threats.secretsmanager_read_burst"},
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": {
        "threats.secretsmanager_batch_read_burst"
    },
    "aws.credential-access.ssm-retrieve-securestring-parameters": {
        "threats.ssm_securestring_bulk_read"
    },
    "aws.persistence.rolesanywhere-create-trust-anchor": {"threats.rolesanywhere_trust_created"},
}


@cache
def my_rules() -> tuple[Any, ...]:
    folder = PACKS_DIR / "threats"
    return tuple(rule for name in RULE_NAMES for rule in load_rules(folder / f"{name}.yaml"))


def detect(records: list[Mapping[str, Any]], place: str = "test") -> list[Finding]:
    detector = Detector(Engine([RuleSet("threats", list(my_rules()))]))
    items = [SourcedRecord(dict(r), Place(place, f"[{i}]")) for i, r in enumerate(records)]
    tally = InputTally()
    findings = list(detector.run(items, tally))
    assert not tally.errors, [error.message() for error in tally.errors]
    return findings


# --- the rules on the real Stratus detonations ---------------------------------------------


def test_the_rules_under_test_all_load_and_are_documented():
    assert {rule.rule_id for rule in my_rules()} == RULE_IDS
    for rule in my_rules():
        assert rule.references.get("pci_dss"), rule.rule_id
        assert rule.references.get("mitre_attack"), rule.rule_id
        assert rule.runbook, rule.rule_id
        assert rule.tags, rule.rule_id


@pytest.mark.parametrize("technique", sorted(EXPECTED))
def test_stratus_technique_is_detected_at_medium_or_above(technique):
    events = stratus_events(technique)
    assert events, f"no Stratus events for {technique}"
    serious = {f.rule_id for f in detect(events, technique) if f.severity >= Severity.MEDIUM}
    assert EXPECTED[technique] <= serious, (technique, sorted(serious))


def test_other_stratus_techniques_raise_nothing_from_these_rules():
    others = [event for name, event in stratus_lines() if name not in EXPECTED]
    assert others
    assert [(f.rule_id, f.record.get("eventName")) for f in detect(others)] == []


@pytest.mark.parametrize("technique", sorted(EXPECTED))
def test_stratus_log_files_as_delivered_give_the_same_findings(technique):
    """The same detonations read from the CloudTrail log files (.json.gz) S3 receives."""
    items = decoded_items(f"envelopes/s3/cloudtrail_log_files/stratus_{technique}.json.gz")
    detector = Detector(Engine([RuleSet("threats", list(my_rules()))]))
    rule_ids = {f.rule_id for f in detector.run(items, InputTally())}
    assert EXPECTED[technique] <= rule_ids


@pytest.mark.parametrize(
    ("technique", "event_name", "total", "seconds", "alerts"),
    [
        # 30 refusals in 6 s: one alert for the burst (cooldown), the count chosen to fire
        # on both bursts.
        ("aws.credential-access.ec2-get-password-data", "GetPasswordData", 30, 5, 1),
        ("aws.discovery.ec2-download-user-data", "DescribeInstanceAttribute", 15, 4, 1),
    ],
)
def test_access_denied_bursts_in_the_data_and_the_alerts_they_give(
    technique, event_name, total, seconds, alerts
):
    events = stratus_events(technique)
    refused = [e for e in events if e["eventName"] == event_name]
    assert len(refused) == total
    assert {e["userIdentity"]["arn"] for e in refused} == {refused[0]["userIdentity"]["arn"]}
    times = sorted(e["eventTime"] for e in refused)
    assert int(times[-1][-3:-1]) - int(times[0][-3:-1]) == seconds  # same minute in both
    findings = [f for f in detect(events) if f.rule_id == "threats.access_denied_burst"]
    assert len(findings) == alerts
    assert all(f.context and f.context["threshold"]["count"] == 10 for f in findings)
    # The AssumeRole refusals of the user who set the role up are another actor's.
    assert {f.record["userIdentity"]["type"] for f in findings} == {"AssumedRole"}


def test_secret_read_bursts_fire_in_file_order_and_in_time_order():
    """File order is newest first; the threshold must not depend on arrival order."""
    for technique, rule_id in [
        (
            "aws.credential-access.secretsmanager-retrieve-secrets",
            "threats.secretsmanager_read_burst",
        ),
        (
            "aws.credential-access.secretsmanager-batch-retrieve-secrets",
            "threats.secretsmanager_batch_read_burst",
        ),
        (
            "aws.credential-access.ssm-retrieve-securestring-parameters",
            "threats.ssm_securestring_bulk_read",
        ),
    ]:
        events = stratus_events(technique)
        in_time_order = sorted(events, key=lambda e: e["eventTime"])
        for ordering in (events, in_time_order):
            assert rule_id in {f.rule_id for f in detect(ordering)}, (technique, rule_id)


def test_ssm_stratus_reads_all_ask_for_decryption():
    events = stratus_events("aws.credential-access.ssm-retrieve-securestring-parameters")
    reads = [e for e in events if e["eventName"] == "GetParameters"]
    assert len(reads) == 5
    assert all(e["requestParameters"]["withDecryption"] is True for e in reads)
    without = copy.deepcopy(reads)
    for event in without:
        event["requestParameters"]["withDecryption"] = False
    assert detect(without) == []


def test_batch_secret_reads_by_filter_are_high():
    events = stratus_events("aws.credential-access.secretsmanager-batch-retrieve-secrets")
    [finding] = detect(events)
    assert finding.severity is Severity.HIGH
    assert finding.title.endswith("(3 in 10m)")


def test_backdoor_role_creation_is_reported_for_its_trust_and_for_its_admin_policy():
    findings = detect(stratus_events("aws.persistence.iam-create-backdoor-role"))
    assert sorted((f.record["eventName"], f.rule_id, f.severity) for f in findings) == [
        ("AttachRolePolicy", "threats.iam_admin_policy_granted", Severity.HIGH),
        ("CreateRole", "threats.iam_role_trust_opened", Severity.HIGH),
    ]


def test_backdoor_role_trust_becomes_critical_when_opened_to_everyone():
    event = stratus_event("aws.persistence.iam-backdoor-role", "UpdateAssumeRolePolicy")
    event["requestParameters"]["policyDocument"] = event["requestParameters"][
        "policyDocument"
    ].replace('"arn:aws:iam::193672423079:root"', '"*"')
    [finding] = detect([event])
    assert finding.severity is Severity.CRITICAL


def test_federation_token_title_and_severity():
    events = stratus_events("aws.persistence.sts-federation-token")
    [finding] = detect(events)
    assert finding.severity is Severity.HIGH  # the session policy passes everything through
    assert finding.title == (
        "Federation token issued to IAMUser stratus-red-team-user-federation-user: stratus_red_team"
    )


# --- console sign-in examples of the CloudTrail user guide ----------------------------------


@cache
def user_guide_sign_ins() -> tuple[dict[str, Any], ...]:
    events = []
    for text in USER_GUIDE.read_text().splitlines():
        event = json.loads(text)["event"]
        if isinstance(event, dict) and event.get("eventName") == "ConsoleLogin":
            events.append(event)
    return tuple(events)


def test_user_guide_console_sign_ins_without_mfa():
    """IAM users and root signing in: only password-only successes are reported."""
    reported = []
    for event in user_guide_sign_ins():
        for finding in detect([event]):
            if finding.rule_id == "threats.console_login_without_mfa":
                identity = event["userIdentity"]
                name = identity.get("userName") or identity["type"]
                reported.append((name, event["responseElements"]["ConsoleLogin"], finding.severity))
    assert len(user_guide_sign_ins()) == 7
    assert sorted(reported) == [
        ("Mary_Major", "Success", Severity.MEDIUM),
        ("Root", "Success", Severity.HIGH),
        ("anaya", "Success", Severity.MEDIUM),
    ]


def test_user_guide_log_file_of_sign_ins():
    items = decoded_items(
        "envelopes/s3/cloudtrail_log_files/"
        "awsdocs_cloudtrail-event-reference-aws-console-sign-in-events_block0_records.json.gz"
    )
    detector = Detector(Engine([RuleSet("threats", list(my_rules()))]))
    findings = list(detector.run(items, InputTally()))
    assert [(f.rule_id, f.severity) for f in findings] == [
        ("threats.console_login_without_mfa", Severity.MEDIUM)
    ]


def test_root_sign_in_rules_on_the_user_guide_examples():
    root = [e for e in user_guide_sign_ins() if e["userIdentity"]["type"] == "Root"]
    outcomes = sorted(
        (e["responseElements"]["ConsoleLogin"], f.rule_id) for e in root for f in detect([e])
    )
    assert outcomes == [
        ("Success", "threats.console_login_without_mfa"),  # the MFAUsed "No" one
        ("Success", "threats.root_console_login"),
        ("Success", "threats.root_console_login"),
    ]
    failure = next(e for e in root if e["responseElements"]["ConsoleLogin"] == "Failure")
    attempts = [{**failure, "eventID": f"{failure['eventID']}-{n}"} for n in range(3)]
    findings = detect(attempts)  # three distinct failed attempts
    assert [f.rule_id for f in findings] == ["threats.root_login_failures"]


def test_root_writes_and_reads_from_the_user_guide():
    """EnableMFADevice by root is a critical IAM write; PasswordUpdated a credential change."""
    by_name = {
        e.get("eventName"): e
        for e in (json.loads(t)["event"] for t in USER_GUIDE.read_text().splitlines())
        if isinstance(e, dict)
    }
    [finding] = detect([by_name["EnableMFADevice"]])
    assert (finding.rule_id, finding.severity) == ("threats.root_write_activity", Severity.CRITICAL)
    [finding] = detect([by_name["PasswordUpdated"]])
    assert (finding.rule_id, finding.severity) == ("threats.root_write_activity", Severity.HIGH)
    assert detect([by_name["CheckMfa"]]) == []  # an IAM user's sign-in step


# --- targets_other_user ---------------------------------------------------------------------


def backdoor_key() -> dict[str, Any]:
    """christophe creates a key for stratus-red-team-backdoor-u-user (Stratus)."""
    return stratus_event("aws.persistence.iam-backdoor-user", "CreateAccessKey")


def other_user(record: Mapping[str, Any]) -> bool:
    return check("targets_other_user", record, path="requestParameters.userName")


def test_a_key_for_someone_else_targets_another_user():
    assert other_user(backdoor_key())


def test_a_key_for_oneself_does_not_whatever_the_case():
    event = backdoor_key()
    event["requestParameters"]["userName"] = "christophe"
    assert not other_user(event)
    event["requestParameters"]["userName"] = "CHRISTOPHE"
    assert not other_user(event)


def test_no_user_name_means_the_caller_itself():
    event = backdoor_key()
    event["requestParameters"] = None
    assert not other_user(event)
    event["requestParameters"] = {}
    assert not other_user(event)
    event["requestParameters"] = {"userName": ""}
    assert not other_user(event)
    event["requestParameters"] = {"userName": 42}
    assert not other_user(event)


def test_the_caller_name_comes_from_the_arn_when_user_name_is_missing():
    event = backdoor_key()
    del event["userIdentity"]["userName"]
    event["requestParameters"]["userName"] = "christophe"
    assert not other_user(event)
    event["requestParameters"]["userName"] = "someone-else"
    assert other_user(event)


def test_a_role_session_naming_a_user_targets_another_user():
    event = stratus_event("aws.credential-access.ec2-get-password-data", "GetPasswordData")
    role_identity = event["userIdentity"]
    event = backdoor_key()
    event["userIdentity"] = role_identity
    # Even a user named like the role's session: a role is never an IAM user.
    event["requestParameters"]["userName"] = role_identity["arn"].rsplit("/", 1)[-1]
    assert other_user(event)


def test_root_naming_itself_or_a_user():
    event = backdoor_key()
    event["userIdentity"] = {
        "type": "Root",
        "principalId": event["recipientAccountId"],
        "arn": f"arn:aws:iam::{event['recipientAccountId']}:root",
        "accountId": event["recipientAccountId"],
    }
    assert other_user(event)
    event["requestParameters"]["userName"] = "AWS ROOT USER"  # how IAM names root in requests
    assert not other_user(event)


def test_malformed_callers_do_not_match():
    event = backdoor_key()
    del event["userIdentity"]
    assert not other_user(event)
    event["userIdentity"] = {"type": "IAMUser", "accountId": event["recipientAccountId"]}
    assert not other_user(event)
    event["userIdentity"] = "christophe"
    assert not other_user(event)


def test_the_path_argument_is_followed_and_required():
    event = backdoor_key()
    assert check("targets_other_user", event, path="responseElements.accessKey.userName")
    assert not check("targets_other_user", event, path="requestParameters.groupName")
    predicate = registered()["targets_other_user"]
    with pytest.raises(RuleSyntaxError):
        predicate.check_args({}, "where")
    with pytest.raises(RuleSyntaxError):
        predicate.check_args({"path": ["requestParameters.userName"]}, "where")


# --- policy_grants_admin, admin_equivalent ---------------------------------------------------


def inline_policy(*statements: Any) -> dict[str, Any]:
    """The Stratus AttachUserPolicy call rewritten as a PutUserPolicy with this document."""
    event = stratus_event("aws.persistence.iam-create-admin-user", "AttachUserPolicy")
    event["eventName"] = "PutUserPolicy"
    params = event["requestParameters"]
    del params["policyArn"]
    params["policyName"] = "inline"
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    params["policyDocument"] = json.dumps(document)
    return event


def admin(record: Mapping[str, Any], equivalent: bool = True) -> bool:
    return check(
        "policy_grants_admin",
        record,
        path="requestParameters.policyDocument",
        admin_equivalent=equivalent,
    )


ALLOW = "Allow"


@pytest.mark.parametrize(
    ("statement", "literal", "equivalent"),
    [
        ({"Effect": ALLOW, "Action": "*", "Resource": "*"}, True, True),
        ({"Effect": ALLOW, "Action": ["s3:*", "*:*"], "Resource": ["*"]}, True, True),
        ({"Effect": ALLOW, "Action": "iam:*", "Resource": "*"}, False, True),
        ({"Effect": ALLOW, "Action": ["IAM:*"], "Resource": "*"}, False, True),
        ({"Effect": ALLOW, "Action": "*", "NotResource": "arn:aws:s3:::audit/*"}, False, True),
        ({"Effect": ALLOW, "NotAction": "s3:DeleteBucket", "Resource": "*"}, False, True),
        (
            {"Effect": ALLOW, "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
            False,
            False,
        ),
        ({"Effect": ALLOW, "NotAction": "iam:CreateUser", "Resource": "*"}, False, False),
        ({"Effect": ALLOW, "Action": "iam:PassRole", "Resource": "*"}, False, False),
        ({"Effect": ALLOW, "Action": "*", "Resource": "arn:aws:s3:::reports/*"}, False, False),
        ({"Effect": ALLOW, "Action": "s3:*", "Resource": "*"}, False, False),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, False, False),
        ({"Effect": ALLOW, "Resource": "*"}, False, False),
    ],
)
def test_admin_equivalent_statements(statement, literal, equivalent):
    event = inline_policy(statement)
    assert admin(event, equivalent=False) is literal
    assert admin(event) is equivalent


def test_without_the_flag_the_predicate_keeps_its_literal_meaning():
    event = inline_policy({"Effect": ALLOW, "Action": "iam:*", "Resource": "*"})
    assert not check("policy_grants_admin", event, path="requestParameters.policyDocument")
    event = inline_policy({"Effect": ALLOW, "Action": "*", "Resource": "*"})
    assert check("policy_grants_admin", event, path="requestParameters.policyDocument")


def test_admin_documents_in_every_shape_cloudtrail_writes():
    statement = {"Effect": ALLOW, "Action": "iam:*", "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": statement}  # a lone statement object
    event = inline_policy()
    event["requestParameters"]["policyDocument"] = quote(json.dumps(document))
    assert admin(event)
    event["requestParameters"]["policyDocument"] = document
    assert admin(event)
    event["requestParameters"]["policyDocument"] = "{not json"
    assert not admin(event)
    event["requestParameters"]["policyDocument"] = None
    assert not admin(event)


def test_one_admin_statement_among_others_is_enough():
    event = inline_policy(
        {"Effect": ALLOW, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"},
        {"Effect": ALLOW, "NotAction": ["ec2:*"], "Resource": "*"},
    )
    assert admin(event)
    assert not admin(event, equivalent=False)


def test_admin_equivalent_argument_must_be_a_boolean():
    predicate = registered()["policy_grants_admin"]
    predicate.check_args(
        {"path": "requestParameters.policyDocument", "admin_equivalent": True}, "w"
    )
    with pytest.raises(RuleSyntaxError):
        predicate.check_args(
            {"path": "requestParameters.policyDocument", "admin_equivalent": 1}, "w"
        )


# --- a few decisions the rules make, on real records -----------------------------------------


def test_root_write_without_read_only_field_uses_the_event_name():
    """Records without readOnly: Get/List/Describe/... are reads, anything else a change."""
    event = stratus_event("aws.persistence.iam-create-admin-user", "CreateUser")
    account = event["recipientAccountId"]
    event["userIdentity"] = {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
    }
    del event["readOnly"]
    [finding] = detect([event])
    assert (finding.rule_id, finding.severity) == ("threats.root_write_activity", Severity.CRITICAL)
    event["eventName"] = "GetUser"
    assert detect([event]) == []
    event["readOnly"] = "false"  # a present readOnly wins over the name
    assert [f.rule_id for f in detect([event])] == ["threats.root_write_activity"]
    event["readOnly"] = True
    assert detect([event]) == []


def test_console_login_rule_ignores_federated_sign_ins():
    event = stratus_event("aws.initial-access.console-login-without-mfa", "ConsoleLogin")
    assert [f.rule_id for f in detect([event])] == ["threats.console_login_without_mfa"]
    for kind in ("AssumedRole", "FederatedUser", "SAMLUser"):
        federated = copy.deepcopy(event)
        federated["userIdentity"]["type"] = kind
        assert detect([federated]) == [], kind
    with_mfa = copy.deepcopy(event)
    with_mfa["additionalEventData"]["MFAUsed"] = "yes"
    assert detect([with_mfa]) == []


def test_trufflehog_user_agent_is_matched_in_any_case():
    event = stratus_event("aws.persistence.iam-create-user-login-profile", "GetCallerIdentity")
    assert detect([event]) == []
    for agent in ("TruffleHog", "trufflehog", "TruffleHog v3.82.6"):
        event["userAgent"] = agent
        [finding] = detect([event])
        assert (finding.rule_id, finding.severity) == (
            "threats.secret_scanner_key_check",
            Severity.HIGH,
        )
