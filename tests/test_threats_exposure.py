"""Network and data exposure, compute and execution threat rules, and their predicates.

The rules must fire on the real Stratus Red Team detonations they are written for (and on
nothing else in that corpus), and each predicate is checked on real-shaped records: the
Stratus events themselves, edited one field at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import (
    JSON_VALUES,
    SHARED_DATA,
    decoded_items,
    stratus_event,
    stratus_events,
    stratus_lines,
)
from conftest import check_predicate as check
from trailguard.config import config_from_data
from trailguard.engine import Engine
from trailguard.model import Finding, Place, Severity, SourcedRecord
from trailguard.pipeline import Detector
from trailguard.rules.errors import RuleSyntaxError
from trailguard.rules.loader import load_rules, read_yaml, rule_from_data
from trailguard.rules.packs import PACKS_DIR
from trailguard.rules.predicates import registered
from trailguard.rules.ruleset import RuleSet
from trailguard.tally import InputTally

RULE_NAMES = (
    "sg_ingress_open_to_world",
    "nacl_inbound_allow_all",
    "s3_bucket_made_public",
    "s3_block_public_access_weakened",
    "s3_bucket_protection_disabled",
    "snapshot_or_image_shared_outside",
    "rds_instance_made_public",
    "rds_deletion_protection_disabled",
    "ec2_user_data_modified",
    "lambda_exposed_outside_account",
    "lambda_changed_by_person",
    "ssm_remote_execution_by_person",
    "ec2_instance_connect_key_pushed",
    "ec2_serial_console_enabled",
    "ec2_unusual_instance_launch",
    "ec2_password_data_retrieved",
    "ec2_password_data_denied_burst",
    "bedrock_model_access_enabled",
)
RULE_IDS = {f"threats.{name}" for name in RULE_NAMES}
STRATUS = SHARED_DATA / "events" / "stratus_detonations.jsonl"

# Each technique these rules are written for, and the rule(s) that must report it.
EXPECTED: dict[str, set[str]] = {
    "aws.exfiltration.ec2-security-group-open-port-22-ingress": {
        "threats.sg_ingress_open_to_world"
    },
    "aws.exfiltration.ec2-share-ebs-snapshot": {"threats.snapshot_or_image_shared_outside"},
    "aws.exfiltration.ec2-share-ami": {"threats.snapshot_or_image_shared_outside"},
    "aws.exfiltration.rds-share-snapshot": {"threats.snapshot_or_image_shared_outside"},
    "aws.execution.ec2-user-data": {"threats.ec2_user_data_modified"},
    "aws.persistence.lambda-backdoor-function": {"threats.lambda_exposed_outside_account"},
    "aws.persistence.lambda-layer-extension": {"threats.lambda_changed_by_person"},
    "aws.persistence.lambda-overwrite-code": {"threats.lambda_changed_by_person"},
    "aws.execution.ssm-send-command": {"threats.ssm_remote_execution_by_person"},
    "aws.execution.ssm-start-session": {"threats.ssm_remote_execution_by_person"},
    "aws.credential-access.ec2-steal-instance-credentials": {
        "threats.ssm_remote_execution_by_person"
    },
    "aws.lateral-movement.ec2-instance-connect": {"threats.ec2_instance_connect_key_pushed"},
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key": {
        "threats.ec2_serial_console_enabled",
        "threats.ec2_instance_connect_key_pushed",
    },
    "aws.execution.ec2-launch-unusual-instances": {"threats.ec2_unusual_instance_launch"},
    "aws.credential-access.ec2-get-password-data": {"threats.ec2_password_data_denied_burst"},
    "aws.impact.bedrock-invoke-model": {"threats.bedrock_model_access_enabled"},
}


@cache
def my_rules() -> tuple[Any, ...]:
    folder = PACKS_DIR / "threats"
    return tuple(rule for name in RULE_NAMES for rule in load_rules(folder / f"{name}.yaml"))


def detect(records: list[Mapping[str, Any]], place: str = "test") -> list[Finding]:
    detector = Detector(Engine([RuleSet("threats", list(my_rules()))]))
    items = [SourcedRecord(dict(r), Place(place, f"[{i}]")) for i, r in enumerate(records)]
    return list(detector.run(items, InputTally()))


# --- the rules on the real Stratus detonations ---------------------------------------------


def test_the_rules_under_test_all_load():
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
    findings = detect(events, technique)
    serious = {f.rule_id for f in findings if f.severity >= Severity.MEDIUM}
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


def test_sg_rule_rates_the_stratus_port_22_grant_critical():
    event = stratus_event(
        "aws.exfiltration.ec2-security-group-open-port-22-ingress", "AuthorizeSecurityGroupIngress"
    )
    [finding] = detect([event])
    assert finding.severity is Severity.CRITICAL
    assert (
        finding.title
        == "Security group ingress opened to the internet (AuthorizeSecurityGroupIngress)"
    )


def test_get_password_data_burst_fires_once_for_the_whole_burst():
    events = stratus_events("aws.credential-access.ec2-get-password-data")
    refused = [e for e in events if e["eventName"] == "GetPasswordData" and e.get("errorCode")]
    assert len(refused) == 30
    findings = [f for f in detect(refused) if f.rule_id == "threats.ec2_password_data_denied_burst"]
    assert len(findings) == 1  # 30 refusals in seconds: one burst, one alert (cooldown)
    assert findings[0].context
    assert findings[0].context["threshold"]["count"] == 5


def test_unusual_launch_reports_the_refused_attempt_and_not_a_refused_small_one():
    event = stratus_event("aws.execution.ec2-launch-unusual-instances", "RunInstances")
    assert event["errorCode"] == "Client.UnauthorizedOperation"
    assert [f.rule_id for f in detect([event])] == ["threats.ec2_unusual_instance_launch"]
    event["requestParameters"]["instanceType"] = "t3.micro"
    assert detect([event]) == []  # maxCount 10 is not "many"
    event["requestParameters"]["instancesSet"]["items"][0]["maxCount"] = 20
    assert len(detect([event])) == 1


def test_lambda_public_permission_is_reported_once_not_also_as_a_hand_change():
    event = stratus_event("aws.persistence.lambda-backdoor-function", "AddPermission")
    findings = detect([event])
    assert [(f.rule_id, f.severity) for f in findings] == [
        ("threats.lambda_exposed_outside_account", Severity.HIGH)
    ]
    event["requestParameters"]["principal"] = event["recipientAccountId"]
    assert [f.rule_id for f in detect([event])] == ["threats.lambda_changed_by_person"]


GITHUB_OIDC = "arn:aws:iam::266106314375:oidc-provider/token.actions.githubusercontent.com"


def test_lambda_hand_change_rule_ignores_a_pipeline_role():
    event = stratus_event("aws.persistence.lambda-overwrite-code", "UpdateFunctionCode")
    event["userIdentity"] = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEROLEID0007:GitHubActions",
        "arn": "arn:aws:sts::266106314375:assumed-role/github-actions-deploy/GitHubActions",
        "accountId": "266106314375",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": "arn:aws:iam::266106314375:role/github-actions-deploy",
                "userName": "github-actions-deploy",
            },
            "webIdFederationData": {"federatedProvider": GITHUB_OIDC},
        },
    }
    assert detect([event]) == []


# --- ingress_open_to_world -----------------------------------------------------------------


SG_OPEN_22 = "aws.exfiltration.ec2-security-group-open-port-22-ingress"


def sg_event() -> dict[str, Any]:
    return stratus_event(
        "aws.exfiltration.ec2-security-group-open-port-22-ingress", "AuthorizeSecurityGroupIngress"
    )


def with_permissions(*permissions: dict[str, Any]) -> dict[str, Any]:
    """The Stratus call rewritten to the ipPermissions form, without the flat fields and
    without the response (so only the request is judged)."""
    event = sg_event()
    params = event["requestParameters"]
    for key in ("cidrIp", "fromPort", "toPort", "ipProtocol"):
        params.pop(key)
    params["ipPermissions"] = {"items": list(permissions)}
    event["responseElements"] = {"_return": True, "requestId": event["requestID"]}
    return event


def permission(protocol: Any, low: Any, high: Any, v4: str = "", v6: str = "") -> dict[str, Any]:
    perm: dict[str, Any] = {"ipProtocol": protocol, "groups": {}, "prefixListIds": {}}
    if low is not None:
        perm["fromPort"] = low
    if high is not None:
        perm["toPort"] = high
    perm["ipRanges"] = {"items": [{"cidrIp": v4}]} if v4 else {}
    perm["ipv6Ranges"] = {"items": [{"cidrIpv6": v6}]} if v6 else {}
    return perm


def test_stratus_cidr_with_host_bits_and_prefix_zero_is_open():
    event = sg_event()
    assert event["requestParameters"]["cidrIp"] == "208.236.235.254/0"
    assert check("ingress_open_to_world", event)
    assert check("ingress_open_to_world", event, ports=[22])
    assert not check("ingress_open_to_world", event, ports=[3389])
    assert not check("ingress_open_to_world", event, all_ports=True)


def test_the_response_rule_set_alone_is_enough():
    event = sg_event()
    event["requestParameters"] = {"groupId": "sg-003dc7f1f1c686164", "ipPermissions": {}}
    assert check("ingress_open_to_world", event, ports=[22])


def test_an_egress_rule_in_the_response_does_not_count():
    event = sg_event()
    event["requestParameters"] = {"groupId": "sg-003dc7f1f1c686164", "ipPermissions": {}}
    event["responseElements"]["securityGroupRuleSet"]["items"][0]["isEgress"] = True
    assert not check("ingress_open_to_world", event)


def test_a_private_or_narrow_cidr_is_not_open():
    for cidr in ("10.0.0.0/8", "0.0.0.0/1", "208.236.235.254/32"):
        event = with_permissions(permission("tcp", 22, 22, v4=cidr))
        assert not check("ingress_open_to_world", event), cidr


def test_ipv6_any_is_open():
    event = with_permissions(permission("tcp", 443, 443, v6="::/0"))
    assert check("ingress_open_to_world", event)
    assert check("ingress_open_to_world", event, ports=[443])
    assert not check("ingress_open_to_world", event, ports=[22])
    narrow = with_permissions(permission("tcp", 443, 443, v6="2001:db8::/32"))
    assert not check("ingress_open_to_world", narrow)


@pytest.mark.parametrize(
    ("protocol", "low", "high", "covers_22", "all_ports"),
    [
        ("-1", None, None, True, True),
        (-1, None, None, True, True),
        ("all", None, None, True, True),
        ("tcp", -1, -1, True, True),
        ("tcp", 0, 65535, True, True),
        ("udp", 1, 65535, True, True),
        ("6", "20", "25", True, False),
        ("tcp", 80, 443, False, False),
        ("tcp", 1024, 65535, False, False),
        ("tcp", None, None, True, True),
        ("icmp", -1, -1, False, False),
        ("icmpv6", -1, -1, False, False),
        ("58", 8, 0, False, False),
        ("50", None, None, False, False),
    ],
)
def test_ports_and_protocols(protocol, low, high, covers_22, all_ports):
    event = with_permissions(permission(protocol, low, high, v4="0.0.0.0/0"))
    assert check("ingress_open_to_world", event, ports=[22]) is covers_22
    assert check("ingress_open_to_world", event, all_ports=True) is all_ports
    assert check("ingress_open_to_world", event)  # any open grant, ICMP included by default


def test_icmp_only_grants_can_be_left_out():
    icmp = with_permissions(permission("icmp", -1, -1, v4="0.0.0.0/0"))
    assert not check("ingress_open_to_world", icmp, include_icmp=False)
    mixed = with_permissions(
        permission("icmp", -1, -1, v4="0.0.0.0/0"), permission("tcp", 8080, 8080, v6="::/0")
    )
    assert check("ingress_open_to_world", mixed, include_icmp=False)


def modify_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    event = sg_event()
    event["eventName"] = "ModifySecurityGroupRules"
    updates = [
        {"SecurityGroupRuleId": f"sgr-0d28445c956a5d8a{i}", "tag": i + 1, "SecurityGroupRule": r}
        for i, r in enumerate(rules)
    ]
    event["requestParameters"] = {
        "ModifySecurityGroupRulesRequest": {
            "GroupId": "sg-003dc7f1f1c686164",
            "SecurityGroupRule": updates[0] if len(updates) == 1 else updates,
        }
    }
    event["responseElements"] = {"ModifySecurityGroupRulesResponse": {"_return": True}}
    return event


def test_modify_security_group_rules_one_rule_and_a_list():
    one = modify_rules(
        {"CidrIpv4": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389}
    )
    assert check("ingress_open_to_world", one, ports=[3389])
    assert not check("ingress_open_to_world", one, ports=[22])
    several = modify_rules(
        {"CidrIpv4": "10.0.0.0/8", "IpProtocol": "-1"},
        {"CidrIpv6": "::/0", "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432},
    )
    assert check("ingress_open_to_world", several, ports=[5432])
    assert not check("ingress_open_to_world", several, all_ports=True)
    private = modify_rules({"CidrIpv4": "172.16.0.0/12", "IpProtocol": "-1"})
    assert not check("ingress_open_to_world", private)


def test_missing_or_odd_request_parameters_do_not_match():
    event = sg_event()
    event["responseElements"] = None
    event["requestParameters"] = "null"
    assert not check("ingress_open_to_world", event)
    event["requestParameters"] = {"ipPermissions": {"items": ["odd", None, {"ipRanges": 7}]}}
    assert not check("ingress_open_to_world", event)


def test_predicate_arguments_are_type_checked():
    predicate = registered()["ingress_open_to_world"]
    with pytest.raises(RuleSyntaxError):
        predicate.check_args({"include_icmp": "no"}, "where")
    with pytest.raises(RuleSyntaxError):
        predicate.check_args({"port": [22]}, "where")


# --- nacl_entry_allows_all_inbound ---------------------------------------------------------


def nacl_entry(**params: Any) -> dict[str, Any]:
    """A CreateNetworkAclEntry record (shape of the CloudTrail user guide's EC2 examples)."""
    request = {
        "networkAclId": "acl-0a1b2c3d4e5f60718",
        "ruleNumber": 100,
        "egress": False,
        "ruleAction": "allow",
        "icmpTypeCode": {},
        "portRange": {},
        "aclProtocol": "-1",
        "cidrBlock": "0.0.0.0/0",
    }
    request.update(params)
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "userName": "alice",
        },
        "eventTime": "2024-09-03T10:02:45Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "CreateNetworkAclEntry",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.24",
        "userAgent": "aws-cli/2.17.20",
        "requestParameters": {k: v for k, v in request.items() if v is not None},
        "responseElements": {"_return": True},
        "eventID": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, True),
        ({"aclProtocol": -1}, True),
        ({"egress": "false"}, True),
        ({"cidrBlock": None, "ipv6CidrBlock": "::/0"}, True),
        ({"aclProtocol": "6", "portRange": {"from": 0, "to": 65535}}, True),
        ({"aclProtocol": "17", "portRange": {"from": 1, "to": 65535}}, True),
        ({"aclProtocol": "6", "portRange": {}}, True),
        ({"aclProtocol": "6", "portRange": {"from": 1024, "to": 65535}}, False),
        ({"aclProtocol": "6", "portRange": {"from": 443, "to": 443}}, False),
        ({"aclProtocol": "1", "icmpTypeCode": {"type": -1, "code": -1}}, False),
        ({"egress": True}, False),
        ({"egress": "true"}, False),
        ({"egress": None}, False),
        ({"ruleAction": "deny"}, False),
        ({"cidrBlock": "10.0.0.0/8"}, False),
        ({"cidrBlock": None, "ipv6CidrBlock": "2001:db8::/32"}, False),
    ],
)
def test_nacl_entry_allows_all_inbound(params, expected):
    assert check("nacl_entry_allows_all_inbound", nacl_entry(**params)) is expected


