"""Exact expectations, envelope by envelope, on the shared AWS data and on input built from it.

Numbers, positions and reasons are asserted exactly: a change in what the decoder reports
is a change users see (the CLI prints these places and reasons).
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED_DATA
from trailguard.model import Place, SourcedRecord
from trailguard.sources import Decoder, read_local
from trailguard.sources.decoder import MAX_NESTING, ObjectReader
from trailguard.sources.records import is_cloudtrail_record
from trailguard.sources.s3_notifications import S3ObjectRef
from trailguard.tally import InputTally, Problem

ENVELOPES = SHARED_DATA / "envelopes"
EVENTS = SHARED_DATA / "events"
CWL = ENVELOPES / "cloudwatch_logs"
STRATUS_CWL = CWL / "stratus_awslogs"
LOG_FILES = ENVELOPES / "s3" / "cloudtrail_log_files"
EVENTBRIDGE = ENVELOPES / "eventbridge"
SQS_SNS = ENVELOPES / "sqs_sns"
S3 = ENVELOPES / "s3"
AWSDOCS = EVENTS / "awsdocs_log_files"
INSIGHT = AWSDOCS / "cloudtrail-event-reference_block1_insight_event.json"
SIGN_IN = AWSDOCS / "cloudtrail-event-reference-aws-console-sign-in-events_block0_records.json"
DIGESTS = sorted(AWSDOCS.glob("*_digest.json"))
EDGE_CASES = EVENTS / "parser_edge_cases.jsonl"

TECHNIQUES = sorted(p.name.removesuffix(".json") for p in STRATUS_CWL.glob("*.json"))
NOT_A_RECORD = "log message is not a CloudTrail record"
TRUNCATED = "log message is not valid JSON (truncated?)"
NOT_READ = "S3 notification (names an object; not read here)"
NOT_FROM_CLOUDTRAIL = "EventBridge event that is not from CloudTrail"


# --- helpers ------------------------------------------------------------------------------


class Run:
    """One decode: the records, the tally, and every problem the tally heard about."""

    def __init__(self, tally: InputTally, problems: list[Problem], records: list[SourcedRecord]):
        self.tally = tally
        self.problems = problems
        self.records = records

    @property
    def skips(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "skipped"]

    @property
    def errors(self) -> list[Problem]:
        return self.tally.errors

    def positions(self) -> list[str]:
        return [r.place.position for r in self.records]

    def event_ids(self) -> list[str]:
        return [r.record["eventID"] for r in self.records]


def decode_bytes(data: bytes, location: str = "input", reader: ObjectReader | None = None) -> Run:
    problems: list[Problem] = []
    tally = InputTally(listener=problems.append)
    records = list(Decoder(tally, reader).bytes(data, Place(location)))
    return Run(tally, problems, records)


def decode_file(path: Path, reader: ObjectReader | None = None) -> Run:
    return decode_bytes(path.read_bytes(), str(path), reader)


def decode_doc(document: Any, location: str = "input", reader: ObjectReader | None = None) -> Run:
    problems: list[Problem] = []
    tally = InputTally(listener=problems.append)
    records = list(Decoder(tally, reader).document(document, Place(location)))
    return Run(tally, problems, records)


def load(path: Path) -> Any:
    return json.loads(path.read_bytes())


def log_file_records(technique: str) -> list[dict[str, Any]]:
    """The records of a real, gzipped CloudTrail log file, read with the standard library."""
    records: list[dict[str, Any]] = json.loads(
        gzip.decompress((LOG_FILES / f"{technique}.json.gz").read_bytes())
    )["Records"]
    return records


def awslogs_document(path: Path) -> dict[str, Any]:
    raw = base64.b64decode(load(path)["awslogs"]["data"])
    inflated = zlib.decompress(raw) if raw[:1] == b"\x78" else gzip.decompress(raw)
    document: dict[str, Any] = json.loads(inflated)
    return document


def awslogs_payload(document: Any, compress: Any = gzip.compress) -> dict[str, Any]:
    data = base64.b64encode(compress(json.dumps(document).encode())).decode()
    return {"awslogs": {"data": data}}


def data_message(messages: list[str]) -> dict[str, Any]:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "111122223333",
        "logGroup": "aws-cloudtrail-logs",
        "logStream": "111122223333_CloudTrail_us-east-1",
        "subscriptionFilters": ["all"],
        "logEvents": [
            {"id": str(i), "timestamp": 1_700_000_000_000 + i, "message": m}
            for i, m in enumerate(messages)
        ],
    }


def lines(*documents: Any) -> bytes:
    return b"".join(json.dumps(d).encode() + b"\n" for d in documents)


Seen = list[tuple[S3ObjectRef, Place]]


def recording_reader() -> tuple[ObjectReader, Seen]:
    """A plain function for the `read_s3_object` seam: it notes each object, reads nothing."""
    seen: Seen = []

    def read(ref: S3ObjectRef, place: Place, decoder: Decoder) -> Iterator[SourcedRecord]:
        seen.append((ref, place))
        return iter(())

    return read, seen


ARTIFACTS = "lambda-artifacts-deafc19498e3f2df"
ARTIFACT = "b21b84d653bb07b05b1e6b33684dc11b"
ADMIN_USER = "stratus_aws.persistence.iam-create-admin-user"
ADMIN_USER_IDS = [
    "083dc4ad-e264-46bc-a407-d0dd31b58bdc",
    "94faedcc-0fa4-46e6-9322-022e8e934f04",
    "3346344c-5a3e-429e-8405-420f98f75d6e",
]


# --- CloudWatch Logs ----------------------------------------------------------------------


def test_control_message_is_one_counted_skip() -> None:
    path = CWL / "control_message.json"
    assert awslogs_document(path)["messageType"] == "CONTROL_MESSAGE"
    run = decode_file(path)
    assert run.records == []
    assert run.errors == []
    assert run.tally.skipped == {"CloudWatch Logs control message": 1}
    assert run.skips[0].place == Place(str(path), "awslogs.data", "cloudwatch_logs")


def test_truncated_messages_are_three_errors_with_their_positions() -> None:
    path = CWL / "awsdocs_truncated_messages_example1.json"
    run = decode_file(path)
    assert run.records == []
    assert run.tally.skipped_total == 0
    assert run.tally.invalid == {TRUNCATED: 3}
    assert [(e.place.location, e.place.position) for e in run.errors] == [
        (str(path), f"awslogs.data logEvents[{i}]") for i in range(3)
    ]
    assert all("truncated" in e.detail for e in run.errors)
    assert run.errors[2].message() == (
        f"{path}: awslogs.data logEvents[2]: {TRUNCATED}: {run.errors[2].detail}"
    )


def test_decoded_subscription_document_reports_truncated_messages() -> None:
    path = CWL / "awsdocs_subscription_decoded_example1.json"
    run = decode_file(path)
    assert run.tally.invalid == {TRUNCATED: 3}
    assert [e.place.position for e in run.errors] == [f"logEvents[{i}]" for i in range(3)]
    assert {e.place.envelope for e in run.errors} == {"cloudwatch_logs"}


def test_batch_goes_on_after_truncated_messages() -> None:
    truncated = load(CWL / "awsdocs_truncated_messages_example1.json")
    stratus = load(STRATUS_CWL / f"{ADMIN_USER}.json")
    control = load(CWL / "control_message.json")
    run = decode_bytes(lines(truncated, stratus, control), "batch.jsonl")
    assert run.tally.invalid == {TRUNCATED: 3}
    assert [e.place.position for e in run.errors] == [
        f"line 1 awslogs.data logEvents[{i}]" for i in range(3)
    ]
    assert run.event_ids() == ADMIN_USER_IDS
    assert run.positions() == [f"line 2 awslogs.data logEvents[{i}]" for i in range(3)]
    assert [(p.place.position, p.reason) for p in run.skips] == [
        ("line 3 awslogs.data", "CloudWatch Logs control message")
    ]


def test_good_truncated_and_foreign_messages_interleaved() -> None:
    records = log_file_records(ADMIN_USER)
    truncated = load(CWL / "awsdocs_subscription_decoded_example1.json")["logEvents"][0]["message"]
    messages = [
        json.dumps(records[0]),
        truncated,
        json.dumps(records[1]),
        "START RequestId: 06e46194 Version: $LATEST",
        json.dumps({"level": "INFO", "msg": "a JSON log line, not CloudTrail"}),
        json.dumps(records[2]),
    ]
    run = decode_doc(awslogs_payload(data_message(messages)))
    assert run.event_ids() == ADMIN_USER_IDS
    assert run.positions() == [f"awslogs.data logEvents[{i}]" for i in (0, 2, 5)]
    assert [(e.place.position, e.reason) for e in run.errors] == [
        ("awslogs.data logEvents[1]", TRUNCATED)
    ]
    assert [(p.place.position, p.reason, p.detail) for p in run.skips] == [
        ("awslogs.data logEvents[3]", NOT_A_RECORD, "START RequestId: 06e46194 Version: $LATEST"),
        ("awslogs.data logEvents[4]", NOT_A_RECORD, "object with keys level, msg"),
    ]


def test_zlib_payload_with_non_cloudtrail_messages_is_skipped() -> None:
    path = CWL / "powertools_cloudWatchLogEventWithPolicyLevel_zlib.json"
    assert base64.b64decode(load(path)["awslogs"]["data"])[:1] == b"\x78"  # zlib, not gzip
    run = decode_file(path)
    assert run.records == []
    assert run.errors == []
    assert [(p.place.position, p.reason, p.detail) for p in run.skips] == [
        ("awslogs.data logEvents[0]", NOT_A_RECORD, "[ERROR] First test message"),
        ("awslogs.data logEvents[1]", NOT_A_RECORD, "[ERROR] Second test message"),
    ]


def test_zlib_payload_with_cloudtrail_records() -> None:
    document = awslogs_document(STRATUS_CWL / f"{ADMIN_USER}.json")
    run = decode_doc(awslogs_payload(document, zlib.compress))
    assert run.event_ids() == ADMIN_USER_IDS
    assert run.problems == []


def test_gzip_payload_of_non_cloudtrail_lambda_logs() -> None:
    run = decode_file(CWL / "aws-lambda-go_cloudwatch-logs-event.json")
    assert run.records == []
    assert run.tally.skipped == {NOT_A_RECORD: 2}
    assert run.errors == []


def test_kinesis_wrapped_cloudwatch_logs() -> None:
    path = CWL / "powertools_kinesisStreamCloudWatchLogsEvent.json"
    run = decode_file(path)
    assert run.records == []
    assert run.errors == []
    assert run.tally.skipped == {NOT_A_RECORD: 6}
    assert [p.place.position for p in run.skips] == [
        f"Records[{r}].kinesis.data logEvents[{i}]" for r in range(2) for i in range(3)
    ]
    assert [p.detail.split(" RequestId")[0] for p in run.skips] == ["START", "END", "REPORT"] * 2


def test_kinesis_wrapped_cloudwatch_logs_with_cloudtrail_records() -> None:
    kinesis = load(CWL / "powertools_kinesisStreamCloudWatchLogsEvent.json")
    stratus_data = load(STRATUS_CWL / f"{ADMIN_USER}.json")["awslogs"]["data"]
    kinesis["Records"][1]["kinesis"]["data"] = stratus_data
    run = decode_doc(kinesis)
    assert run.event_ids() == ADMIN_USER_IDS
    assert run.positions() == [f"Records[1].kinesis.data logEvents[{i}]" for i in range(3)]
    assert {r.place.envelope for r in run.records} == {"cloudwatch_logs"}
    assert run.tally.skipped == {NOT_A_RECORD: 3}  # Records[0] is still Lambda's own log


def test_kinesis_data_that_is_not_base64_is_an_error() -> None:
    kinesis = load(CWL / "powertools_kinesisStreamCloudWatchLogsEvent.json")
    kinesis["Records"][0]["kinesis"]["data"] = "not base64!"
    run = decode_doc(kinesis)
    assert [(e.place.position, e.reason) for e in run.errors] == [
        ("Records[0].kinesis.data", "unreadable Kinesis data")
    ]
    assert run.errors[0].detail.startswith("not valid base64")
    assert run.tally.skipped == {NOT_A_RECORD: 3}  # Records[1] is still read


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_stratus_payload_matches_its_log_file(technique: str) -> None:
    payload = decode_file(STRATUS_CWL / f"{technique}.json")
    log_file = decode_file(LOG_FILES / f"{technique}.json.gz")
    expected = log_file_records(technique)
    assert payload.event_ids() == [r["eventID"] for r in expected]
    assert log_file.event_ids() == [r["eventID"] for r in expected]
    assert [r.record for r in payload.records] == expected
    assert payload.positions() == [f"awslogs.data logEvents[{i}]" for i in range(len(expected))]
    assert log_file.positions() == [f"Records[{i}]" for i in range(len(expected))]
    assert payload.problems == log_file.problems == []


def test_stratus_admin_user_payload_exactly() -> None:
    run = decode_file(STRATUS_CWL / f"{ADMIN_USER}.json")
    assert run.event_ids() == ADMIN_USER_IDS
    assert [r.record["eventName"] for r in run.records] == [
        "AttachUserPolicy",
        "CreateAccessKey",
        "CreateUser",
    ]


def test_decoded_datadog_document_keeps_a_duplicate_delivery() -> None:
    run = decode_file(CWL / "datadog_cloudtrail_loggroup_decoded.json")
    assert run.event_ids() == [
        "14b20909-b46b-4f74-b725-d987888edbc7",
        "303c31dd-aeee-4d5d-9311-61a1aa802c6f",
        "6b574dee-bdc5-4abe-b6ec-10888ac258a2",
        "6b574dee-bdc5-4abe-b6ec-10888ac258a2",  # the same record twice in the real data
    ]
    assert run.positions() == [f"logEvents[{i}]" for i in range(4)]


@pytest.mark.parametrize(
    ("payload", "position", "reason", "detail"),
    [
        ({"awslogs": {}}, "awslogs.data", "awslogs has no data", "empty object"),
        ({"awslogs": "H4sI"}, "awslogs.data", "awslogs has no data", "JSON str"),
        ({"awslogs": {"data": 42}}, "awslogs.data", "unreadable awslogs.data", "expected a base64"),
        (
            {"awslogs": {"data": "%%%"}},
            "awslogs.data",
            "unreadable awslogs.data",
            "not valid base64",
        ),
        ({"awslogs": {"data": "dGV4dA=="}}, "awslogs.data", "not JSON", "starts with 'text'"),
        ({"awslogs": {"data": "H4sIAAAA"}}, "awslogs.data", "unreadable compressed data", "gzip"),
    ],
    ids=["no-data", "awslogs-string", "data-number", "data-not-base64", "data-not-json", "bad-gz"],
)
def test_unreadable_awslogs_payloads(payload: Any, position: str, reason: str, detail: str) -> None:
    run = decode_doc(payload)
    assert run.records == []
    assert [(e.place.position, e.reason) for e in run.errors] == [(position, reason)]
    assert run.errors[0].detail.startswith(detail)


@pytest.mark.parametrize(
    ("document", "position", "reason"),
    [
        (
            {"messageType": "DATA_MESSAGE", "logEvents": "oops"},
            "",
            "unknown CloudWatch Logs document",
        ),
        ({"messageType": "NEW_KIND", "logEvents": []}, "", "unknown CloudWatch Logs document"),
        (
            data_message([]) | {"logEvents": [{"message": 7}]},
            "logEvents[0]",
            "log event has no message",
        ),
        (data_message([]) | {"logEvents": [5]}, "logEvents[0]", "log event has no message"),
    ],
    ids=["logEvents-string", "unknown-type", "message-number", "log-event-number"],
)
def test_malformed_cloudwatch_logs_documents(document: Any, position: str, reason: str) -> None:
    run = decode_doc(document)
    assert [(e.place.position, e.reason) for e in run.errors] == [(position, reason)]


def test_awslogs_data_that_is_empty_after_gzip_is_an_error() -> None:
    payload = {"awslogs": {"data": base64.b64encode(gzip.compress(b"")).decode()}}
    run = decode_doc(payload)
    assert [(e.place.position, e.reason) for e in run.errors] == [
        ("awslogs.data", "empty input where JSON was expected")
    ]


# --- Insight events -----------------------------------------------------------------------


def test_insight_event_is_a_record() -> None:
    run = decode_file(INSIGHT)
    assert run.problems == []
    [sourced] = run.records
    assert sourced.place == Place(str(INSIGHT))
    assert sourced.record == load(INSIGHT)
    assert sourced.record["eventType"] == "AwsCloudTrailInsight"
    assert sourced.record["eventCategory"] == "Insight"
    assert "eventSource" not in sourced.record
    assert sourced.record["insightDetails"]["insightContext"]["statistics"]["baseline"] == {
        "average": 8.82145e-05
    }


def test_insight_event_in_every_envelope() -> None:
    insight = load(INSIGHT)
    records = log_file_records(ADMIN_USER)
    log_file = gzip.compress(json.dumps({"Records": [records[0], insight, records[1]]}).encode())
    run = decode_bytes(log_file, "insight.json.gz")
    assert [r.record.get("eventType") for r in run.records] == [
        "AwsApiCall",
        "AwsCloudTrailInsight",
        "AwsApiCall",
    ]
    assert run.problems == []

    run = decode_doc(awslogs_payload(data_message([json.dumps(insight)])))
    assert [r.record for r in run.records] == [insight]

    event = {"detail-type": "AWS Insight via CloudTrail", "source": "aws.cloudtrail"}
    run = decode_doc(event | {"detail": insight})
    assert [(r.record, r.place.position) for r in run.records] == [(insight, "detail")]


def test_insight_record_among_the_edge_cases() -> None:
    raw = [json.loads(line)["raw_json"] for line in EDGE_CASES.read_text().splitlines()]
    [insight] = [r for r in raw if "AwsCloudTrailInsight" in r]
    run = decode_bytes(insight.encode())
    assert run.records[0].record["insightDetails"]["state"] == "Start"
    assert run.problems == []


# --- digest files ---------------------------------------------------------------------


@pytest.mark.parametrize("path", DIGESTS, ids=lambda p: p.name)
def test_digest_files_are_recognised_by_content(path: Path) -> None:
    assert "CloudTrail-Digest/" not in str(path)
    run = decode_file(path)
    assert run.records == []
    assert run.errors == []
    assert [(p.place, p.reason) for p in run.skips] == [
        (Place(str(path)), "CloudTrail digest file")
    ]


def test_gzipped_digest_under_another_name_is_recognised_by_content() -> None:
    data = gzip.compress(DIGESTS[0].read_bytes())
    run = decode_bytes(data, "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/log.json.gz")
    assert run.tally.skipped == {"CloudTrail digest file": 1}
    assert run.records == []


def test_digest_folder_is_skipped_by_location_whatever_it_holds(tmp_path: Path) -> None:
    digest_dir = tmp_path / "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17"
    digest_dir.mkdir(parents=True)
    # a real log file and garbage, both under CloudTrail-Digest/: neither is read
    log_file = (LOG_FILES / f"{ADMIN_USER}.json.gz").read_bytes()
    (digest_dir / "a.json.gz").write_bytes(log_file)
    (digest_dir / "b.json.gz").write_bytes(b"\x1f\x8bgarbage")
    trail_dir = tmp_path / "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17"
    trail_dir.mkdir(parents=True)
    (trail_dir / "c.json.gz").write_bytes(log_file)

    problems: list[Problem] = []
    tally = InputTally(listener=problems.append)
    records = list(read_local([str(tmp_path)], Decoder(tally)))
    assert [r.record["eventID"] for r in records] == ADMIN_USER_IDS
    assert {r.place.location for r in records} == {str(trail_dir / "c.json.gz")}
    assert tally.errors == []
    assert [(p.place, p.reason) for p in problems] == [
        (Place(str(digest_dir / "a.json.gz")), "CloudTrail digest file"),
        (Place(str(digest_dir / "b.json.gz")), "CloudTrail digest file"),
    ]


def test_s3_notification_for_a_digest_is_skipped_without_reading() -> None:
    notification = load(SQS_SNS / "s3-event-urlencoded-key.json")
    key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2024/01/15/d.json.gz"
    notification["Records"][0]["s3"]["object"]["key"] = key
    reader, seen = recording_reader()
    run = decode_doc(notification, reader=reader)
    assert seen == []
    assert [(p.place.position, p.reason, p.detail) for p in run.skips] == [
        ("Records[0]", "CloudTrail digest file", f"s3://ct-siem-sync/{key}")
    ]


# --- EventBridge ------------------------------------------------------------------------


def test_eventbridge_cloudtrail_event_yields_its_detail() -> None:
    path = EVENTBRIDGE / "event-cloud-trail-create-bucket.json"
    event = load(path)
    assert event["detail-type"] == "AWS API Call via CloudTrail"
    run = decode_file(path)
    assert [(r.record, r.place) for r in run.records] == [
        (event["detail"], Place(str(path), "detail", "eventbridge"))
    ]
    assert run.records[0].record["eventName"] == "CreateBucket"


def test_eventbridge_console_sign_in_yields_its_detail() -> None:
    sign_in = load(SIGN_IN)["Records"][0]
    assert sign_in["eventType"] == "AwsConsoleSignIn"
    event = {
        "version": "0",
        "id": "6f87d04b-9f74-4f04-a780-7acf4b0a9b38",
        "detail-type": "AWS Console Sign In via CloudTrail",
        "source": "aws.signin",
        "account": "111122223333",
        "time": sign_in["eventTime"],
        "region": "us-east-1",
        "resources": [],
        "detail": sign_in,
    }
    run = decode_doc(event)
    assert [(r.record, r.place.position) for r in run.records] == [(sign_in, "detail")]
    assert run.records[0].record["eventName"] == "ConsoleLogin"


@pytest.mark.parametrize(
    ("name", "detail_type"),
    [
        ("ec2-duty-event.json", "GuardDuty Finding"),
        ("iam-duty-event.json", "GuardDuty Finding"),
        ("event-phd-ec2-retire.json", "AWS Health Event"),
        ("event-scheduled.json", "Scheduled Event"),
        ("event-securityhub-insight-2.json", "Security Hub Insight Results"),
    ],
)
def test_other_eventbridge_detail_types_are_skipped(name: str, detail_type: str) -> None:
    path = EVENTBRIDGE / name
    run = decode_file(path)
    assert run.records == []
    assert run.errors == []
    assert [(p.place, p.reason, p.detail) for p in run.skips] == [
        (Place(str(path)), NOT_FROM_CLOUDTRAIL, detail_type)
    ]


def test_eventbridge_folder_as_one_batch_counts_skips_by_reason() -> None:
    events = [load(p) for p in sorted(EVENTBRIDGE.glob("*.json"))]
    run = decode_bytes(json.dumps(events).encode(), "eventbridge.json")
    assert run.tally.records == 25
    assert run.tally.skipped == {NOT_FROM_CLOUDTRAIL: 12, "not CloudTrail data": 2}
    assert Counter(p.detail for p in run.skips if p.reason == NOT_FROM_CLOUDTRAIL) == {
        "GuardDuty Finding": 2,
        "Security Hub Findings - Custom Action": 3,
        "EC2 Instance State-change Notification": 2,
        "AWS Health Event": 1,
        "Scheduled Event": 1,
        "Security Hub Insight Results": 1,
        "EC2 Instance Launch Unsuccessful": 1,
        "Config Configuration Item Change": 1,
    }
    assert all(r.place.position.startswith("[") for r in run.records)


def test_cloudtrail_detail_type_without_a_record_is_an_error() -> None:
    event = load(EVENTBRIDGE / "event-cloud-trail-create-bucket.json")
    event["detail"] = {"requestParameters": {"bucketName": "x"}}
    run = decode_doc(event)
    assert [(e.place.position, e.reason, e.detail) for e in run.errors] == [
        (
            "detail",
            "AWS API Call via CloudTrail without a record",
            "object with keys requestParameters",
        )
    ]


# --- SQS, SNS and S3 notifications ------------------------------------------------------


def test_sqs_batch_with_a_garbage_body() -> None:
    path = SQS_SNS / "sqs-batch-partial-garbage.json"
    reader, seen = recording_reader()
    run = decode_file(path, reader)
    assert run.records == []
    assert [(e.place.position, e.place.envelope, e.reason, e.detail) for e in run.errors] == [
        ("Records[1].body", "sqs", "not JSON", "starts with 'this is not json at all {{{'")
    ]
    assert [(ref.url, place.position) for ref, place in seen] == [
        (f"s3://{ARTIFACTS}/{ARTIFACT}", "Records[0].body Records[0]"),
        ("s3://ct-siem-sync/second-sibling-object.json.gz", "Records[2].body Records[0]"),
    ]


def test_sqs_batch_with_a_garbage_body_and_no_reader() -> None:
    run = decode_file(SQS_SNS / "sqs-batch-partial-garbage.json")
    assert run.tally.invalid == {"not JSON": 1}
    assert run.tally.skipped == {NOT_READ: 2}
    assert [p.place.position for p in run.skips] == [
        "Records[0].body Records[0]",
        "Records[2].body Records[0]",
    ]


@pytest.mark.parametrize(
    ("name", "position"),
    [("sqs-event.json", "Records[0].body"), ("sns-event.json", "Records[0].Sns.Message")],
)
def test_sqs_and_sns_text_that_is_not_json_is_an_error(name: str, position: str) -> None:
    run = decode_file(SQS_SNS / name)
    assert [(e.place.position, e.reason) for e in run.errors] == [(position, "not JSON")]


def test_empty_sqs_body_is_an_error() -> None:
    batch = load(SQS_SNS / "sqs-s3-event.json")
    batch["Records"][0]["body"] = ""
    run = decode_doc(batch)
    assert [(e.place.position, e.reason) for e in run.errors] == [
        ("Records[0].body", "empty input where JSON was expected")
    ]


def test_url_encoded_key_is_decoded() -> None:
    reader, seen = recording_reader()
    run = decode_file(SQS_SNS / "s3-event-urlencoded-key.json", reader)
    assert load(SQS_SNS / "s3-event-urlencoded-key.json")["Records"][0]["s3"]["object"]["key"] == (
        "my+file%3Da.json.gz"
    )
    assert [ref for ref, _ in seen] == [
        S3ObjectRef("ct-siem-sync", "my file=a.json.gz", 4096, None)
    ]
    assert [(p.position, p.envelope) for _, p in seen] == [("Records[0]", "s3_notification")]
    assert run.problems == []


def test_percent_encoded_space_is_decoded() -> None:
    reader, seen = recording_reader()
    decode_file(S3 / "s3EventDecodedKey.json", reader)
    assert [ref for ref, _ in seen] == [
        S3ObjectRef("sourcebucket", "Happy Face.jpg", 1024, "version")
    ]


def test_eventbridge_object_created_key_is_not_url_decoded() -> None:
    reader, seen = recording_reader()
    run = decode_file(SQS_SNS / "eventbridge-object-created-plus-key.json", reader)
    assert [ref for ref, _ in seen] == [
        S3ObjectRef("ct-siem-sync", "my+file.json.gz", 4096, "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")
    ]
    assert [(p.position, p.envelope) for _, p in seen] == [("detail", "eventbridge")]
    assert run.problems == []


def test_unsupported_eventbridge_s3_event_version_is_an_error() -> None:
    reader, seen = recording_reader()
    run = decode_file(SQS_SNS / "eventbridge-object-created-unsupported-version.json", reader)
    assert seen == []
    assert [(e.place.position, e.reason, e.detail) for e in run.errors] == [
        ("detail", "unsupported S3 EventBridge event-version", "2.0")
    ]


@pytest.mark.parametrize(
    ("path", "reason", "detail"),
    [
        (
            S3 / "s3EventDeleteObject.json",
            "S3 notification that is not ObjectCreated",
            "ObjectRemoved:Delete",
        ),
        (SQS_SNS / "eventbridge-object-deleted.json", NOT_FROM_CLOUDTRAIL, "Object Deleted"),
        (
            SQS_SNS / "eventbridge-object-restore-completed.json",
            NOT_FROM_CLOUDTRAIL,
            "Object Restore Completed",
        ),
        (
            SQS_SNS / "eventbridge-object-annotation-created.json",
            NOT_FROM_CLOUDTRAIL,
            "Object Annotation Created",
        ),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else None,
)
def test_notifications_that_are_not_object_created_are_skipped(
    path: Path, reason: str, detail: str
) -> None:
    reader, seen = recording_reader()
    run = decode_file(path, reader)
    assert seen == []
    assert run.errors == []
    assert [(p.reason, p.detail) for p in run.skips] == [(reason, detail)]


IN_SQS = "Records[0].body Records[0]"
WRAPPED_NOTIFICATIONS = [
    pytest.param("s3/s3Event.json", ARTIFACTS, ARTIFACT, "Records[0]", id="s3"),
    pytest.param("s3/s3SqsEvent.json", "xxx", "test.pdf", IN_SQS, id="s3-in-sqs"),
    pytest.param("sqs_sns/sqs-s3-event.json", ARTIFACTS, ARTIFACT, IN_SQS, id="s3-in-sqs-2"),
    pytest.param("sqs_sns/sqs_s3.json", "my-bucket", "my-key.log", IN_SQS, id="s3-in-sqs-3"),
    pytest.param(
        "sqs_sns/sns-s3-event.json",
        ARTIFACTS,
        ARTIFACT,
        "Records[0].Sns.Message Records[0]",
        id="s3-in-sns",
    ),
    pytest.param(
        "sqs_sns/sqs-sns-event.json",
        ARTIFACTS,
        ARTIFACT,
        "Records[0].body Message Records[0]",
        id="s3-in-sns-in-sqs",
    ),
    pytest.param(
        "sqs_sns/sqs_sns_s3.json",
        "my-bucket",
        "my-key.log",
        "Records[0].body Message Records[0]",
        id="s3-in-sns-in-sqs-2",
    ),
    pytest.param(
        "sqs_sns/eventbridge-object-created.json",
        "amzn-s3-demo-bucket1",
        "example-key",
        "detail",
        id="eventbridge",
    ),
    pytest.param(
        "s3/s3EventBridgeNotificationObjectCreatedEvent.json",
        "example-bucket",
        "IMG_m7fzo3.jpg",
        "detail",
        id="eventbridge-2",
    ),
]


@pytest.mark.parametrize(("name", "bucket", "key", "position"), WRAPPED_NOTIFICATIONS)
def test_wrapped_notifications_reach_the_reader(
    name: str, bucket: str, key: str, position: str
) -> None:
    reader, seen = recording_reader()
    run = decode_file(ENVELOPES / name, reader)
    assert [(ref.bucket, ref.key, place.position) for ref, place in seen] == [
        (bucket, key, position)
    ]
    assert seen[0][1].location == str(ENVELOPES / name)
    assert run.problems == []


@pytest.mark.parametrize(("name", "bucket", "key", "position"), WRAPPED_NOTIFICATIONS)
def test_notifications_without_a_reader_are_counted_skips(
    name: str, bucket: str, key: str, position: str
) -> None:
    run = decode_file(ENVELOPES / name)
    assert run.records == []
    assert run.errors == []
    assert [(p.place.position, p.reason) for p in run.skips] == [(position, NOT_READ)]
    assert run.skips[0].detail == (
        f"s3://{bucket}/{key}: run `trailguard scan s3://{bucket}/{key}` to read it"
    )


def test_reader_records_flow_through_with_the_object_as_their_place() -> None:
    """A reader that serves the named object from a local copy, as the S3 one would."""
    objects = {
        ("ct-siem-sync", "my file=a.json.gz"): (LOG_FILES / f"{ADMIN_USER}.json.gz").read_bytes()
    }

    def read(ref: S3ObjectRef, place: Place, decoder: Decoder) -> Iterator[SourcedRecord]:
        return decoder.bytes(objects[ref.bucket, ref.key], Place(ref.url))

    run = decode_file(SQS_SNS / "s3-event-urlencoded-key.json", read)
    assert run.event_ids() == ADMIN_USER_IDS
    assert {r.place.location for r in run.records} == {"s3://ct-siem-sync/my file=a.json.gz"}
    assert run.positions() == ["Records[0]", "Records[1]", "Records[2]"]
    assert run.tally.records == 3


def test_notification_without_bucket_and_key_is_an_error() -> None:
    notification = load(S3 / "s3Event.json")
    del notification["Records"][0]["s3"]["object"]["key"]
    run = decode_doc(notification)
    assert [(e.place.position, e.reason) for e in run.errors] == [
        ("Records[0]", "S3 notification without bucket and key")
    ]


@pytest.mark.parametrize(
    ("path", "position", "envelope"),
    [
        (SQS_SNS / "s3-test-event.json", "", ""),
        (SQS_SNS / "sns-s3-test-event.json", "Records[0].Sns.Message", "sns"),
    ],
    ids=["plain", "via-sns"],
)
def test_s3_test_event_is_skipped(path: Path, position: str, envelope: str) -> None:
    reader, seen = recording_reader()
    run = decode_file(path, reader)
    assert seen == []
    assert run.records == []
    assert run.errors == []
    assert [(p.place, p.reason) for p in run.skips] == [
        (Place(str(path), position, envelope), "S3 test event")
    ]


def test_s3_object_lambda_event_is_not_cloudtrail() -> None:
    run = decode_file(S3 / "s3ObjectEventIAMUser.json")
    assert run.records == []
    assert run.tally.skipped == {"not CloudTrail data": 1}


# --- aws cloudtrail lookup-events ---------------------------------------------------------


def lookup_events(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Events": [
            {
                "EventId": r["eventID"],
                "EventName": r["eventName"],
                "ReadOnly": str(r.get("readOnly", False)).lower(),
                "EventTime": r["eventTime"],
                "EventSource": r["eventSource"],
                "Resources": [],
                "CloudTrailEvent": json.dumps(r),
            }
            for r in records
        ],
        "NextToken": "eyJOZXh0VG9rZW4iOiBudWxsfQ==",
    }


def test_lookup_events_output() -> None:
    records = log_file_records(ADMIN_USER)
    run = decode_bytes(json.dumps(lookup_events(records), indent=2).encode(), "lookup.json")
    assert [r.record for r in run.records] == records
    assert run.positions() == [f"Events[{i}].CloudTrailEvent" for i in range(3)]
    assert {r.place.envelope for r in run.records} == {"lookup_events"}
    assert run.problems == []


def test_lookup_events_with_bad_events_goes_on() -> None:
    records = log_file_records(ADMIN_USER)
    output = lookup_events(records)
    output["Events"][0]["CloudTrailEvent"] = output["Events"][0]["CloudTrailEvent"][:50]
    output["Events"][1]["CloudTrailEvent"] = json.dumps({"not": "a record"})
    run = decode_doc(output)
    assert run.event_ids() == [ADMIN_USER_IDS[2]]
    assert [(e.place.position, e.reason) for e in run.errors] == [
        ("Events[0].CloudTrailEvent", "CloudTrailEvent is not valid JSON"),
        ("Events[1].CloudTrailEvent", "CloudTrailEvent is not a record"),
    ]
    assert run.errors[1].detail == "object with keys not"


# --- JSON lines, arrays, single records -------------------------------------------------


def test_json_lines_with_a_bad_line_in_the_middle() -> None:
    records = log_file_records("stratus_aws.persistence.iam-create-user-login-profile")
    records += log_file_records("stratus_aws.persistence.iam-create-backdoor-role")
    good = [json.dumps(r) for r in records]
    text = "\n".join([good[0], good[1], good[2][:-40], good[3], "", good[4]]) + "\n"
    run = decode_bytes(text.encode(), "records.jsonl")
    assert run.event_ids() == [records[i]["eventID"] for i in (0, 1, 3, 4)]
    assert run.positions() == ["line 1", "line 2", "line 4", "line 6"]
    assert {r.place.envelope for r in run.records} == {"json_lines"}
    assert [(e.place, e.reason) for e in run.errors] == [
        (Place("records.jsonl", "line 3", "json_lines"), "invalid JSON line")
    ]
    assert run.errors[0].detail.startswith("unexpected end of data")
    assert run.tally.skipped_total == 0


def test_json_lines_with_a_bad_first_line_reads_the_rest() -> None:
    records = log_file_records(ADMIN_USER)
    text = "\n".join([json.dumps(records[0])[:-40], json.dumps(records[1]), json.dumps(records[2])])
    run = decode_bytes(text.encode(), "records.jsonl")
    assert run.event_ids() == ADMIN_USER_IDS[1:]
    assert run.positions() == ["line 2", "line 3"]
    assert [(e.place.position, e.reason) for e in run.errors] == [("line 1", "invalid JSON line")]


def test_json_lines_with_crlf_and_blank_lines() -> None:
    records = log_file_records(ADMIN_USER)
    text = "\r\n".join(
        ["", json.dumps(records[0]), "   ", json.dumps(records[1]), json.dumps(records[2])]
    )
    run = decode_bytes(text.encode(), "records.jsonl")
    assert run.event_ids() == ADMIN_USER_IDS
    assert run.positions() == ["line 2", "line 4", "line 5"]
    assert run.problems == []


def test_json_lines_of_envelopes() -> None:
    control = load(CWL / "control_message.json")
    stratus = load(STRATUS_CWL / f"{ADMIN_USER}.json")
    log_file = {"Records": log_file_records("stratus_aws.persistence.iam-create-backdoor-role")}
    run = decode_bytes(lines(control, stratus, log_file), "mixed.jsonl")
    assert run.positions() == [
        "line 2 awslogs.data logEvents[0]",
        "line 2 awslogs.data logEvents[1]",
        "line 2 awslogs.data logEvents[2]",
        "line 3 Records[0]",
        "line 3 Records[1]",
    ]
    assert [(p.place.position, p.reason) for p in run.skips] == [
        ("line 1 awslogs.data", "CloudWatch Logs control message")
    ]


def test_json_array_of_records() -> None:
    records = log_file_records(ADMIN_USER)
    run = decode_bytes(json.dumps(records, indent=1).encode(), "array.json")
    assert [r.record for r in run.records] == records
    assert [r.place for r in run.records] == [Place("array.json", f"[{i}]") for i in range(3)]
    assert run.problems == []


def test_json_array_mixing_records_and_other_values() -> None:
    records = log_file_records(ADMIN_USER)
    run = decode_doc([records[0], 7, {"hello": "world"}, [records[1]], {"Records": [records[2]]}])
    assert run.positions() == ["[0]", "[3] [0]", "[4] Records[0]"]
    assert [(p.place.position, p.reason, p.detail) for p in run.skips] == [
        ("[1]", "not CloudTrail data", "JSON int"),
        ("[2]", "not CloudTrail data", "object with keys hello"),
    ]


def test_single_bare_record() -> None:
    [record] = log_file_records("stratus_aws.defense-evasion.cloudtrail-stop")
    run = decode_bytes(json.dumps(record, indent=4).encode(), "one.json")
    assert [(r.record, r.place) for r in run.records] == [(record, Place("one.json"))]
    assert record["eventName"] == "StopLogging"
    assert run.problems == []


def test_pretty_printed_invalid_json_is_one_error() -> None:
    records = log_file_records(ADMIN_USER)
    text = json.dumps({"Records": records}, indent=2)
    assert text.count("\n") > 100
    run = decode_bytes(text[: len(text) // 2].encode(), "cut.json")
    assert run.records == []
    assert run.tally.skipped_total == 0
    assert [(e.place, e.reason) for e in run.errors] == [(Place("cut.json"), "invalid JSON")]
    assert "line" in run.errors[0].detail


def test_broken_array_of_one_line_records_is_one_error() -> None:
    """Its last line parses alone, but most do not: one broken document, not JSON lines."""
    records = log_file_records(ADMIN_USER)
    text = "[\n" + ",\n".join(json.dumps(r) for r in records) + "\n"  # no closing bracket
    run = decode_bytes(text.encode(), "cut.json")
    assert run.records == []
    assert [(e.place, e.reason) for e in run.errors] == [(Place("cut.json"), "invalid JSON")]


def test_pretty_printed_record_with_a_syntax_error_is_one_error() -> None:
    [record] = log_file_records("stratus_aws.defense-evasion.cloudtrail-stop")
    text = json.dumps(record, indent=2).replace('"eventName": ', '"eventName" ', 1)
    run = decode_bytes(text.encode(), "broken.json")
    assert run.records == []
    assert run.tally.invalid == {"invalid JSON": 1}


@pytest.mark.parametrize("data", [b"", b"   ", b"\n\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_input_is_one_skip(data: bytes) -> None:
    run = decode_bytes(data, "empty.json")
    assert run.records == []
    assert run.errors == []
    assert [(p.place, p.reason) for p in run.skips] == [(Place("empty.json"), "empty input")]


def test_gzipped_empty_file_is_one_skip() -> None:
    run = decode_bytes(gzip.compress(b""), "empty.json.gz")
    assert run.tally.skipped == {"empty input": 1}


def test_utf8_bom_is_ignored() -> None:
    records = log_file_records(ADMIN_USER)
    bom = b"\xef\xbb\xbf"
    assert decode_bytes(bom + json.dumps(records[0]).encode()).event_ids() == ADMIN_USER_IDS[:1]
    assert decode_bytes(bom + lines(*records)).event_ids() == ADMIN_USER_IDS
    log_file = gzip.compress(bom + json.dumps({"Records": records}).encode())
    run = decode_bytes(log_file)
    assert run.event_ids() == ADMIN_USER_IDS
    assert run.problems == []


def test_binary_garbage_is_skipped_as_not_json() -> None:
    run = decode_bytes(bytes(range(256)), "blob.bin")
    assert run.records == []
    assert run.tally.skipped == {"not JSON (not CloudTrail data)": 1}


def test_invalid_utf8_inside_json_is_an_error() -> None:
    run = decode_bytes(b'{"eventVersion": "1.08", "eventSource": "\xff\xfe"}', "bad.json")
    assert run.tally.invalid == {"invalid JSON": 1}


def test_format_is_read_from_content_not_the_file_name(tmp_path: Path) -> None:
    records = log_file_records(ADMIN_USER)
    stratus = (STRATUS_CWL / f"{ADMIN_USER}.json").read_bytes()
    files = {
        "gzip-log-file.json": gzip.compress(json.dumps({"Records": records}).encode()),
        "plain-record.json.gz": json.dumps(records[0]).encode(),
        "payload.txt": stratus,
        "zlib-lines.csv": zlib.compress(lines(*records)),
        "no-extension": json.dumps(records).encode(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    tally = InputTally()
    found = list(read_local([str(tmp_path)], Decoder(tally)))
    by_file = Counter(Path(r.place.location).name for r in found)
    assert by_file == {
        "gzip-log-file.json": 3,
        "plain-record.json.gz": 1,
        "payload.txt": 3,
        "zlib-lines.csv": 3,
        "no-extension": 3,
    }
    assert tally.skipped_total == tally.invalid_total == 0


def test_envelopes_nested_too_deep_are_an_error() -> None:
    [record] = log_file_records("stratus_aws.defense-evasion.cloudtrail-stop")
    document: Any = record
    for _ in range(MAX_NESTING + 2):
        document = [document]
    run = decode_doc(document)
    assert run.records == []
    assert [e.reason for e in run.errors] == [f"envelopes nested more than {MAX_NESTING} deep"]

    shallow: Any = record
    for _ in range(MAX_NESTING):
        shallow = [shallow]
    assert decode_doc(shallow).tally.records == 1


def test_sqs_message_nested_in_sqs_messages_until_too_deep() -> None:
    [record] = log_file_records("stratus_aws.defense-evasion.cloudtrail-stop")
    document: Any = record
    for _ in range(3):
        document = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(document)}]}
    run = decode_doc(document)
    assert run.positions() == ["Records[0].body Records[0].body Records[0].body"]
    for _ in range(10):
        document = {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(document)}]}
    run = decode_doc(document)
    assert run.records == []
    assert run.tally.invalid == {f"envelopes nested more than {MAX_NESTING} deep": 1}


# --- parser edge cases, fed as raw bytes -------------------------------------------------

EDGE_LINES = [json.loads(line) for line in EDGE_CASES.read_text().splitlines()]


def test_there_are_fourteen_edge_cases() -> None:
    assert len(EDGE_LINES) == 14


@pytest.mark.parametrize("case", EDGE_LINES, ids=[c["name"] for c in EDGE_LINES])
def test_edge_case_raw_json_is_exactly_one_record(case: dict[str, Any]) -> None:
    run = decode_bytes(case["raw_json"].encode("utf-8"), case["name"])
    assert run.problems == []
    [sourced] = run.records
    assert sourced.place == Place(case["name"])
    assert sourced.record == json.loads(case["raw_json"])
    assert sourced.record["eventSource"] == case["eventSource"]
    assert sourced.record["eventName"] == case["eventName"]


def edge_record(name: str) -> dict[str, Any]:
    [case] = [c for c in EDGE_LINES if c["name"] == name]
    [sourced] = decode_bytes(case["raw_json"].encode("utf-8")).records
    return sourced.record


def test_edge_case_escapes_and_non_ascii_survive() -> None:
    record = edge_record("escapes-and-unicode")
    message = record["errorMessage"]
    assert message.startswith('Der Wert "payload" ist ungültig — expected JSON')
    assert '{"a":"b\\\\c"}\tsee https://example.com/docs' in message
    assert message.endswith("☁ 日本語 😀")
    assert record["requestParameters"]["functionName"].endswith(":function:report-générateur")
    assert record["responseElements"] is None


def test_edge_case_numbers_survive() -> None:
    values = [
        m["value"] for m in edge_record("numeric-edge-cases")["requestParameters"]["metricData"]
    ]
    assert values[0] == 1.0
    assert isinstance(values[0], float)
    assert values[1] == 1.5e-7
    assert values[2] == 0.0
    assert math.copysign(1.0, values[2]) == -1.0
    assert values[3] == 0.1
    assert values[4] == 9007199254740993
    assert isinstance(values[4], int)


def test_edge_case_json_inside_a_string_stays_a_string() -> None:
    record = edge_record("additional-event-data-as-json-string")
    assert isinstance(record["additionalEventData"], str)
    assert json.loads(record["additionalEventData"])["MountTargetId"] == "fsmt-0a1b2c3d"


def test_edge_case_web_identity_user_without_account_id() -> None:
    identity = edge_record("sts-assume-role-with-web-identity-irsa")["userIdentity"]
    assert identity["type"] == "WebIdentityUser"
    assert "accountId" not in identity


def test_edge_cases_as_json_lines_of_raw_records() -> None:
    text = "\n".join(c["raw_json"] for c in EDGE_LINES)
    run = decode_bytes(text.encode("utf-8"), "edge.jsonl")
    assert [r.record["eventName"] for r in run.records] == [c["eventName"] for c in EDGE_LINES]
    assert run.positions() == [f"line {i}" for i in range(1, 15)]
    assert run.problems == []


# --- malformed envelopes: wrong types where AWS puts objects ------------------------------


def s3_notification(**s3: Any) -> dict[str, Any]:
    record = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}
    return {"Records": [record | {"s3": s3}]}


def s3_eventbridge(detail: Any) -> dict[str, Any]:
    return {"detail-type": "Object Created", "source": "aws.s3", "detail": detail}


NO_S3_OBJECT = "S3 notification without bucket and key"
NO_EB_OBJECT = "Object Created without bucket and key"
MALFORMED = [
    pytest.param(
        s3_notification(bucket="b", object={"key": "k"}),
        "invalid",
        NO_S3_OBJECT,
        id="s3-bucket-str",
    ),
    pytest.param(
        s3_notification(bucket={"name": "b"}, object=["k"]),
        "invalid",
        NO_S3_OBJECT,
        id="s3-object-list",
    ),
    pytest.param(
        s3_notification(bucket={"name": "b"}, object={"key": 5}),
        "invalid",
        NO_S3_OBJECT,
        id="s3-key-int",
    ),
    pytest.param(
        {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": "x"}]},
        "invalid",
        NO_S3_OBJECT,
        id="s3-not-object",
    ),
    pytest.param(
        s3_eventbridge({"bucket": "b", "object": {"key": "k"}}),
        "invalid",
        NO_EB_OBJECT,
        id="eb-bucket-str",
    ),
    pytest.param(
        s3_eventbridge({"bucket": {"name": "b"}, "object": "k"}),
        "invalid",
        NO_EB_OBJECT,
        id="eb-object-str",
    ),
    pytest.param(s3_eventbridge(["x"]), "invalid", NO_EB_OBJECT, id="eb-detail-list"),
    pytest.param(
        s3_eventbridge({"event-version": 2, "bucket": {"name": "b"}, "object": {"key": "k"}}),
        "invalid",
        "unsupported S3 EventBridge event-version",
        id="eb-version-number",
    ),
    pytest.param(
        {"detail-type": ["AWS API Call via CloudTrail"], "detail": {}},
        "skipped",
        NOT_FROM_CLOUDTRAIL,
        id="detail-type-list",
    ),
    pytest.param(
        {"detail-type": {}, "detail": {}}, "skipped", NOT_FROM_CLOUDTRAIL, id="detail-type-object"
    ),
    pytest.param(
        {"detail-type": "AWS API Call via CloudTrail", "detail": []},
        "invalid",
        "AWS API Call via CloudTrail without a record",
        id="detail-list",
    ),
    pytest.param(
        {"Records": [{"EventSource": "aws:sns", "Sns": "hello"}]},
        "invalid",
        "SNS record has no text message",
        id="sns-string",
    ),
    pytest.param(
        {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": 1}}]},
        "invalid",
        "SNS record has no text message",
        id="sns-message-number",
    ),
    pytest.param(
        {"Type": "Notification", "Message": 1},
        "invalid",
        "SNS notification has no text message",
        id="sns-notification-number",
    ),
    pytest.param(
        {"Records": [{"eventSource": "aws:sqs", "body": {}}]},
        "invalid",
        "SQS message has no text body",
        id="sqs-body-object",
    ),
    pytest.param(
        {"Records": [{"kinesis": {"data": 1}}]},
        "invalid",
        "unreadable Kinesis data",
        id="kinesis-data-number",
    ),
    pytest.param({"Records": [1, 2.5]}, "skipped", "not a CloudTrail record", id="records-numbers"),
    pytest.param(
        {"Events": [{"CloudTrailEvent": 3}]},
        "invalid",
        "CloudTrailEvent is not a record",
        id="lookup-number",
    ),
]


@pytest.mark.parametrize(("document", "kind", "reason"), MALFORMED)
def test_malformed_envelope_is_reported_not_raised(document: Any, kind: str, reason: str) -> None:
    run = decode_doc(document, "malformed.json")
    assert run.records == []
    assert reason in {p.reason for p in run.problems if p.kind == kind}
    for problem in run.problems:
        assert problem.place.location == "malformed.json"
        assert isinstance(problem.reason, str)
        assert isinstance(problem.detail, str)


@pytest.mark.parametrize(
    ("document", "skips"),
    [
        ([], [("", "empty array")]),
        ([[], []], [("[0]", "empty array"), ("[1]", "empty array")]),
        ({"Records": []}, [("", "empty Records list")]),
        ({"Events": []}, [("", "lookup-events output with no events")]),
        (data_message([]), [("", "CloudWatch Logs data message with no log events")]),
        (
            awslogs_payload(data_message([])),
            [("awslogs.data", "CloudWatch Logs data message with no log events")],
        ),
        (
            {"Records": [{"eventSource": "aws:sqs", "body": "[]"}]},
            [("Records[0].body", "empty array")],
        ),
    ],
    ids=["array", "arrays", "records", "events", "log-events", "awslogs", "sqs-body"],
)
def test_empty_containers_are_counted_skips(document: Any, skips: list[tuple[str, str]]) -> None:
    """Nothing to read is not an error, but it is said, so no input goes unaccounted."""
    run = decode_doc(document)
    assert run.records == []
    assert run.errors == []
    assert [(p.place.position, p.reason) for p in run.skips] == skips


def test_record_check_rejects_look_alikes() -> None:
    assert is_cloudtrail_record(log_file_records(ADMIN_USER)[0])
    assert is_cloudtrail_record(load(INSIGHT))
    s3_record = load(S3 / "s3Event.json")["Records"][0]
    assert s3_record["eventSource"] == "aws:s3"
    assert not is_cloudtrail_record(s3_record)
    catalogue_line = json.loads(
        (EVENTS / "stratus_techniques_index.jsonl").read_text().split("\n")[0]
    )
    assert not is_cloudtrail_record(catalogue_line)
    assert not is_cloudtrail_record({"eventSource": "iam.amazonaws.com", "eventName": "CreateUser"})
    assert not is_cloudtrail_record([log_file_records(ADMIN_USER)[0]])
