"""Resources: the record's own `resources` list first, else the usual request parameters."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import JSON_VALUES, SHARED_DATA, decoded, edge_case, editable
from trailguard.model import Place
from trailguard.resources import MAX_DERIVED, Resource, extract_resources, resource_label
from trailguard.sources import Decoder
from trailguard.tally import InputTally

LOG_FILES = "envelopes/s3/cloudtrail_log_files"
STRATUS_AWSLOGS = "envelopes/cloudwatch_logs/stratus_awslogs"
RESOURCE_KEYS = ("type", "arn", "name", "account_id")


def first_named(relative: str, event_name: str) -> dict[str, Any]:
    return next(r for r in decoded(relative) if r.get("eventName") == event_name)


def derived(kind: str, value: str) -> Resource:
    """A resource named by a request parameter: an ARN when the value is one, never an account."""
    arn = value if value.startswith("arn:") else None
    return {"type": kind, "arn": arn, "name": value, "account_id": None}


# --- listed in the record ------------------------------------------------------------------


def test_listed_role_from_a_real_log_file() -> None:
    record = first_named(
        f"{LOG_FILES}/stratus_aws.credential-access.ec2-get-password-data.json.gz", "AssumeRole"
    )
    arn = "arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role"
    assert record["requestParameters"]["roleArn"] == arn
    assert extract_resources(record) == [
        {"type": "AWS::IAM::Role", "arn": arn, "name": arn, "account_id": "457448411975"}
    ]


def test_listed_resources_without_type_keep_every_one() -> None:
    """SSM GetParameters lists each parameter, with accountId but no type."""
    record = first_named(
        f"{LOG_FILES}/stratus_aws.credential-access.ssm-retrieve-securestring-parameters.json.gz",
        "GetParameters",
    )
    resources = extract_resources(record)
    assert len(resources) == len(record["resources"]) == 10
    arn = "arn:aws:ssm:cn-west-3r:933175858973:parameter/credentials/stratus-red-team/credentials-1"
    assert resources[0] == {"type": None, "arn": arn, "name": arn, "account_id": "933175858973"}
    assert resource_label(resources).endswith("credentials-1 (+9)")


def test_listed_resources_win_over_request_parameters() -> None:
    """The user guide's S3 PutObject via EventBridge: object and bucket, in the record's order."""
    (record,) = decoded(
        "envelopes/eventbridge/awsdocs_stepfunctions_s3_putobject_api_call_via_cloudtrail.json"
    )
    assert record["requestParameters"]["bucketName"] == "username-sfn-tutorial"
    assert extract_resources(record) == [
        {
            "type": "AWS::S3::Object",
            "arn": "arn:aws:s3:::username-sfn-tutorial-2/test.png",
            "name": "arn:aws:s3:::username-sfn-tutorial-2/test.png",
            "account_id": None,
        },
        {
            "type": "AWS::S3::Bucket",
            "arn": "arn:aws:s3:::username-sfn-tutorial",
            "name": "arn:aws:s3:::username-sfn-tutorial",
            "account_id": "123456789012",
        },
    ]


def test_listed_arn_prefix() -> None:
    """S3 data events on a prefix list `ARNPrefix` instead of `ARN`."""
    record = {
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListObjects",
        "requestParameters": {"bucketName": "amzn-s3-demo-bucket", "prefix": "logs/"},
        "resources": [
            {"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::amzn-s3-demo-bucket/logs/"},
            {
                "accountId": "123456789012",
                "type": "AWS::S3::Bucket",
                "ARN": "arn:aws:s3:::amzn-s3-demo-bucket",
            },
        ],
    }
    assert [r["arn"] for r in extract_resources(record)] == [
        "arn:aws:s3:::amzn-s3-demo-bucket/logs/",
        "arn:aws:s3:::amzn-s3-demo-bucket",
    ]


def test_listed_entries_without_arn_fall_back_to_request_parameters() -> None:
    record = copy.deepcopy(edge_case("iam-create-user-security-relevant"))
    record["resources"] = [{"type": "AWS::IAM::User"}, "junk", None]
    assert extract_resources(record) == [derived("AWS::IAM::User", "contractor-jw")]


@pytest.mark.parametrize("listed", [None, [], "null", {}])
def test_resources_absent_or_empty_falls_back_to_request_parameters(listed: Any) -> None:
    record = copy.deepcopy(edge_case("iam-create-user-security-relevant"))
    assert "resources" not in record
    assert extract_resources(record) == [derived("AWS::IAM::User", "contractor-jw")]
    record["resources"] = listed
    assert extract_resources(record) == [derived("AWS::IAM::User", "contractor-jw")]


# --- derived from request parameters -------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "event_name", "expected"),
    [
        (
            f"{STRATUS_AWSLOGS}/stratus_aws.defense-evasion.cloudtrail-stop.json",
            "StopLogging",
            [derived("AWS::CloudTrail::Trail", "stratus-red-team-ct-stop-trail-buykxbqejv")],
        ),
        (
            f"{LOG_FILES}/stratus_aws.defense-evasion.cloudtrail-delete.json.gz",
            "DeleteTrail",
            [derived("AWS::CloudTrail::Trail", "stratus-red-team-cloudtraild-trail-kvrwohmiai")],
        ),
        (
            f"{LOG_FILES}/stratus_aws.defense-evasion.cloudtrail-event-selectors.json.gz",
            "PutEventSelectors",
            [derived("AWS::CloudTrail::Trail", "stratus-red-team-ctes-trail-khlvciwdor")],
        ),
        (
            "envelopes/eventbridge/event-cloud-trail-create-bucket.json",
            "CreateBucket",
            [derived("AWS::S3::Bucket", "custodian-create-bucket-v4")],
        ),
        (
            f"{LOG_FILES}/stratus_aws.exfiltration.ec2-security-group-open-port-22-ingress.json.gz",
            "AuthorizeSecurityGroupIngress",
            [derived("AWS::EC2::SecurityGroup", "sg-003dc7f1f1c686164")],
        ),
        (
            f"{LOG_FILES}/stratus_aws.exfiltration.ec2-share-ebs-snapshot.json.gz",
            "ModifySnapshotAttribute",
            [derived("AWS::EC2::Snapshot", "snap-041993b54a9b3af6f")],
        ),
        (
            f"{LOG_FILES}/stratus_aws.persistence.iam-create-admin-user.json.gz",
            "AttachUserPolicy",
            [
                derived("AWS::IAM::User", "malicious-iam-user"),
                derived("AWS::IAM::ManagedPolicy", "arn:aws:iam::aws:policy/AdministratorAccess"),
            ],
        ),
        (
            f"{LOG_FILES}/stratus_aws.persistence.lambda-overwrite-code.json.gz",
            "UpdateFunctionCode20150331v2",
            [
                derived(
                    "AWS::Lambda::Function",
                    "arn:aws:lambda:ap-westeast-2r:266106314375:function:"
                    "stratus-red-team-olc-func-vayhjqkdav",
                )
            ],
        ),
    ],
)
def test_derived_from_real_request_parameters(
    relative: str, event_name: str, expected: list[Resource]
) -> None:
    record = first_named(relative, event_name)
    assert not record.get("resources")
    assert extract_resources(record) == expected


def test_name_parameter_counts_only_for_services_that_use_it() -> None:
    record = editable(
        first_named(
            f"{LOG_FILES}/stratus_aws.defense-evasion.cloudtrail-stop.json.gz", "StopLogging"
        )
    )
    record["eventSource"] = "example.amazonaws.com"
    assert extract_resources(record) == []


def test_ssm_name_parameter() -> None:
    record = {
        "eventSource": "ssm.amazonaws.com",
        "eventName": "GetParameter",
        "requestParameters": {"name": "/prod/db/password", "withDecryption": True},
    }
    assert extract_resources(record) == [derived("AWS::SSM::Parameter", "/prod/db/password")]


def test_at_most_three_derived() -> None:
    params = {
        key: f"value-{key}" for key in ("bucketName", "groupId", "vpcId", "roleName", "keyId")
    }
    record = {"eventSource": "example.amazonaws.com", "requestParameters": params}
    resources = extract_resources(record)
    assert len(resources) == MAX_DERIVED == 3
    assert [r["type"] for r in resources] == [
        "AWS::S3::Bucket",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::VPC",
    ]


def test_parameters_of_the_wrong_type_are_ignored() -> None:
    record = {
        "eventSource": "cloudtrail.amazonaws.com",
        "requestParameters": {"name": {"nested": 1}, "bucketName": 7, "groupId": "", "vpcId": None},
    }
    assert extract_resources(record) == []


# --- nothing to go on ----------------------------------------------------------------------


def test_request_parameters_as_the_string_null() -> None:
    """Some fixtures carry `"requestParameters": "null"` (a string); it names nothing."""
    record = editable(
        first_named(
            f"{STRATUS_AWSLOGS}/stratus_aws.defense-evasion.cloudtrail-stop.json", "StopLogging"
        )
    )
    record["requestParameters"] = "null"
    assert extract_resources(record) == []


def test_request_parameters_null() -> None:
    record = edge_case("signin-console-login-mfa")
    assert record["requestParameters"] is None
    assert extract_resources(record) == []


def test_no_resources_and_no_request_parameters() -> None:
    """The user guide's Insights event has neither."""
    (record,) = decoded(
        "events/awsdocs_log_files/cloudtrail-event-reference_block1_insight_event.json"
    )
    assert "resources" not in record
    assert "requestParameters" not in record
    assert extract_resources(record) == []