# --- acl_grants_public / public_access_block_weakened ---------------------------------------


def s3_request(event_name: str, **params: Any) -> dict[str, Any]:
    """An S3 bucket-level management event (shape of the S3 CloudTrail documentation)."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "userName": "alice",
        },
        "eventTime": "2024-09-04T11:25:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.24",
        "userAgent": "[aws-cli/2.17.20]",
        "requestParameters": {"bucketName": "payments-exports-111122223333", **params},
        "responseElements": None,
        "eventID": "5c6d7e8f-9001-42b3-c4d5-e6f708192a3b",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }


def acl_body(*uris: str) -> dict[str, Any]:
    grants = [
        {"Grantee": {"xsi:type": "CanonicalUser", "ID": "9a1b2c3d"}, "Permission": "FULL_CONTROL"}
    ]
    grants += [{"Grantee": {"xsi:type": "Group", "URI": uri}, "Permission": "READ"} for uri in uris]
    return {"Owner": {"ID": "9a1b2c3d"}, "AccessControlList": {"Grant": grants}}


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"x-amz-acl": ["public-read"]}, True),
        ({"x-amz-acl": "public-read-write"}, True),
        ({"x-amz-acl": ["authenticated-read"]}, True),
        ({"x-amz-acl": ["private"]}, False),
        ({"x-amz-acl": ["bucket-owner-full-control"]}, False),
        ({"x-amz-acl": ["log-delivery-write"]}, False),
        ({"x-amz-grant-read": [f'uri="{ALL_USERS}"']}, True),
        ({"x-amz-grant-full-control": [f'id="9a1b2c3d", uri="{AUTHENTICATED_USERS}"']}, True),
        ({"x-amz-grant-write": [f'uri="{LOG_DELIVERY}"']}, False),
        ({"AccessControlPolicy": acl_body(ALL_USERS)}, True),
        ({"AccessControlPolicy": acl_body(AUTHENTICATED_USERS)}, True),
        ({"AccessControlPolicy": acl_body(LOG_DELIVERY)}, False),
        ({"AccessControlPolicy": acl_body()}, False),
        ({}, False),
    ],
)
def test_acl_grants_public(params, expected):
    assert check("acl_grants_public", s3_request("PutBucketAcl", acl=[""], **params)) is expected


def test_acl_body_with_a_single_grant_object():
    body = acl_body(ALL_USERS)
    body["AccessControlList"]["Grant"] = body["AccessControlList"]["Grant"][1]
    assert check("acl_grants_public", s3_request("PutBucketAcl", AccessControlPolicy=body))


def test_acl_predicate_ignores_missing_parameters():
    record = s3_request("PutBucketAcl")
    record["requestParameters"] = None
    assert not check("acl_grants_public", record)


FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def bpa(**flags: Any) -> dict[str, Any]:
    config = {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", **flags}
    return s3_request("PutBucketPublicAccessBlock", PublicAccessBlockConfiguration=config)


def test_block_public_access_all_on_is_not_weakened():
    assert not check("public_access_block_weakened", bpa(**dict.fromkeys(FLAGS, True)))
    assert not check("public_access_block_weakened", bpa(**dict.fromkeys(FLAGS, "true")))


@pytest.mark.parametrize("flag", FLAGS)
def test_any_one_setting_off_or_missing_is_weakened(flag):
    off = dict.fromkeys(FLAGS, True) | {flag: False}
    assert check("public_access_block_weakened", bpa(**off))
    as_text = dict.fromkeys(FLAGS, True) | {flag: "false"}
    assert check("public_access_block_weakened", bpa(**as_text))
    missing = {k: True for k in FLAGS if k != flag}
    assert check("public_access_block_weakened", bpa(**missing))


def test_block_public_access_without_a_configuration_is_not_judged():
    assert not check("public_access_block_weakened", s3_request("DeleteBucketPublicAccessBlock"))


# --- snapshot and image sharing (shares_outside_account, as the rule calls it) -------------


SHARE_PATHS = [
    "requestParameters.createVolumePermission.add.items.userId",
    "requestParameters.createVolumePermission.add.items.group",
    "requestParameters.launchPermission.add.items.userId",
    "requestParameters.launchPermission.add.items.group",
]


def test_snapshot_shared_with_another_account_public_or_own():
    event = stratus_event("aws.exfiltration.ec2-share-ebs-snapshot", "ModifySnapshotAttribute")
    items = event["requestParameters"]["createVolumePermission"]["add"]["items"]
    assert check("shares_outside_account", event, paths=SHARE_PATHS)
    items[0] = {"userId": event["recipientAccountId"]}
    assert not check("shares_outside_account", event, paths=SHARE_PATHS)
    items.append({"group": "all"})
    assert check("shares_outside_account", event, paths=SHARE_PATHS)


def test_removing_a_launch_permission_is_not_sharing():
    event = stratus_event("aws.exfiltration.ec2-share-ami", "ModifyImageAttribute")
    launch = event["requestParameters"]["launchPermission"]
    launch["remove"] = launch.pop("add")
    assert not check("shares_outside_account", event, paths=SHARE_PATHS)


def test_public_snapshot_and_ami_are_critical_cross_account_high():
    snapshot = stratus_event("aws.exfiltration.ec2-share-ebs-snapshot", "ModifySnapshotAttribute")
    ami = stratus_event("aws.exfiltration.ec2-share-ami", "ModifyImageAttribute")
    rds = stratus_event("aws.exfiltration.rds-share-snapshot", "ModifyDBSnapshotAttribute")
    assert [f.severity for f in detect([snapshot, ami, rds])] == [Severity.HIGH] * 3
    snapshot["requestParameters"]["createVolumePermission"]["add"]["items"] = [{"group": "all"}]
    ami["requestParameters"]["launchPermission"]["add"]["items"] = [{"group": "all"}]
    rds["requestParameters"]["valuesToAdd"] = ["all"]
    assert [f.severity for f in detect([snapshot, ami, rds])] == [Severity.CRITICAL] * 3


def test_rds_share_of_an_attribute_other_than_restore_is_ignored():
    rds = stratus_event("aws.exfiltration.rds-share-snapshot", "ModifyDBSnapshotAttribute")
    rds["requestParameters"]["attributeName"] = "something-else"
    assert detect([rds]) == []


# --- actor_is_person -------------------------------------------------------------------------


def test_iam_user_and_root_are_people():
    event = stratus_event("aws.persistence.lambda-overwrite-code", "UpdateFunctionCode")
    assert event["userIdentity"]["type"] == "IAMUser"
    assert check("actor_is_person", event)
    event["userIdentity"] = {
        "type": "Root",
        "principalId": "266106314375",
        "arn": "arn:aws:iam::266106314375:root",
        "accountId": "266106314375",
    }
    assert check("actor_is_person", event)


def test_an_sso_session_is_a_person_even_with_an_odd_session_arn():
    event = stratus_event(
        "aws.lateral-movement.ec2-serial-console-send-ssh-public-key", "EnableSerialConsoleAccess"
    )
    assert "AWSReservedSSO_" not in event["userIdentity"]["arn"].split("/")[1][:15]
    assert check("actor_is_person", event)
    del event["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"]
    assert check("actor_is_person", event)  # from the issuer's role ARN


def test_role_sessions_of_automation_are_not_people():
    events = [
        stratus_event("aws.credential-access.ec2-get-password-data", "GetPasswordData"),
        stratus_event("aws.impact.bedrock-invoke-model", "InvokeModel"),
    ]
    for event in events:
        assert event["userIdentity"]["type"] == "AssumedRole"
        assert not check("actor_is_person", event), event["eventName"]


def test_a_role_used_from_the_console_or_cloudshell_is_a_person():
    event = stratus_event("aws.impact.bedrock-invoke-model", "InvokeModel")
    event["sessionCredentialFromConsole"] = "true"
    assert check("actor_is_person", event)
    del event["sessionCredentialFromConsole"]
    event["userAgent"] = "aws-cli/2.17.20 md/installer#exe exec-env/CloudShell command/lambda.x"
    assert check("actor_is_person", event)
    event["userAgent"] = "AWS Internal"  # alone, without the console flag: not enough
    assert not check("actor_is_person", event)


def test_extra_person_roles_by_glob():
    event = stratus_event("aws.impact.bedrock-invoke-model", "InvokeModel")  # role test-role
    assert not check("actor_is_person", event)
    assert check("actor_is_person", event, person_roles=["test-*"])
    assert not check("actor_is_person", event, person_roles=["okta-*"])
    del event["userIdentity"]["sessionContext"]
    assert check("actor_is_person", event, person_roles=["test-role"])  # from the session ARN


def test_a_session_on_behalf_of_an_identity_center_user_is_a_person():
    event = stratus_event("aws.impact.bedrock-invoke-model", "InvokeModel")
    event["userIdentity"]["onBehalfOf"] = {
        "userId": "94482488-3041-7026-18f3-be45837cd0e4",
        "identityStoreArn": "arn:aws:identitystore::494659789341:identitystore/d-9067642ac7",
    }
    assert check("actor_is_person", event)


def test_a_service_acting_for_a_person_is_not_the_person():
    event = stratus_event("aws.persistence.lambda-overwrite-code", "UpdateFunctionCode")
    event["userIdentity"]["invokedBy"] = "cloudformation.amazonaws.com"
    assert not check("actor_is_person", event)
    event["userIdentity"]["invokedBy"] = "signin.amazonaws.com"  # the console itself
    assert check("actor_is_person", event)


@pytest.mark.parametrize(
    "identity",
    [
        {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
        {"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "444455556666"},
        {
            "type": "WebIdentityUser",
            "principalId": "accounts.google.com:1234",
            "userName": "1234",
            "identityProvider": "accounts.google.com",
        },
        None,
        "garbage",
    ],
)
def test_services_other_accounts_and_web_identities_are_not_people(identity):
    event = stratus_event("aws.persistence.lambda-overwrite-code", "UpdateFunctionCode")
    event["userIdentity"] = identity
    assert not check("actor_is_person", event)


@pytest.mark.parametrize("odd", [["IAMUser"], {"type": "Root"}, 7, None])
def test_a_wrong_typed_identity_type_is_not_a_person(odd):
    event = stratus_event("aws.persistence.lambda-overwrite-code", "UpdateFunctionCode")
    event["userIdentity"]["type"] = odd
    event["userIdentity"]["invokedBy"] = ["cloudformation.amazonaws.com"]
    assert not check("actor_is_person", event)


@pytest.mark.parametrize("kind", ["IdentityCenterUser", "FederatedUser", "SAMLUser"])
def test_other_human_identity_types_are_people(kind):
    event = stratus_event("aws.persistence.lambda-overwrite-code", "UpdateFunctionCode")
    event["userIdentity"] = {"type": kind, "principalId": "x:jdoe", "accountId": "266106314375"}
    assert check("actor_is_person", event)


def test_tuning_a_pipeline_iam_user_out_with_an_allowlist_entry():
    """What compute.py documents: an IAM user that is really a pipeline is allowlisted."""
    event = stratus_event("aws.persistence.lambda-overwrite-code", "UpdateFunctionCode")
    config = config_from_data(
        {
            "allowlist": [
                {
                    "reason": "the deploy pipeline's IAM user publishes Lambda code",
                    "rules": ["threats.lambda_changed_by_person"],
                    "actor_arn": "arn:aws:iam::*:user/christophe",
                }
            ]
        },
        "test-config",
        SHARED_DATA,
    )
    detector = Detector(Engine([RuleSet("threats", list(my_rules()))]), config)
    item = SourcedRecord(event, Place("test"))
    assert list(detector.run([item], InputTally())) == []
    assert detector.stats()["suppressed"] == 1


def test_tuning_extra_person_roles_in_a_copy_of_the_rule():
    """What compute.py documents: a copy of the rule naming the IdP's roles as people."""
    event = stratus_event("aws.persistence.lambda-overwrite-code", "UpdateFunctionCode")
    event["userIdentity"] = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEROLEID0011:jdoe@example.com",
        "arn": "arn:aws:sts::266106314375:assumed-role/okta-developers/jdoe@example.com",
        "accountId": "266106314375",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": "arn:aws:iam::266106314375:role/okta-developers",
                "userName": "okta-developers",
            }
        },
    }
    assert detect([event]) == []  # the shipped rule does not know this IdP's roles
    spec = read_yaml(PACKS_DIR / "threats" / "lambda_changed_by_person.yaml")
    spec["id"] = "ours.lambda_changed_by_person"
    assert spec["match"]["where"]["all"][0] == {"predicate": "actor_is_person"}
    spec["match"]["where"]["all"][0]["args"] = {"person_roles": ["okta-*"]}
    ours = rule_from_data(spec, "ours.yaml")
    detector = Detector(Engine([RuleSet("ours", [ours])]))
    findings = list(detector.run([SourcedRecord(event, Place("test"))], InputTally()))
    assert [f.rule_id for f in findings] == ["ours.lambda_changed_by_person"]


