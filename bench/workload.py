"""The benchmark workload: realistic CloudTrail management events from a fixed seed.

About 20 services with read and write calls, names both in and out of the seed's
catalogue, heavy sts/kms traffic (which the catalogue whitelists), about 4% error events,
and AssumedRole / IAMUser / Root / AWSService actors; about 1.5 KB per event. A rare few
events are the kind the threat rules look for (a world-open security group, a root login),
at rates a busy account sees. The same seed always gives the same bytes.

Written two ways, as AWS delivers them:
- CloudWatch Logs subscription events of 500 log events (`{"awslogs": {"data": ...}}`,
  about 215 KiB each, the Lambda event as it arrives);
- gzipped CloudTrail log files (`{"Records": [...]}`) under CloudTrail's key layout.

Run `python bench/workload.py OUT_DIR` to write a sample set to disk.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import random
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SEED = 20261126
ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "us-east-1", "us-east-1", "eu-west-1", "us-west-2")
CWL_BATCH = 500
ERROR_RATE = 0.04
SESSION_ROTATION = 0.02
START = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)

# (service, weight, [(eventName, weight, readOnly)]): a busy production account's mix, where
# reads and sts/kms calls dominate and writes are a minority.
SERVICES: tuple[tuple[str, float, tuple[tuple[str, float, bool], ...]], ...] = (
    (
        "kms",
        14,
        (
            ("Decrypt", 60, True),
            ("GenerateDataKey", 30, True),
            ("Encrypt", 8, True),
            ("ScheduleKeyDeletion", 0.02, False),
            ("DisableKey", 0.05, False),
        ),
    ),
    (
        "sts",
        12,
        (
            ("AssumeRole", 70, True),
            ("GetCallerIdentity", 25, True),
            ("AssumeRoleWithWebIdentity", 5, True),
        ),
    ),
    (
        "ec2",
        14,
        (
            ("DescribeInstances", 30, True),
            ("DescribeSecurityGroups", 15, True),
            ("DescribeVolumes", 10, True),
            ("DescribeNetworkInterfaces", 10, True),
            ("CreateTags", 8, False),
            ("RunInstances", 3, False),
            ("TerminateInstances", 2, False),
            ("CreateNetworkInterface", 4, False),
            ("DeleteNetworkInterface", 4, False),
            ("AuthorizeSecurityGroupIngress", 1, False),
            ("ModifyInstanceAttribute", 1, False),
            ("CreateSnapshot", 1, False),
            ("StopInstances", 1, False),
        ),
    ),
    (
        "s3",
        10,
        (
            ("GetBucketAcl", 25, True),
            ("GetBucketPolicy", 15, True),
            ("ListBuckets", 15, True),
            ("GetBucketLocation", 20, True),
            ("PutBucketPolicy", 0.5, False),
            ("PutBucketTagging", 2, False),
            ("CreateBucket", 1, False),
            ("DeleteBucket", 0.3, False),
            ("PutBucketPublicAccessBlock", 0.5, False),
        ),
    ),
    (
        "iam",
        6,
        (
            ("GetRole", 30, True),
            ("ListRoles", 15, True),
            ("GetPolicy", 15, True),
            ("ListAttachedRolePolicies", 15, True),
            ("CreateRole", 1, False),
            ("AttachRolePolicy", 1, False),
            ("PutRolePolicy", 1, False),
            ("CreateAccessKey", 0.3, False),
            ("DeleteRole", 0.5, False),
            ("UpdateAssumeRolePolicy", 0.3, False),
            ("CreateUser", 0.2, False),
        ),
    ),
    (
        "lambda",
        5,
        (
            ("GetFunction", 30, True),
            ("ListFunctions20150331", 20, True),
            ("UpdateFunctionCode20150331v2", 2, False),
            ("CreateFunction20150331", 0.5, False),
            ("AddPermission20150331v2", 0.5, False),
            ("PublishVersion20150331", 1, False),
        ),
    ),
    (
        "logs",
        6,
        (
            ("DescribeLogGroups", 40, True),
            ("DescribeLogStreams", 30, True),
            ("CreateLogStream", 25, False),
            ("PutRetentionPolicy", 0.5, False),
            ("DeleteLogGroup", 0.2, False),
        ),
    ),
    (
        "dynamodb",
        5,
        (
            ("DescribeTable", 50, True),
            ("ListTables", 20, True),
            ("UpdateTable", 1, False),
            ("CreateTable", 0.5, False),
            ("DeleteTable", 0.2, False),
        ),
    ),
    (
        "rds",
        3,
        (
            ("DescribeDBInstances", 60, True),
            ("DescribeDBClusters", 30, True),
            ("ModifyDBInstance", 1, False),
            ("CreateDBSnapshot", 1, False),
        ),
    ),
    (
        "cloudformation",
        3,
        (
            ("DescribeStacks", 50, True),
            ("ListStacks", 20, True),
            ("DescribeStackEvents", 20, True),
            ("UpdateStack", 2, False),
            ("CreateStack", 0.5, False),
        ),
    ),
    (
        "ssm",
        4,
        (
            ("GetParameter", 50, True),
            ("GetParameters", 30, True),
            ("DescribeInstanceInformation", 10, True),
            ("PutParameter", 1, False),
            ("UpdateInstanceInformation", 9, False),
        ),
    ),
    (
        "secretsmanager",
        3,
        (
            ("GetSecretValue", 80, True),
            ("DescribeSecret", 15, True),
            ("PutSecretValue", 0.5, False),
        ),
    ),
    (
        "elasticloadbalancing",
        2,
        (
            ("DescribeLoadBalancers", 60, True),
            ("DescribeTargetHealth", 40, True),
            ("RegisterTargets", 2, False),
        ),
    ),
    (
        "autoscaling",
        2,
        (("DescribeAutoScalingGroups", 80, True), ("SetDesiredCapacity", 2, False)),
    ),
    (
        "monitoring",
        3,
        (("DescribeAlarms", 50, True), ("GetMetricData", 40, True), ("PutMetricAlarm", 1, False)),
    ),
    (
        "ecs",
        2,
        (
            ("DescribeServices", 40, True),
            ("ListTasks", 40, True),
            ("UpdateService", 2, False),
            ("RegisterTaskDefinition", 1, False),
        ),
    ),
    (
        "sns",
        1,
        (
            ("ListTopics", 50, True),
            ("GetTopicAttributes", 40, True),
            ("Subscribe", 0.5, False),
            ("SetTopicAttributes", 0.5, False),
        ),
    ),
    (
        "config",
        1,
        (
            ("DescribeConfigRules", 50, True),
            ("PutEvaluations", 30, False),
            ("StopConfigurationRecorder", 0.05, False),
        ),
    ),
    (
        "cloudtrail",
        1,
        (
            ("DescribeTrails", 40, True),
            ("GetTrailStatus", 40, True),
            ("LookupEvents", 20, True),
            ("StopLogging", 0.02, False),
            ("UpdateTrail", 0.1, False),
        ),
    ),
    (
        "apigateway",
        1,
        (("GetRestApis", 60, True), ("CreateDeployment", 2, False), ("UpdateStage", 1, False)),
    ),
    ("signin", 0.3, (("ConsoleLogin", 1, False),)),
)

ERRORS = (
    ("AccessDenied", "User is not authorized to perform this operation"),
    ("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
    ("ThrottlingException", "Rate exceeded"),
    ("ResourceNotFoundException", "The requested resource was not found"),
    ("NoSuchEntityException", "The role with name example cannot be found."),
)

USER_AGENTS = (
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0",
    "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.12",
    "aws-cli/2.17.13 md/awscrt#0.20.11 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.9",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Terraform/1.9.2 (+https://www.terraform.io) terraform-provider-aws/5.58.0",
    "aws-internal/3 aws-sdk-java/1.12.720 Linux/5.10.219 OpenJDK_64-Bit_Server_VM/25.412",
)

EXEC_ENVS = ("AWS_Lambda_python3.12", "AWS_ECS_FARGATE", "EC2", "CloudShell", "GitHubActions")


class Workload:
    """A deterministic stream of events; the same seed gives the same events."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self._clock = START
        self._services = [s for s, _, _ in SERVICES]
        self._service_weights = [w for _, w, _ in SERVICES]
        self._names = {s: names for s, _, names in SERVICES}
        self._actors = [self._actor(i) for i in range(60)]
        self._sessions: dict[str, dict[str, Any]] = {}
        self._actor_weights = [a[1] for a in self._actors]

    # -- actors -----------------------------------------------------------------------------

    def _actor(self, index: int) -> tuple[dict[str, Any] | None, float]:
        """A pool of principals: many role sessions, a few users, services, rarely root."""
        rng = self.rng
        key = "ASIA" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16))
        if index < 40:
            role = (
                rng.choice(
                    (
                        "app-backend",
                        "ci-deploy",
                        "data-pipeline",
                        "AWSReservedSSO_Admin_1a2b3c4d5e6f",
                        "karpenter-node",
                        "monitoring-reader",
                        "lambda-exec-orders",
                        "ecs-task-api",
                    )
                )
                + f"-{index}"
            )
            session = rng.choice(
                (
                    "i-0a1b2c3d4e5f67890",
                    "botocore-session-1732000000",
                    "alice@example.com",
                    "GitHubActions",
                    "aws-go-sdk-17320",
                )
            )
            role_id = "AROA" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=17))
            return (
                {
                    "type": "AssumedRole",
                    "principalId": f"{role_id}:{session}",
                    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
                    "accountId": ACCOUNT,
                    "accessKeyId": key,
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": role_id,
                            "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                            "accountId": ACCOUNT,
                            "userName": role,
                        },
                        "webIdFederationData": {},
                        "attributes": {
                            "creationDate": "2026-11-02T07:41:12Z",
                            "mfaAuthenticated": "false",
                        },
                        "ec2RoleDelivery": "2.0",
                    },
                },
                3.0,
            )
        if index < 50:
            user = f"svc-user-{index}"
            return (
                {
                    "type": "IAMUser",
                    "principalId": "AIDA" + "".join(rng.choices("ABCDEFGHIJKLMNOP234567", k=17)),
                    "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
                    "accountId": ACCOUNT,
                    "accessKeyId": "AKIA" + key[4:],
                    "userName": user,
                },
                1.2,
            )
        if index < 59:
            service = (
                "ec2.amazonaws.com",
                "lambda.amazonaws.com",
                "cloudformation.amazonaws.com",
                "autoscaling.amazonaws.com",
                "elasticloadbalancing.amazonaws.com",
                "config.amazonaws.com",
                "ssm.amazonaws.com",
                "ecs.amazonaws.com",
                "logs.amazonaws.com",
            )[index - 50]
            return ({"type": "AWSService", "invokedBy": service}, 2.0)
        return (
            {
                "type": "Root",
                "principalId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:root",
                "accountId": ACCOUNT,
                "accessKeyId": key,
            },
            0.05,
        )

    def _session(self, identity: dict[str, Any] | None) -> dict[str, Any] | None:
        """The role's current session; a role starts a new session (new name, new key) on
        about 2% of its calls, as credentials of instances, tasks and functions expire and
        CI jobs start: a session makes some fifty calls on average."""
        if identity is None or identity["type"] != "AssumedRole":
            return identity
        current = self._sessions.get(identity["arn"])
        if current is None or self.rng.random() < SESSION_ROTATION:
            current = self._sessions[identity["arn"]] = self._new_session(identity)
        return current

    def _new_session(self, identity: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        role = identity["sessionContext"]["sessionIssuer"]
        session = (
            f"{rng.choice(('i-0', 'botocore-session-', 'aws-go-sdk-'))}{rng.getrandbits(48):x}"
        )
        started = self._clock - dt.timedelta(seconds=rng.randrange(3600))
        return {
            **identity,
            "principalId": f"{role['principalId']}:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['userName']}/{session}",
            "accessKeyId": "ASIA" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16)),
            "sessionContext": {
                **identity["sessionContext"],
                "attributes": {
                    "creationDate": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "mfaAuthenticated": "false",
                },
            },
        }

    # -- events -----------------------------------------------------------------------------

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _token(self, length: int) -> str:
        return base64.b64encode(self.rng.randbytes(length * 3 // 4)).decode()

    def _parameters(self, name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        rng = self.rng
        n = rng.randrange(10**6)
        if name == "AuthorizeSecurityGroupIngress":
            cidr = "0.0.0.0/0" if rng.random() < 0.2 else f"10.{n % 256}.0.0/16"
            return (
                {
                    "groupId": f"sg-0{n:016x}",
                    "ipPermissions": {
                        "items": [
                            {
                                "ipProtocol": "tcp",
                                "fromPort": 443,
                                "toPort": 443,
                                "groups": {},
                                "ipRanges": {"items": [{"cidrIp": cidr}]},
                                "ipv6Ranges": {},
                                "prefixListIds": {},
                            }
                        ]
                    },
                },
                {
                    "_return": True,
                    "securityGroupRuleSet": {
                        "items": [
                            {
                                "groupId": f"sg-0{n:016x}",
                                "securityGroupRuleId": f"sgr-0{n:016x}",
                                "isEgress": False,
                                "ipProtocol": "tcp",
                                "fromPort": 443,
                                "toPort": 443,
                                "cidrIpv4": cidr,
                            }
                        ]
                    },
                },
            )
        if name.startswith(("Describe", "List", "Get")) and name not in {
            "GetParameter",
            "GetSecretValue",
            "GetRole",
            "GetFunction",
            "GetPolicy",
        }:
            if rng.random() < 0.4:
                return None, None
            ids = [
                f"{name[8:11].lower() or 'id'}-0{rng.getrandbits(64):016x}"
                for _ in range(rng.randrange(1, 6))
            ]
            return {
                "maxResults": 100,
                "filterSet": {
                    "items": [
                        {"name": "resource-id", "valueSet": {"items": [{"value": i} for i in ids]}}
                    ]
                },
            }, None
        if name in ("Decrypt", "GenerateDataKey", "Encrypt"):
            return (
                {
                    "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                    "keyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{self._id()}",
                    "encryptionContext": {
                        "aws:lambda:FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}"
                        ":function:orders"
                    },
                },
                None,
            )
        if name.startswith("AssumeRole"):
            return (
                {
                    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/app-backend-{n % 40}",
                    "roleSessionName": f"botocore-session-{n}",
                    "durationSeconds": 3600,
                },
                {
                    "credentials": {
                        "accessKeyId": "ASIA" + f"{n:016d}",
                        "sessionToken": "IQoJb3JpZ2luX2VjEH" + self._token(1000),
                        "expiration": "Nov 2, 2026, 9:00:00 AM",
                    },
                    "assumedRoleUser": {
                        "assumedRoleId": f"AROA{n:017d}:botocore-session-{n}",
                        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/{n}",
                    },
                },
            )
        if name == "ConsoleLogin":
            return None, {"ConsoleLogin": "Success"}
        if name in (
            "PutBucketPolicy",
            "CreateBucket",
            "DeleteBucket",
            "PutBucketTagging",
            "PutBucketPublicAccessBlock",
        ) or name.startswith("GetBucket"):
            return {"bucketName": f"orders-data-{n % 50}", "Host": "s3.amazonaws.com"}, None
        if name in (
            "RunInstances",
            "TerminateInstances",
            "StopInstances",
            "ModifyInstanceAttribute",
            "CreateTags",
        ):
            return (
                {"instancesSet": {"items": [{"instanceId": f"i-0{n:016x}"}]}},
                {
                    "requestId": self._id(),
                    "instancesSet": {
                        "items": [
                            {
                                "instanceId": f"i-0{n:016x}",
                                "currentState": {"code": 16, "name": "running"},
                            }
                        ]
                    },
                },
            )
        if "Role" in name or name in ("CreateUser", "CreateAccessKey", "GetPolicy"):
            return {"roleName": f"app-backend-{n % 40}", "userName": f"svc-user-{n % 10}"}, None
        if name in ("GetParameter", "GetParameters", "PutParameter"):
            return {"name": f"/orders/prod/config-{n % 30}", "withDecryption": True}, None
        if name in ("GetSecretValue", "DescribeSecret", "PutSecretValue"):
            return {
                "secretId": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-{n % 9}"
            }, None
        if "Function" in name or "Permission" in name or name.startswith("Publish"):
            return {"functionName": f"orders-{n % 20}"}, None
        if "LogStream" in name or "LogGroup" in name or name == "PutRetentionPolicy":
            return {
                "logGroupName": f"/aws/lambda/orders-{n % 20}",
                "logStreamName": f"2026/11/02/[$LATEST]{n:032x}",
            }, None
        if "Table" in name:
            return {"tableName": f"orders-{n % 12}"}, None
        return {"resourceId": f"res-{n:08x}"}, {"requestId": self._id()}

    def event(self) -> dict[str, Any]:
        rng = self.rng
        service = rng.choices(self._services, self._service_weights)[0]
        names = self._names[service]
        name, _, read_only = rng.choices(names, [w for _, w, _ in names])[0]
        identity, _ = rng.choices(self._actors, self._actor_weights)[0]
        if service == "signin" and rng.random() < 0.1:
            identity = self._actors[-1][0]  # now and then root signs in
        identity = self._session(identity)
        self._clock += dt.timedelta(milliseconds=rng.randrange(1, 40))
        region = "us-east-1" if service in ("iam", "signin", "sts") else rng.choice(REGIONS)
        source = f"{service}.amazonaws.com"
        request, response = self._parameters(name)
        event: dict[str, Any] = {
            "eventVersion": "1.10",
            "userIdentity": identity,
            "eventTime": self._clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": (
                identity["invokedBy"]
                if identity and identity["type"] == "AWSService"
                else f"{rng.choice((10, 52, 54, 203))}.{rng.randrange(256)}.{rng.randrange(256)}"
                f".{rng.randrange(1, 255)}"
            ),
            "userAgent": f"{rng.choice(USER_AGENTS)} exec-env/{rng.choice(EXEC_ENVS)}"
            f" cfg/retry-mode#standard m/{rng.choice('ABCDEFGZ')},{rng.choice('abcde')}",
            "requestParameters": request,
            "responseElements": response,
            "requestID": self._id(),
            "eventID": self._id(),
            "readOnly": read_only,
            "eventType": "AwsConsoleSignIn" if service == "signin" else "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{service}.{region}.amazonaws.com",
            },
        }
        if service in ("kms", "sts") and request:
            arn = request.get("keyId") or request.get("roleArn")
            event["resources"] = [
                {
                    "accountId": ACCOUNT,
                    "type": "AWS::KMS::Key" if service == "kms" else "AWS::IAM::Role",
                    "ARN": arn,
                }
            ]
            event["sharedEventID"] = self._id()
        if rng.random() < ERROR_RATE:
            code, message = rng.choice(ERRORS)
            event["errorCode"] = code
            event["errorMessage"] = message
            if code == "Client.UnauthorizedOperation":
                event["errorMessage"] += " Encoded authorization failure message: " + self._token(
                    rng.randrange(400, 900)
                )
            event["responseElements"] = None
        if service == "signin":
            event["additionalEventData"] = {
                "LoginTo": "https://console.aws.amazon.com/console/home",
                "MobileVersion": "No",
                "MFAUsed": "Yes" if rng.random() < 0.7 else "No",
            }
            event.pop("tlsDetails")
        return event

    def events(self, count: int) -> list[dict[str, Any]]:
        return [self.event() for _ in range(count)]

    # -- envelopes --------------------------------------------------------------------------

    def cloudwatch_logs_event(self, count: int = CWL_BATCH) -> bytes:
        """One CloudWatch Logs subscription event as Lambda receives it (JSON bytes)."""
        log_events = []
        for event in self.events(count):
            millis = int(dt.datetime.fromisoformat(event["eventTime"]).timestamp() * 1000)
            log_events.append(
                {
                    "id": f"{millis:020d}{self.rng.getrandbits(120):036d}"[:56],
                    "timestamp": millis,
                    "message": json.dumps(event, separators=(",", ":")),
                }
            )
        document = {
            "messageType": "DATA_MESSAGE",
            "owner": ACCOUNT,
            "logGroup": "aws-cloudtrail-logs-111122223333-trailguard",
            "logStream": f"{ACCOUNT}_CloudTrail_us-east-1",
            "subscriptionFilters": ["trailguard"],
            "logEvents": log_events,
        }
        raw = json.dumps(document, separators=(",", ":")).encode()
        data = base64.b64encode(gzip.compress(raw, mtime=0)).decode()
        return json.dumps({"awslogs": {"data": data}}).encode()

    def log_file(self, count: int) -> tuple[str, bytes]:
        """One gzipped CloudTrail log file and its key."""
        records = self.events(count)
        stamp = self._clock.strftime("%Y%m%dT%H%MZ")
        day = self._clock.strftime("%Y/%m/%d")
        unique = "".join(self.rng.choices("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", k=16))
        key = (
            f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{day}/"
            f"{ACCOUNT}_CloudTrail_us-east-1_{stamp}_{unique}.json.gz"
        )
        body = json.dumps({"Records": records}, separators=(",", ":")).encode()
        return key, gzip.compress(body, compresslevel=6, mtime=0)


def cloudwatch_logs_events(batches: int, seed: int = SEED) -> list[bytes]:
    workload = Workload(seed)
    return [workload.cloudwatch_logs_event() for _ in range(batches)]


def log_files(files: int, records: int, seed: int = SEED) -> Iterator[tuple[str, bytes]]:
    workload = Workload(seed)
    for _ in range(files):
        yield workload.log_file(records)


def cloudwatch_logs_event_within(limit: int, seed: int = SEED) -> tuple[int, bytes]:
    """The largest CloudWatch Logs event (as many log events as fit) of at most `limit` bytes.

    Lambda takes at most 256 KiB per asynchronous invocation, so that is the largest batch a
    subscription hands the function. Each try starts afresh from `seed`: deterministic.
    """
    low, high = 1, 4 * CWL_BATCH
    best = (1, Workload(seed).cloudwatch_logs_event(1))
    while low <= high:
        count = (low + high) // 2
        payload = Workload(seed).cloudwatch_logs_event(count)
        if len(payload) <= limit:
            best = (count, payload)
            low = count + 1
        else:
            high = count - 1
    return best


def write_log_file(path: Path, min_bytes: int, seed: int = SEED) -> dict[str, int]:
    """Write one gzipped CloudTrail log file of at least `min_bytes` decompressed, streamed
    (never whole in memory): a month-end burst, or a log file that a trail rarely writes but
    a backfill must still read. Returns its record count and sizes."""
    workload = Workload(seed)
    records = 0
    with path.open("wb") as raw, gzip.GzipFile("", "wb", 6, raw, mtime=0) as out:
        written = out.write(b'{"Records":[')
        while written < min_bytes:
            text = json.dumps(workload.event(), separators=(",", ":")).encode()
            written += out.write(b"," + text if records else text)
            records += 1
        written += out.write(b"]}")
    return {
        "records": records,
        "decompressed_bytes": written,
        "compressed_bytes": path.stat().st_size,
    }


def write_log_folder(folder: Path, files: int, records: int, seed: int = SEED) -> int:
    """A trail bucket's tree of `files` gzipped log files under `folder`; the record count."""
    for key, body in log_files(files, records, seed):
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return files * records


def write_sample(out: Path, batches: int = 4, files: int = 8, records: int = 1000) -> None:
    """A sample on disk: CloudWatch Logs events and a CloudTrail log-file tree."""
    (out / "cloudwatch_logs").mkdir(parents=True, exist_ok=True)
    for index, payload in enumerate(cloudwatch_logs_events(batches)):
        (out / "cloudwatch_logs" / f"batch-{index:03d}.json").write_bytes(payload)
    for key, body in log_files(files, records):
        path = out / "s3" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


if __name__ == "__main__":
    write_sample(Path(sys.argv[1] if len(sys.argv) > 1 else "bench/.workload"))
