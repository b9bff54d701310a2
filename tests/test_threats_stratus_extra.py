"""Rules for the Stratus Red Team techniques that have no detonation records in our data.

Five techniques of events/stratus_techniques_index.jsonl (`has_detonation_logs_json:
false`) get rules here: s3-backdoor-bucket-policy, the three S3 ransomware techniques
(batch deletion, individual deletion, client-side encryption), sagemaker-update-lifecycle-
config and ec2-deregister-ami. With no real detonation to replay, each technique's API
sequence is rebuilt as Stratus's code issues it (its `detonate` and `revert` functions),
with records shaped from the AWS CloudTrail documentation for S3 data events and
management events and from the SageMaker and EC2 API references. The sequences run through
the shipped detection packs (catalogue off, as tests/test_stratus_coverage.py does), and
the thresholds and the new predicate are checked on near misses.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given

from conftest import JSON_VALUES, SHARED_DATA
from conftest import check_predicate as check
from trailguard.config import Config
from trailguard.engine import Engine
from trailguard.model import Finding, Place, Severity, SourcedRecord
from trailguard.pipeline import Detector, build_detector
from trailguard.rules.loader import load_rules
from trailguard.rules.packs import PACKS_DIR, load_packs
from trailguard.rules.predicates.s3 import ELB_LOG_DELIVERY_ACCOUNTS
from trailguard.rules.rule import Rule
from trailguard.rules.ruleset import RuleSet
from trailguard.tally import InputTally

THREATS = PACKS_DIR / "threats"
DETECTIONS_ONLY = Config(packs={"catalog": False})
ACCOUNT = "111122223333"
OUTSIDER = "193672423079"  # the "external, fictitious" account of Stratus's malicious_policy.json
START = dt.datetime(2024, 9, 4, 12, 0, 0, tzinfo=dt.UTC)

BACKDOOR = "threats.s3_bucket_policy_shared_outside"
MADE_PUBLIC = "threats.s3_bucket_made_public"
BATCH = "threats.s3_batch_delete_burst"
ONE_BY_ONE = "threats.s3_object_delete_burst"
SSE_C = "threats.s3_sse_c_encryption_burst"
SAGEMAKER = "threats.sagemaker_notebook_lifecycle_changed"
AMI = "threats.ec2_image_deregistered"
NEW_RULES = {
    BACKDOOR: (Severity.HIGH, None),
    BATCH: (Severity.HIGH, (5, 300)),
    ONE_BY_ONE: (Severity.HIGH, (50, 300)),
    SSE_C: (Severity.HIGH, (10, 300)),
    SAGEMAKER: (Severity.MEDIUM, None),
    AMI: (Severity.LOW, None),
}
"""Each new rule, its base severity, and its threshold (count, window seconds) if any."""

AMZ_ID_2 = "pYxG1c0ITtEXAMPLEaTbl5wN9/0GwCvmwdwxUHzZp8fb0QhWk7wQlnhg5QJgtwPzbYoPGqMY1GU="
ALICE = {
    "type": "IAMUser",
    "principalId": "AIDAEXAMPLEUSER00001",
    "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "accountId": ACCOUNT,
    "accessKeyId": "AKIAEXAMPLEKEY000002",
    "userName": "alice",
}
BOB = {**ALICE, "principalId": "AIDAEXAMPLEUSER00002", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob"}
BOB["userName"], BOB["accessKeyId"] = "bob", "AKIAEXAMPLEKEY000003"
S3_SERVICE = {"type": "AWSService", "invokedBy": "s3.amazonaws.com"}
STRATUS_AGENT = "stratus-red-team_5d2e8f41-0a7b-4c39-b6e1-9f3a2c4d5e81"
WORDS = ("liable", "donated", "mayday", "blooper", "pueblo", "tantrum", "scary", "secret")
EXTENSIONS = ("sql", "txt", "docx", "pdf", "png", "tar.gz")

_ids = itertools.count(1)


def event_id() -> str:
    return str(uuid.UUID(int=next(_ids), version=4))


def at(seconds: float) -> str:
    return (START + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def planted_keys(count: int = 51) -> list[str]:
    """Object names like the ones Stratus's warm-up plants (two words, a random extension)."""
    pairs = itertools.islice(itertools.product(WORDS, WORDS), count)
    return [f"{a}-{b}.{EXTENSIONS[i % len(EXTENSIONS)]}" for i, (a, b) in enumerate(pairs)]