# --- layer_outside_account -------------------------------------------------------------------


def test_layer_from_the_own_account_is_not_foreign():
    event = stratus_event("aws.persistence.lambda-layer-extension", "UpdateFunctionConfiguration")
    assert not check("layer_outside_account", event)
    assert not check("layer_outside_account", event, path="responseElements.layers")


def test_layer_from_another_account_in_the_request_or_the_response():
    event = stratus_event("aws.persistence.lambda-layer-extension", "UpdateFunctionConfiguration")
    foreign = "arn:aws:lambda:eugov-eastcentral-1r:464622532012:layer:Datadog-Extension:65"
    event["requestParameters"]["layers"].append(foreign)
    event["responseElements"]["layers"].append({"arn": foreign, "codeSize": 1})
    assert check("layer_outside_account", event)
    assert check("layer_outside_account", event, path="responseElements.layers")


def test_layer_account_falls_back_to_the_actor_and_odd_values_are_ignored():
    event = stratus_event("aws.persistence.lambda-layer-extension", "UpdateFunctionConfiguration")
    del event["recipientAccountId"]
    event["requestParameters"]["layers"] = [
        "not-an-arn",
        7,
        "arn:aws-us-gov:lambda:us-gov-west-1:712967571683:layer:own:1",
    ]
    assert not check("layer_outside_account", event)
    event["requestParameters"]["layers"].append(
        "arn:aws-us-gov:lambda:us-gov-west-1:111122223333:layer:other:1"
    )
    assert check("layer_outside_account", event)