def test_empty_record() -> None:
    assert extract_resources({}) == []


# --- resource_label ------------------------------------------------------------------------


def test_resource_label() -> None:
    assert resource_label([]) == ""
    assert resource_label([derived("AWS::S3::Bucket", "b")]) == "b"
    two = [derived("AWS::IAM::Role", "arn:aws:iam::1:role/r"), derived("AWS::S3::Bucket", "b")]
    assert resource_label(two) == "arn:aws:iam::1:role/r (+1)"
    assert resource_label([{"type": None, "arn": None, "name": None, "account_id": None}]) == ""


# --- every real record, and anything at all ------------------------------------------------


def test_every_real_record() -> None:
    with_resources = 0
    for path in sorted(SHARED_DATA.rglob("*")):
        if not path.is_file():
            continue
        relative = str(path.relative_to(SHARED_DATA))
        for item in Decoder(InputTally()).bytes(path.read_bytes(), Place(relative)):
            resources = extract_resources(item.record)
            with_resources += bool(resources)
            for resource in resources:
                assert tuple(resource) == RESOURCE_KEYS
                assert all(v is None or isinstance(v, str) for v in resource.values())
                assert resource["name"], item.place
    assert with_resources > 100


PARAMETER_NAMES = st.sampled_from(["name", "bucketName", "groupId", "policyArn", "trailName", "x"])
RESOURCE_ENTRIES = st.fixed_dictionaries(
    {},
    optional={
        "ARN": JSON_VALUES,
        "ARNPrefix": JSON_VALUES,
        "type": JSON_VALUES,
        "accountId": JSON_VALUES,
    },
)


@settings(max_examples=300, deadline=None)
@given(
    source=st.sampled_from(["cloudtrail.amazonaws.com", "ssm.amazonaws.com", "s3.amazonaws.com"])
    | JSON_VALUES,
    listed=st.lists(RESOURCE_ENTRIES | JSON_VALUES, max_size=4) | JSON_VALUES,
    params=st.dictionaries(PARAMETER_NAMES, JSON_VALUES | st.text(max_size=20), max_size=6)
    | JSON_VALUES,
)
def test_any_json_never_breaks(source: Any, listed: Any, params: Any) -> None:
    record = {"eventSource": source, "resources": listed, "requestParameters": params}
    resources = extract_resources(record)
    assert isinstance(resources, list)
    for resource in resources:
        assert tuple(resource) == RESOURCE_KEYS
        assert all(v is None or (isinstance(v, str) and v) for v in resource.values())
    assert isinstance(resource_label(resources), str)
    orjson.dumps(resources)