# --- record builders, shaped from the AWS documentation ------------------------------------


def s3_data_event(
    name: str,
    bucket: str,
    seconds: float,
    key: str | None = None,
    identity: dict[str, Any] = ALICE,
    extra: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    sse: str = "SSE_S3",
    error: str | None = None,
) -> dict[str, Any]:
    """An S3 data event as CloudTrail writes it (eventCategory Data, object and bucket
    resources; the object resource is an ARNPrefix when the request names no key)."""
    params: dict[str, Any] = {"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com"}
    if key is not None:
        params["key"] = key
    params.update(extra or {})
    params.setdefault("x-id", name)
    target = (
        {"ARN": f"arn:aws:s3:::{bucket}/{key}"} if key else {"ARNPrefix": f"arn:aws:s3:::{bucket}/"}
    )
    record: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": at(seconds),
        "eventSource": "s3.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.24",
        "userAgent": f"[{STRATUS_AGENT}]",
        "requestParameters": params,
        "responseElements": response,
        "additionalEventData": {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "SSEApplied": sse,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": AMZ_ID_2,
            "bytesTransferredOut": 0,
        },
        "requestID": uuid.UUID(int=next(_ids)).hex[:16].upper(),
        "eventID": event_id(),
        "readOnly": name.startswith(("Get", "List", "Head")),
        "resources": [
            {"type": "AWS::S3::Object", **target},
            {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ],
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Data",
    }
    if error:
        record["errorCode"], record["errorMessage"] = error, "Access Denied"
    return record