def test_the_layer_rule_is_high_for_a_foreign_layer():
    event = stratus_event("aws.persistence.lambda-layer-extension", "UpdateFunctionConfiguration")
    assert [f.severity for f in detect([event])] == [Severity.MEDIUM]
    event["requestParameters"]["layers"] = [
        "arn:aws:lambda:eugov-eastcentral-1r:444455556666:layer:attacker-extension:1"
    ]
    assert [f.severity for f in detect([event])] == [Severity.HIGH]


# --- odd records never break the rules -------------------------------------------------------

FUZZED_FIELDS = st.sampled_from(
    [
        "requestParameters",
        "responseElements",
        "userIdentity",
        "userAgent",
        "errorCode",
        "recipientAccountId",
        "sessionCredentialFromConsole",
    ]
)


@given(
    st.sampled_from(sorted(EXPECTED)),
    st.dictionaries(FUZZED_FIELDS, JSON_VALUES, max_size=3),
    st.data(),
)
def test_any_value_in_the_fields_read_never_raises(technique, replacements, data):
    """Each technique's first event with wrong-typed fields, or wrong-typed request
    parameters: findings or not, never an error."""
    event = stratus_events(technique)[-1]
    params = event.get("requestParameters")
    if isinstance(params, dict) and params:
        key = data.draw(st.sampled_from(sorted(params)))
        params[key] = data.draw(JSON_VALUES)
    event.update(replacements)
    tally = InputTally()
    detector = Detector(Engine([RuleSet("threats", list(my_rules()))]))
    list(detector.run([SourcedRecord(event, Place("fuzz"))], tally))
    assert not tally.errors


# --- the predicates are documented ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ingress_open_to_world",
        "nacl_entry_allows_all_inbound",
        "acl_grants_public",
        "public_access_block_weakened",
        "actor_is_person",
        "layer_outside_account",
    ],
)
def test_predicate_is_registered_with_a_summary(name):
    predicate = registered()[name]
    assert predicate.summary
    assert predicate.summary != name
