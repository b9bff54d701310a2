"""What was acted on: the record's `resources`, else the usual request parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Resource = dict[str, str | None]

# Request parameters that name the resource an API call acts on, with its CloudFormation type.
PARAMETER_TYPES: tuple[tuple[str, str], ...] = (
    ("bucketName", "AWS::S3::Bucket"),
    ("trailName", "AWS::CloudTrail::Trail"),
    ("groupId", "AWS::EC2::SecurityGroup"),
    ("networkAclId", "AWS::EC2::NetworkAcl"),
    ("routeTableId", "AWS::EC2::RouteTable"),
    ("internetGatewayId", "AWS::EC2::InternetGateway"),
    ("vpcId", "AWS::EC2::VPC"),
    ("instanceId", "AWS::EC2::Instance"),
    ("snapshotId", "AWS::EC2::Snapshot"),
    ("imageId", "AWS::EC2::Image"),
    ("roleName", "AWS::IAM::Role"),
    ("userName", "AWS::IAM::User"),
    ("policyArn", "AWS::IAM::ManagedPolicy"),
    ("functionName", "AWS::Lambda::Function"),
    ("keyId", "AWS::KMS::Key"),
    ("secretId", "AWS::SecretsManager::Secret"),
    ("detectorId", "AWS::GuardDuty::Detector"),
    ("dBInstanceIdentifier", "AWS::RDS::DBInstance"),
    ("dBSnapshotIdentifier", "AWS::RDS::DBSnapshot"),
    ("tableName", "AWS::DynamoDB::Table"),
    ("topicArn", "AWS::SNS::Topic"),
    ("logGroupName", "AWS::Logs::LogGroup"),
    ("configurationRecorderName", "AWS::Config::ConfigurationRecorder"),
    ("streamName", "AWS::Kinesis::Stream"),
    ("fileSystemId", "AWS::EFS::FileSystem"),
    ("restApiId", "AWS::ApiGateway::RestApi"),
)
# Services whose requests name their main resource simply `name`.
NAME_PARAMETER_TYPES = {
    "cloudtrail.amazonaws.com": "AWS::CloudTrail::Trail",
    "ssm.amazonaws.com": "AWS::SSM::Parameter",
    "events.amazonaws.com": "AWS::Events::Rule",
}
MAX_DERIVED = 3
_PARAMETER_RANKS = {key: (rank, kind) for rank, (key, kind) in enumerate(PARAMETER_TYPES)}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _resource(kind: str | None, value: str, account: str | None = None) -> Resource:
    is_arn = value.startswith("arn:")
    return {"type": kind, "arn": value if is_arn else None, "name": value, "account_id": account}


def extract_resources(record: Mapping[str, Any]) -> list[Resource]:
    """The record's listed `resources`; failing those, up to three from its request parameters.

    A listed resource names itself by `ARN`, or by `ARNPrefix` (S3 data events on a prefix).
    """
    listed = record.get("resources")
    if isinstance(listed, list) and listed:
        found: list[Resource] = []
        for item in listed:
            if not isinstance(item, dict):
                continue
            arn = _text(item.get("ARN")) or _text(item.get("ARNPrefix"))
            if arn:
                found.append(_resource(_text(item.get("type")), arn, _text(item.get("accountId"))))
        if found:
            return found
    params = record.get("requestParameters")
    if not isinstance(params, dict):
        return []
    derived: list[Resource] = []
    name_type = NAME_PARAMETER_TYPES.get(str(record.get("eventSource")))
    if name_type and _text(params.get("name")):
        derived.append(_resource(name_type, params["name"]))
    # The known parameters this request has, in PARAMETER_TYPES order (a request has few keys).
    ranks = _PARAMETER_RANKS
    named = sorted((ranks[key][0], key) for key in params if key in ranks)
    for _, key in named:
        value = _text(params[key])
        if value:
            derived.append(_resource(ranks[key][1], value))
            if len(derived) >= MAX_DERIVED:
                break
    return derived


def resource_label(resources: list[Resource]) -> str:
    if not resources:
        return ""
    first = resources[0]
    label = first.get("arn") or first.get("name") or ""
    return f"{label} (+{len(resources) - 1})" if len(resources) > 1 else label