def management_event(
    source: str,
    name: str,
    seconds: float,
    params: dict[str, Any],
    response: dict[str, Any] | None = None,
    identity: dict[str, Any] = ALICE,
    error: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": at(seconds),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.24",
        "userAgent": STRATUS_AGENT,
        "requestParameters": params,
        "responseElements": response,
        "requestID": event_id(),
        "eventID": event_id(),
        "readOnly": name.startswith(("Describe", "Get", "List")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        record["errorCode"], record["errorMessage"] = error, "Access Denied"
    return record


def put_bucket_policy(bucket: str, policy: Any, seconds: float = 0, **kw: Any) -> dict[str, Any]:
    """PutBucketPolicy as the S3 CloudTrail examples show it (a management event)."""
    params = {
        "bucketPolicy": policy,
        "bucketName": bucket,
        "Host": f"{bucket}.s3.us-east-1.amazonaws.com",
        "policy": [""],
    }
    record = management_event("s3.amazonaws.com", "PutBucketPolicy", seconds, params, **kw)
    record["resources"] = [
        {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}
    ]
    return record


def stratus_backdoor_policy(bucket: str) -> dict[str, Any]:
    """Stratus's malicious_policy.json, filled in as its detonate() does."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"},
                "Action": ["s3:GetObject", "s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}"],
            }
        ],
    }


def statement(principal: Any, effect: str = "Allow", **extra: Any) -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::orders/*",
        **extra,
    }


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --- running the packs ----------------------------------------------------------------------


@cache
def detection_packs() -> tuple[RuleSet, ...]:
    return tuple(load_packs(DETECTIONS_ONLY).packs)


def detect(records: Iterable[dict[str, Any]]) -> list[Finding]:
    """Findings of the shipped detection packs (cis, threats; catalogue off)."""
    detector = Detector(Engine(list(detection_packs())), DETECTIONS_ONLY)
    items = [SourcedRecord(r, Place("sequence", f"[{i}]")) for i, r in enumerate(records)]
    tally = InputTally()
    findings = list(detector.run(items, tally))
    assert not tally.errors, [e.message() for e in tally.errors]
    return findings


def found(findings: list[Finding], rule_id: str) -> list[Finding]:
    return [f for f in findings if f.rule_id == rule_id]


@cache
def new_rules() -> dict[str, Rule]:
    rules = {}
    for rule_id in NEW_RULES:
        (rule,) = load_rules(THREATS / f"{rule_id.split('.', 1)[1]}.yaml")
        rules[rule.rule_id] = rule
    return rules


# --- the rules themselves -------------------------------------------------------------------


def test_the_new_rules_load_with_references_runbooks_and_thresholds():
    assert set(new_rules()) == set(NEW_RULES)
    for rule_id, (severity, threshold) in NEW_RULES.items():
        rule = new_rules()[rule_id]
        assert rule.severity == severity, rule_id
        assert rule.references.get("pci_dss"), rule_id
        assert rule.references.get("mitre_attack"), rule_id
        assert rule.runbook, rule_id
        assert rule.tags, rule_id
        if threshold is None:
            assert rule.threshold is None, rule_id
        else:
            assert rule.threshold is not None
            assert (rule.threshold.count, rule.threshold.window_seconds) == threshold, rule_id
            assert rule.threshold.group_by == ("userIdentity.arn", "requestParameters.bucketName")


@pytest.mark.parametrize("rule_id", [BATCH, ONE_BY_ONE, SSE_C])
def test_data_event_rules_say_data_events_must_be_on(rule_id):
    assert "S3 data events" in new_rules()[rule_id].description


def test_the_new_rules_are_in_the_shipped_threats_pack():
    shipped = load_packs(Config()).rules
    assert set(NEW_RULES) <= set(shipped)


def test_nothing_in_the_real_stratus_detonations_trips_the_new_rules():
    """None of the 310 real detonation records is one of these techniques' events."""
    lines = (SHARED_DATA / "events" / "stratus_detonations.jsonl").read_text().splitlines()
    records = [json.loads(line)["event"] for line in lines]
    detector = Detector(Engine([RuleSet("threats", list(new_rules().values()))]))
    items = [SourcedRecord(r, Place("stratus", str(i))) for i, r in enumerate(records)]
    assert [f.rule_id for f in detector.run(items, InputTally())] == []


def test_the_index_lists_these_techniques_without_detonations():
    index = SHARED_DATA / "events" / "stratus_techniques_index.jsonl"
    entries = {e["technique"]: e for e in map(json.loads, index.read_text().splitlines())}
    for technique in (
        "aws.exfiltration.s3-backdoor-bucket-policy",
        "aws.impact.s3-ransomware-batch-deletion",
        "aws.impact.s3-ransomware-individual-deletion",
        "aws.impact.s3-ransomware-client-side-encryption",
        "aws.execution.sagemaker-update-lifecycle-config",
        "aws.impact.ec2-deregister-ami",
    ):
        assert entries[technique]["has_detonation_logs_json"] is False, technique


# --- aws.exfiltration.s3-backdoor-bucket-policy ---------------------------------------------


def test_stratus_backdoor_bucket_policy_detonation_is_high_shaped_from_aws_docs():
    bucket = "stratus-red-team-bdbp-kqzvxa"
    detonation = [put_bucket_policy(bucket, stratus_backdoor_policy(bucket), 0)]
    revert = [
        management_event(
            "s3.amazonaws.com",
            "DeleteBucketPolicy",
            60,
            {"bucketName": bucket, "Host": f"{bucket}.s3.us-east-1.amazonaws.com", "policy": [""]},
        )
    ]
    findings = detect(detonation + revert)
    (finding,) = found(findings, BACKDOOR)
    assert finding.severity == Severity.HIGH
    assert finding.title == f"S3 bucket {bucket} policy lets another AWS account in"
    assert found(findings, MADE_PUBLIC) == []


def test_a_public_policy_that_also_names_an_outsider_is_reported_once_as_public():
    bucket = "payments-exports-111122223333"
    both = policy(statement("*"), statement({"AWS": OUTSIDER}))
    findings = detect([put_bucket_policy(bucket, both)])
    assert [f.rule_id for f in findings if f.rule_id in (BACKDOOR, MADE_PUBLIC)] == [MADE_PUBLIC]


@pytest.mark.parametrize(
    ("principal", "why"),
    [
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Analytics"}, "the bucket's own account"),
        ({"Service": "logging.s3.amazonaws.com"}, "a service principal"),
        ({"AWS": "arn:aws:iam::127311923021:root"}, "the us-east-1 ELB log account"),
        (
            {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
            "a canonical id",
        ),
    ],
)
def test_policies_without_an_outside_account_are_not_a_backdoor(principal, why):
    record = put_bucket_policy("orders", policy(statement(principal)))
    assert found(detect([record]), BACKDOOR) == [], why


def test_a_refused_backdoor_policy_is_not_reported():
    bucket = "stratus-red-team-bdbp-kqzvxa"
    record = put_bucket_policy(bucket, stratus_backdoor_policy(bucket), error="AccessDenied")
    assert found(detect([record]), BACKDOOR) == []


# --- the predicate bucket_policy_shares_with_account ----------------------------------------


def shares(document: Any, **changes: Any) -> bool:
    record = put_bucket_policy("orders", document)
    record.update(changes)
    return check("bucket_policy_shares_with_account", record, path="requestParameters.bucketPolicy")


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": f"arn:aws:iam::{OUTSIDER}:root"},
        {"AWS": OUTSIDER},
        {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/Backup", f"arn:aws:iam::{OUTSIDER}:role/sync"]},
        {"AWS": f"arn:aws:iam::{OUTSIDER}:user/partner-etl"},
        {"AWS": f"arn:aws:sts::{OUTSIDER}:assumed-role/sync/session-1"},
        {"AWS": "arn:aws-us-gov:iam::444455556666:root"},
    ],
)
def test_predicate_sees_an_outside_account(principal):
    assert shares(policy(statement(principal)))


def test_predicate_reads_policy_text_and_url_encoded_text():
    document = stratus_backdoor_policy("orders")
    assert shares(json.dumps(document))
    assert shares(quote(json.dumps(document)))


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        {"AWS": ACCOUNT},
        {"Service": "cloudtrail.amazonaws.com"},
        {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
        {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL"},
        {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
    ],
)
def test_predicate_ignores_principals_that_are_no_outside_account(principal):
    assert not shares(policy(statement(principal)))


@pytest.mark.parametrize("elb_account", sorted(ELB_LOG_DELIVERY_ACCOUNTS))
def test_predicate_ignores_every_elb_log_delivery_account(elb_account):
    log_delivery = statement({"AWS": f"arn:aws:iam::{elb_account}:root"}, Action="s3:PutObject")
    assert not shares(policy(log_delivery))
    assert shares(policy(log_delivery, statement({"AWS": OUTSIDER})))


def test_predicate_ignores_deny_statements_and_judges_only_with_an_own_account():
    assert not shares(policy(statement({"AWS": OUTSIDER}, effect="Deny")))
    backdoor = stratus_backdoor_policy("orders")
    assert shares(backdoor)
    assert not shares(backdoor, recipientAccountId=None, userIdentity={"type": "AWSAccount"})
    # Without recipientAccountId the actor's account stands in for the bucket's own.
    assert shares(backdoor, recipientAccountId=None)
    assert not shares(
        policy(statement({"AWS": f"arn:aws:iam::{OUTSIDER}:root"})), recipientAccountId=OUTSIDER
    )


@given(JSON_VALUES)
def test_predicate_never_raises_on_malformed_policies(value):
    shares(value)
    shares(policy(statement(value)))
    shares({"Statement": value})


# --- aws.impact.s3-ransomware-individual-deletion --------------------------------------------


def stratus_download(bucket: str, keys: list[str], start: float) -> list[dict[str, Any]]:
    """utils.DownloadAllObjects: list the bucket, then read every object."""
    records = [s3_data_event("ListObjects", bucket, start, extra={"list-type": "2"})]
    records += [
        s3_data_event("GetObject", bucket, start + 0.1 * i, key) for i, key in enumerate(keys)
    ]
    return records


def ransom_note(bucket: str, seconds: float) -> dict[str, Any]:
    return s3_data_event("PutObject", bucket, seconds, "FILES-DELETED.txt")


def test_stratus_individual_deletion_detonation_is_high_shaped_from_aws_docs():
    bucket = "stratus-red-team-ransomware-bucket-qwhzjk"
    keys = planted_keys()
    sequence = stratus_download(bucket, keys, 0)
    sequence.append(s3_data_event("ListObjectVersions", bucket, 8, extra={"versions": ""}))
    sequence += [
        s3_data_event(
            "DeleteObject", bucket, 9 + 0.2 * i, key, extra={"versionId": uuid.UUID(int=i).hex}
        )
        for i, key in enumerate(keys)
    ]
    sequence.append(ransom_note(bucket, 20))
    findings = detect(sequence)
    (finding,) = found(findings, ONE_BY_ONE)
    assert finding.severity == Severity.HIGH
    assert finding.context is not None
    assert finding.context["threshold"]["count"] == 50
    assert finding.context["threshold"]["group"] == {
        "userIdentity.arn": ALICE["arn"],
        "requestParameters.bucketName": bucket,
    }
    assert finding.title.startswith(f"Burst of S3 object deletions in {bucket} by {ALICE['arn']}")
    assert found(findings, BATCH) == []
    assert found(findings, SSE_C) == []


def deletions(
    count: int, bucket: str = "orders", step: float = 1, **kw: Any
) -> list[dict[str, Any]]:
    return [
        s3_data_event("DeleteObject", bucket, i * step, f"tmp/{i:05}.csv", **kw)
        for i in range(count)
    ]


def test_individual_deletions_near_misses():
    assert found(detect(deletions(49)), ONE_BY_ONE) == []
    # Fifty, but one every 12 seconds: no 5-minute window holds more than 26.
    assert found(detect(deletions(50, step=12)), ONE_BY_ONE) == []
    # Sixty in a minute, spread over two buckets.
    spread = deletions(30, "orders") + deletions(30, "reports")
    assert found(detect(spread), ONE_BY_ONE) == []
    # Sixty in one bucket, by two people.
    assert found(detect(deletions(30) + deletions(30, identity=BOB)), ONE_BY_ONE) == []
    # Refused deletions and an AWS service's own deletions do not count.
    assert found(detect(deletions(60, error="AccessDenied")), ONE_BY_ONE) == []
    assert found(detect(deletions(60, identity=S3_SERVICE)), ONE_BY_ONE) == []


def test_individual_deletions_at_the_threshold_and_beyond():
    assert len(found(detect(deletions(50)), ONE_BY_ONE)) == 1
    # A long run within one window is one alert (the cooldown), not one per 50 deletions.
    assert len(found(detect(deletions(120, step=0.5)), ONE_BY_ONE)) == 1


# --- aws.impact.s3-ransomware-batch-deletion -------------------------------------------------


def batch_deletions(
    count: int, bucket: str = "orders", start: float = 0, **kw: Any
) -> list[dict[str, Any]]:
    return [
        s3_data_event("DeleteObjects", bucket, start + 2 * i, extra={"delete": ""}, **kw)
        for i in range(count)
    ]


def test_batch_deletion_of_a_real_bucket_is_high_shaped_from_aws_docs():
    """Stratus's removeAllObjects on a bucket of 4,800 versions: DeleteObjects takes at most
    1,000 keys, so the versions are listed a page at a time and deleted in five calls."""
    bucket = "customer-uploads-111122223333"
    sequence = []
    for page in range(5):
        sequence.append(
            s3_data_event("ListObjectVersions", bucket, 10 * page, extra={"versions": ""})
        )
        sequence += batch_deletions(1, bucket, start=10 * page + 1)
    sequence.append(ransom_note(bucket, 60))
    (finding,) = found(detect(sequence), BATCH)
    assert finding.severity == Severity.HIGH
    assert finding.context is not None
    assert finding.context["threshold"]["count"] == 5


def test_stratus_own_batch_detonation_is_one_call_and_below_the_threshold():
    """The detonation on its 51-object bucket sends a single DeleteObjects: CloudTrail cannot
    tell it from a console user deleting a folder, so only the catalogue reports it."""
    bucket = "stratus-red-team-ransomware-bucket-wlcudc"
    keys = planted_keys()
    sequence = stratus_download(bucket, keys, 0)
    sequence.append(s3_data_event("ListObjectVersions", bucket, 8, extra={"versions": ""}))
    sequence += batch_deletions(1, bucket, start=9)
    sequence.append(ransom_note(bucket, 10))
    assert found(detect(sequence), BATCH) == []
    with_catalogue = list(
        build_detector().run([SourcedRecord(r, Place("seq")) for r in sequence], InputTally())
    )
    deleted = [f for f in with_catalogue if f.record["eventName"] == "DeleteObjects"]
    assert [(f.rule_id, f.severity) for f in deleted] == [("catalog.deletion", Severity.HIGH)]


def test_batch_deletion_near_misses():
    assert found(detect(batch_deletions(4)), BATCH) == []
    assert found(detect(batch_deletions(3, "orders") + batch_deletions(3, "reports")), BATCH) == []
    assert found(detect(batch_deletions(3) + batch_deletions(3, identity=BOB)), BATCH) == []
    assert found(detect(batch_deletions(6, error="AccessDenied")), BATCH) == []
    # Five calls, but 80 seconds apart: never five inside five minutes.
    spaced = [
        s3_data_event("DeleteObjects", "orders", 80 * i, extra={"delete": ""}) for i in range(5)
    ]
    assert found(detect(spaced), BATCH) == []


def test_batch_deletion_at_the_threshold():
    (finding,) = found(detect(batch_deletions(5)), BATCH)
    assert finding.severity == Severity.HIGH


# --- aws.impact.s3-ransomware-client-side-encryption -----------------------------------------

SSE_C_HEADER = "x-amz-server-side-encryption-customer-algorithm"


def sse_c_copy(bucket: str, key: str, seconds: float, **kw: Any) -> dict[str, Any]:
    """Stratus's encryptAllObjects: CopyObject of the object onto itself under an SSE-C key."""
    extra = {SSE_C_HEADER: "AES256", "x-amz-copy-source": f"{bucket}/{key}"}
    return s3_data_event(
        "CopyObject",
        bucket,
        seconds,
        key,
        extra=extra,
        response={SSE_C_HEADER: "AES256"},
        sse="SSE_C",
        **kw,
    )


def test_stratus_client_side_encryption_detonation_is_high_shaped_from_aws_docs():
    bucket = "stratus-red-team-ransomware-bucket-mfpqzd"
    keys = planted_keys()
    sequence = stratus_download(bucket, keys, 0)
    sequence.append(s3_data_event("ListObjectVersions", bucket, 8, extra={"versions": ""}))
    sequence += [sse_c_copy(bucket, key, 9 + 0.3 * i) for i, key in enumerate(keys)]
    sequence.append(ransom_note(bucket, 30))
    findings = detect(sequence)
    # The first alert comes at the tenth object; a threshold counts afresh after it fires,
    # so the 51 rewrites give five.
    encrypted = found(findings, SSE_C)
    assert [f.severity for f in encrypted] == [Severity.HIGH]  # one burst, one alert
    assert encrypted[0].record["requestParameters"]["key"] == keys[9]
    assert encrypted[0].context is not None
    assert encrypted[0].context["threshold"]["count"] == 10
    assert found(findings, ONE_BY_ONE) == []
    assert found(findings, BATCH) == []


def test_sse_c_counts_puts_copies_and_multipart_uploads_together():
    bucket = "customer-uploads-111122223333"
    writes = []
    for i in range(4):
        writes.append(sse_c_copy(bucket, f"a/{i}.pdf", i))
        writes.append(
            s3_data_event(
                "PutObject", bucket, i + 0.5, f"b/{i}.pdf", extra={SSE_C_HEADER: ["AES256"]}
            )
        )
    for i in range(2):
        # Only SSEApplied tells: the header is not in requestParameters.
        writes.append(
            s3_data_event(
                "CreateMultipartUpload",
                bucket,
                10 + i,
                f"c/{i}.tar.gz",
                extra={"uploads": ""},
                sse="SSE_C",
            )
        )
    (finding,) = found(detect(writes), SSE_C)
    assert finding.record["eventName"] == "CreateMultipartUpload"


def test_sse_c_near_misses():
    bucket = "customer-uploads-111122223333"
    nine = [sse_c_copy(bucket, f"k/{i}", i) for i in range(9)]
    assert found(detect(nine), SSE_C) == []
    # Nine SSE-C copies and ordinary writes around them.
    plain = [s3_data_event("PutObject", bucket, 20 + i, f"p/{i}") for i in range(20)]
    assert found(detect(nine + plain), SSE_C) == []
    # Twelve, spread over two buckets.
    spread = [sse_c_copy("orders" if i % 2 else "reports", f"k/{i}", i) for i in range(12)]
    assert found(detect(spread), SSE_C) == []
    # UploadPart carries the header on every part of an upload already counted.
    parts = [
        s3_data_event(
            "UploadPart",
            bucket,
            i,
            "big.tar.gz",
            extra={SSE_C_HEADER: "AES256", "partNumber": str(i + 1)},
            sse="SSE_C",
        )
        for i in range(20)
    ]
    assert found(detect(parts), SSE_C) == []
    # Stratus's revert: read with the key, delete, re-upload in the clear.
    revert = []
    for i, key in enumerate(planted_keys(20)):
        revert.append(
            s3_data_event(
                "GetObject", bucket, 3 * i, key, extra={SSE_C_HEADER: "AES256"}, sse="SSE_C"
            )
        )
        revert.append(s3_data_event("DeleteObject", bucket, 3 * i + 1, key))
        revert.append(s3_data_event("PutObject", bucket, 3 * i + 2, key))
    assert found(detect(revert), SSE_C) == []
    refused = [sse_c_copy(bucket, f"k/{i}", i, error="AccessDenied") for i in range(12)]
    assert found(detect(refused), SSE_C) == []


# --- aws.execution.sagemaker-update-lifecycle-config -----------------------------------------

NOTEBOOK = "stratus-red-team-sagemaker-notebook"
CONFIG = "priv-esc-config"
STRATUS_ON_START = """#!/bin/bash
set -e
# Execute a command as the high-privilege role and write output to a log file
aws sts get-caller-identity >> /home/ec2-user/SageMaker/exploit-privesc-stratus-log.txt 2>&1
aws iam list-users >> /home/ec2-user/SageMaker/exploit-privesc-stratus-log.txt 2>&1
"""


def sagemaker(name: str, seconds: float, params: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return management_event("sagemaker.amazonaws.com", name, seconds, params, **kw)


def test_stratus_sagemaker_lifecycle_detonation_is_medium_shaped_from_the_api_reference():
    """detonate(): create the configuration, then stop, update and start the notebook, with
    the SDK's waiters polling DescribeNotebookInstance in between."""
    on_start = base64.b64encode(STRATUS_ON_START.encode()).decode()
    config_arn = (
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance-lifecycle-config/{CONFIG}"
    )
    notebook = {"notebookInstanceName": NOTEBOOK}
    sequence = [
        sagemaker(
            "CreateNotebookInstanceLifecycleConfig",
            0,
            {"notebookInstanceLifecycleConfigName": CONFIG, "onStart": [{"content": on_start}]},
            response={"notebookInstanceLifecycleConfigArn": config_arn},
        ),
        sagemaker("StopNotebookInstance", 2, notebook),
        *(sagemaker("DescribeNotebookInstance", 30 + 30 * i, notebook) for i in range(3)),
        sagemaker("UpdateNotebookInstance", 121, {**notebook, "lifecycleConfigName": CONFIG}),
        *(sagemaker("DescribeNotebookInstance", 150 + 30 * i, notebook) for i in range(2)),
        sagemaker("StartNotebookInstance", 212, notebook),
    ]
    findings = found(detect(sequence), SAGEMAKER)
    assert [(f.record["eventName"], f.severity) for f in findings] == [
        ("CreateNotebookInstanceLifecycleConfig", Severity.MEDIUM),
        ("UpdateNotebookInstance", Severity.MEDIUM),
    ]
    assert (
        findings[1].title == "SageMaker notebook start-up script changed (UpdateNotebookInstance)"
    )


def test_sagemaker_near_misses():
    notebook = {"notebookInstanceName": NOTEBOOK}
    revert = [  # Stratus's revert(): detach with an empty name, then delete the configuration
        sagemaker("StopNotebookInstance", 0, notebook),
        sagemaker("UpdateNotebookInstance", 60, {**notebook, "lifecycleConfigName": ""}),
        sagemaker(
            "DeleteNotebookInstanceLifecycleConfig",
            120,
            {"notebookInstanceLifecycleConfigName": CONFIG},
        ),
    ]
    others = [
        sagemaker("UpdateNotebookInstance", 200, {**notebook, "disassociateLifecycleConfig": True}),
        sagemaker("UpdateNotebookInstance", 210, {**notebook, "instanceType": "ml.t3.xlarge"}),
        sagemaker(
            "UpdateNotebookInstance",
            220,
            {**notebook, "lifecycleConfigName": CONFIG},
            error="AccessDeniedException",
        ),
    ]
    assert found(detect(revert + others), SAGEMAKER) == []


def test_sagemaker_lifecycle_name_in_api_casing_is_read_too():
    record = sagemaker(
        "UpdateNotebookInstance",
        0,
        {"NotebookInstanceName": NOTEBOOK, "LifecycleConfigName": CONFIG},
    )
    assert [f.severity for f in found(detect([record]), SAGEMAKER)] == [Severity.MEDIUM]


# --- aws.impact.ec2-deregister-ami -----------------------------------------------------------


def deregister(delete_snapshots: bool, **kw: Any) -> dict[str, Any]:
    params = {"imageId": "ami-0b87ea1d007078d18", "deleteAssociatedSnapshots": delete_snapshots}
    response = {"requestId": event_id(), "_return": True}
    return management_event(
        "ec2.amazonaws.com", "DeregisterImage", 0, params, response=response, **kw
    )


def test_stratus_deregister_ami_detonation_is_low_shaped_from_the_api_reference():
    (finding,) = found(detect([deregister(False)]), AMI)
    assert finding.severity == Severity.LOW
    assert finding.title == "AMI ami-0b87ea1d007078d18 deregistered"
    assert "below" in new_rules()[AMI].description  # says why it is not medium


def test_deregistering_with_the_snapshots_is_medium():
    (finding,) = found(detect([deregister(True)]), AMI)
    assert finding.severity == Severity.MEDIUM
    as_text = deregister(True)
    as_text["requestParameters"]["deleteAssociatedSnapshots"] = "true"
    assert [f.severity for f in found(detect([as_text]), AMI)] == [Severity.MEDIUM]


def test_a_refused_deregistration_is_not_reported():
    assert found(detect([deregister(True, error="Client.UnauthorizedOperation")]), AMI) == []
