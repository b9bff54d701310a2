"""One handler, every trigger: S3 notifications direct, through SNS and through SQS (with
partial batch responses), EventBridge "Object Created", and which trigger called.

Real gzipped CloudTrail log files sit in moto's S3 under both key layouts; the handler runs
with a file sink (TRAILGUARD_CONFIG, the threats pack alone) and the alerts written there are
asserted exactly.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from conftest import SHARED_DATA, boto3_client
from trailguard import aws_lambda
from trailguard.delivery import DeliveryError
from trailguard.sources.s3_objects import NOT_A_LOG_FILE, S3ObjectError

ENVELOPES = SHARED_DATA / "envelopes"
LOG_FILES = ENVELOPES / "s3/cloudtrail_log_files"
BUCKET = "org-trail-bucket"
STOP = "AWSLogs/o-abc123defg/111122223333/CloudTrail/us-east-1/2024/07/31/stop a+b=c%.json.gz"
"""Organization-trail layout, with characters a notification URL-encodes."""
ADMIN = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/07/31/111122223333_admin.json.gz"
"""The plain layout."""
LEAVE = "AWSLogs/o-abc123defg/222233334444/CloudTrail/us-east-1/2024/08/01/leave.json.gz"
MISSING = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/07/31/missing.json.gz"
DIGEST = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/07/31/digest.json.gz"
CONFIG_KEY = "AWSLogs/111122223333/Config/us-east-1/2024/07/31/ConfigHistory/c.json.gz"

STOP_ALERTS = [("threats.cloudtrail_stopped", f"s3://{BUCKET}/{STOP}", "Records[0]")]
ADMIN_ALERTS = [
    ("threats.iam_admin_policy_granted", f"s3://{BUCKET}/{ADMIN}", "Records[0]"),
    ("threats.iam_credentials_for_other_user", f"s3://{BUCKET}/{ADMIN}", "Records[1]"),
]
LEAVE_ALERTS = [("threats.organizations_account_left", f"s3://{BUCKET}/{LEAVE}", "Records[1]")]


def load(relative: str) -> Any:
    return json.loads((ENVELOPES / relative).read_text())


# --- events, built from the real envelopes ---------------------------------------------------


def s3_record(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    """An S3 ObjectCreated notification record; the key URL-encoded as S3 encodes it."""
    record = copy.deepcopy(load("s3/s3-event.json")["Records"][0])
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    record["s3"]["object"]["key"] = quote_plus(key, safe="/")
    del record["s3"]["object"]["versionId"]
    return record


def s3_event(*keys: str) -> dict[str, Any]:
    return {"Records": [s3_record(key) for key in keys]}


def sns_event(*keys: str) -> dict[str, Any]:
    template = load("sqs_sns/sns-s3-event.json")["Records"][0]
    records = []
    for key in keys:
        record = copy.deepcopy(template)
        record["Sns"]["Message"] = json.dumps(s3_event(key))
        records.append(record)
    return {"Records": records}


def sqs_message(message_id: str, body: str) -> dict[str, Any]:
    message = copy.deepcopy(load("sqs_sns/sqs-s3-event.json")["Records"][0])
    message["messageId"] = message_id
    message["body"] = body
    return message


def sqs_event(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(messages)}


def sns_notification(message: str) -> dict[str, Any]:
    """An SNS notification as an SQS queue subscribed to the topic receives it."""
    notification: dict[str, Any] = json.loads(
        load("sqs_sns/sqs-sns-event.json")["Records"][0]["body"]
    )
    return notification | {"Message": message}


def eventbridge_event(key: str) -> dict[str, Any]:
    event = load("sqs_sns/eventbridge-object-created.json")
    event["detail"]["bucket"]["name"] = BUCKET
    event["detail"]["object"]["key"] = key  # EventBridge does not URL-encode keys
    del event["detail"]["object"]["version-id"]
    return event


TEST_EVENT = json.dumps(load("sqs_sns/s3-test-event.json"))
STOP_AWSLOGS = load(
    "cloudwatch_logs/stratus_awslogs/stratus_aws.defense-evasion.cloudtrail-stop.json"
)


def kinesis_event(*payloads: str) -> dict[str, Any]:
    """CloudWatch Logs subscription payloads (base64 gzip) as a Kinesis stream delivers them,
    from Powertools' recorded event: the first records carry `payloads`, the last its own
    (the log lines of a Lambda function: not CloudTrail)."""
    event = load("cloudwatch_logs/powertools_kinesisStreamCloudWatchLogsEvent.json")
    records = event["Records"]
    for index, payload in enumerate(payloads):
        record = copy.deepcopy(records[-1])
        record["kinesis"]["data"] = payload
        record["kinesis"]["sequenceNumber"] += str(index)
        records.insert(index, record)
    return {"Records": records[: len(payloads)] + records[-1:]}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def trail_bucket(aws: str) -> Any:
    s3 = boto3_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key, name in [
        (STOP, "stratus_aws.defense-evasion.cloudtrail-stop"),
        (ADMIN, "stratus_aws.persistence.iam-create-admin-user"),
        (LEAVE, "stratus_aws.defense-evasion.organizations-leave"),
    ]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=(LOG_FILES / f"{name}.json.gz").read_bytes())
    return s3


class Alerts:
    """The file sink's output, read as the alerts written since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read = 0

    def new(self) -> list[tuple[str, str, str]]:
        if not self.path.is_file():
            return []
        lines = self.path.read_text().splitlines()[self.read :]
        self.read += len(lines)
        alerts = [json.loads(line) for line in lines]
        return [(a["rule_id"], a["source"]["location"], a["source"]["position"]) for a in alerts]


def configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target: Path) -> None:
    config = tmp_path / "trailguard.yaml"
    config.write_text(
        f"""
packs: {{catalog: false, cis: false}}
sinks:
  - {{type: file, name: archive, path: "{target}"}}
"""
    )
    monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(config))
    monkeypatch.setattr(aws_lambda, "_runtime", None)


@pytest.fixture
def alerts(trail_bucket: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Alerts:
    target = tmp_path / "alerts.jsonl"
    configure(monkeypatch, tmp_path, target)
    return Alerts(target)


def invoke(event: Any, capsys: pytest.CaptureFixture[str]) -> tuple[Any, list[dict[str, Any]]]:
    response = aws_lambda.handler(event, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return response, lines


def logged(lines: list[dict[str, Any]], log_type: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("log_type") == log_type]


# --- which trigger ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "trigger"),
    [
        ("cloudwatch_logs/control_message.json", "cloudwatch_logs"),
        ("eventbridge/event-cloud-trail-create-bucket.json", "eventbridge"),
        ("sqs_sns/eventbridge-object-created.json", "eventbridge"),
        ("s3/s3-event.json", "s3"),
        ("sqs_sns/s3-test-event.json", "s3"),
        ("sqs_sns/sns-s3-event.json", "sns"),
        ("sqs_sns/sns-event.json", "sns"),
        ("sqs_sns/sqs-s3-event.json", "sqs"),
        ("sqs_sns/sqs-sns-event.json", "sqs"),
        ("sqs_sns/sqs-batch-partial-garbage.json", "sqs"),
    ],
)
def test_the_trigger_is_named_from_the_event_shape(relative: str, trigger: str) -> None:
    assert aws_lambda.trigger_of(load(relative)) == trigger


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"Records": []}, id="no-records"),
        pytest.param(
            {"Records": [{"eventSource": "aws:dynamodb", "dynamodb": {}}]}, id="dynamodb-stream"
        ),
        pytest.param(
            {"Records": [s3_record(STOP), sqs_message("m", TEST_EVENT)]}, id="mixed-sources"
        ),
        pytest.param({"Records": [{"eventVersion": "1.08"}]}, id="a-log-file"),
        pytest.param({"Records": ["text"]}, id="not-objects"),
    ],
)
def test_records_from_no_single_supported_trigger_are_refused(event: Any) -> None:
    with pytest.raises(aws_lambda.UnsupportedTriggerError, match="S3 notifications direct"):
        aws_lambda.trigger_of(event)


# --- S3 direct, SNS, EventBridge ------------------------------------------------------------------


def test_s3_notifications_alert_on_the_log_files_in_both_layouts(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, _ = invoke(s3_event(STOP, ADMIN), capsys)
    assert alerts.new() == STOP_ALERTS + ADMIN_ALERTS
    assert (summary["trigger"], summary["records"], summary["alerts"]) == ("s3", 4, 3)
    assert (summary["delivered"], summary["invalid"], summary["skipped"]) == ({"archive": 3}, 0, 0)


def test_sns_wrapped_notifications_alert(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, _ = invoke(sns_event(ADMIN, LEAVE), capsys)
    assert alerts.new() == ADMIN_ALERTS + LEAVE_ALERTS
    assert (summary["trigger"], summary["records"], summary["alerts"]) == ("sns", 6, 3)


def test_an_sns_s3_test_event_is_a_counted_skip(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    event = sns_event(ADMIN)
    event["Records"][0]["Sns"]["Message"] = TEST_EVENT
    summary, _ = invoke(event, capsys)
    assert summary["skipped_by_reason"] == {"S3 test event": 1}
    assert alerts.new() == []


def test_eventbridge_object_created_alerts(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, _ = invoke(eventbridge_event(STOP), capsys)
    assert alerts.new() == STOP_ALERTS
    assert (summary["trigger"], summary["records"], summary["alerts"]) == ("eventbridge", 1, 1)


def test_digest_and_other_keys_are_skipped_without_reading_them(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    """Neither object exists: reading either would fail the invocation."""
    summary, lines = invoke(s3_event(DIGEST, CONFIG_KEY), capsys)
    assert summary["skipped_by_reason"] == {"CloudTrail digest file": 1, NOT_A_LOG_FILE: 1}
    assert (summary["records"], summary["invalid"], summary["alerts"]) == (0, 0, 0)
    assert [(p["position"], p["reason"]) for p in logged(lines, "trailguard.input")] == [
        ("Records[0]", "CloudTrail digest file"),
        ("Records[1]", NOT_A_LOG_FILE),
    ]


@pytest.mark.parametrize(
    ("build", "alerts_before"),
    [
        pytest.param(lambda: s3_event(STOP, MISSING), STOP_ALERTS, id="s3"),
        pytest.param(lambda: sns_event(STOP, MISSING), STOP_ALERTS, id="sns"),
        pytest.param(lambda: eventbridge_event(MISSING), [], id="eventbridge"),
    ],
)
def test_an_unreadable_object_fails_the_invocation_after_delivering_what_was_read(
    alerts: Alerts,
    trail_bucket: Any,
    capsys: pytest.CaptureFixture[str],
    build: Any,
    alerts_before: list[Any],
) -> None:
    event = build()
    with pytest.raises(S3ObjectError, match=f"cannot read s3://{BUCKET}/{MISSING}: NoSuchKey"):
        aws_lambda.handler(event, None)
    assert alerts.new() == alerts_before
    # The object arrives (eventual consistency, a fixed permission); AWS retries the event:
    # what was delivered is not sent twice, the rest is.
    trail_bucket.put_object(
        Bucket=BUCKET,
        Key=MISSING,
        Body=(LOG_FILES / "stratus_aws.defense-evasion.organizations-leave.json.gz").read_bytes(),
    )
    summary, _ = invoke(event, capsys)
    arrived = ("threats.organizations_account_left", f"s3://{BUCKET}/{MISSING}", "Records[1]")
    assert alerts.new() == [arrived]
    assert summary["duplicates"] == len(alerts_before)


def test_a_delivery_failure_fails_an_s3_invocation_and_the_retry_delivers(
    trail_bucket: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "out"
    target.mkdir()  # a folder: the file sink cannot write there
    configure(monkeypatch, tmp_path, target)
    with pytest.raises(DeliveryError, match="sink 'archive': 2 alert"):
        aws_lambda.handler(s3_event(ADMIN), None)
    target.rmdir()
    summary, _ = invoke(s3_event(ADMIN), capsys)
    assert Alerts(target).new() == ADMIN_ALERTS
    assert summary["delivered"] == {"archive": 2}


# --- Kinesis: CloudWatch Logs subscriptions through a stream -----------------------------------


def test_a_subscription_through_kinesis_alerts_and_counts_other_log_lines(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cross-account route: the trail's log group subscribed to a Kinesis stream that
    triggers the function. Log lines that are not CloudTrail are counted skips."""
    event = kinesis_event(STOP_AWSLOGS["awslogs"]["data"])
    assert aws_lambda.trigger_of(event) == "kinesis"
    summary, _ = invoke(event, capsys)
    assert alerts.new() == [
        ("threats.cloudtrail_stopped", "kinesis", "Records[0].kinesis.data logEvents[0]")
    ]
    assert (summary["trigger"], summary["records"], summary["alerts"]) == ("kinesis", 1, 1)
    assert summary["skipped_by_reason"] == {"log message is not a CloudTrail record": 3}
    assert summary["invalid"] == 0
    assert "batchItemFailures" not in summary


def test_unreadable_kinesis_data_is_counted_and_the_rest_is_read(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    """As for a direct subscription: bad input is an invalid count and a WARNING line, never
    a failed batch, which would hold the shard back."""
    event = kinesis_event("not base64 at all!", STOP_AWSLOGS["awslogs"]["data"])
    summary, lines = invoke(event, capsys)
    assert [a[0] for a in alerts.new()] == ["threats.cloudtrail_stopped"]
    assert summary["invalid"] == 1
    (warning,) = [line for line in logged(lines, "trailguard.input") if line["kind"] == "invalid"]
    assert warning["position"] == "Records[0].kinesis.data"
    assert warning["reason"] == "unreadable Kinesis data"


def test_a_delivery_failure_fails_a_kinesis_batch_and_the_retry_delivers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lambda retries the whole batch from the stream (in order); dedup drops what the
    failed attempt delivered."""
    target = tmp_path / "out"
    target.mkdir()  # a folder: the file sink cannot write there
    configure(monkeypatch, tmp_path, target)
    event = kinesis_event(STOP_AWSLOGS["awslogs"]["data"])
    with pytest.raises(DeliveryError, match="sink 'archive': 1 alert"):
        aws_lambda.handler(event, None)
    target.rmdir()
    summary, _ = invoke(event, capsys)
    assert summary["delivered"] == {"archive": 1}
    assert [a[0] for a in Alerts(target).new()] == ["threats.cloudtrail_stopped"]


# --- SQS: partial batch responses -------------------------------------------------------------


def test_an_sqs_batch_reports_exactly_the_messages_that_failed(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    event = sqs_event(
        sqs_message("good", json.dumps(s3_event(STOP))),
        sqs_message("garbage", "this is not json at all {{{"),
        sqs_message("missing", json.dumps(s3_event(MISSING))),
        sqs_message("test-event", TEST_EVENT),
        sqs_message("through-sns", json.dumps(sns_notification(json.dumps(s3_event(ADMIN))))),
        sqs_message("digest", json.dumps(s3_event(DIGEST))),
    )
    response, lines = invoke(event, capsys)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "garbage"}, {"itemIdentifier": "missing"}]
    }
    assert alerts.new() == STOP_ALERTS + ADMIN_ALERTS
    failed = logged(lines, "trailguard.message_failed")
    assert [(f["message_id"], f["position"], f["level"]) for f in failed] == [
        ("garbage", "Records[1]", "ERROR"),
        ("missing", "Records[2]", "ERROR"),
    ]
    assert failed[0]["reason"] == "invalid input (logged above); kept for the dead-letter queue"
    assert failed[1]["reason"].startswith(f"cannot read s3://{BUCKET}/{MISSING}: NoSuchKey")
    [summary] = logged(lines, "trailguard.summary")
    assert (summary["trigger"], summary["messages"], summary["records"]) == ("sqs", 6, 4)
    assert (summary["alerts"], summary["delivered"]) == (3, {"archive": 3})
    assert summary["invalid_by_reason"] == {"not JSON": 1}
    assert summary["skipped_by_reason"] == {"CloudTrail digest file": 1, "S3 test event": 1}


def test_a_batch_without_failures_returns_an_empty_list(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    response, _ = invoke(sqs_event(sqs_message("only", TEST_EVENT)), capsys)
    assert response == {"batchItemFailures": []}


def test_a_redelivered_sqs_message_alerts_once(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    event = sqs_event(sqs_message("m1", json.dumps(s3_event(ADMIN))))
    first, _ = invoke(event, capsys)
    again, lines = invoke(event, capsys)
    assert first == again == {"batchItemFailures": []}
    assert alerts.new() == ADMIN_ALERTS
    [summary] = logged(lines, "trailguard.summary")
    assert (summary["alerts"], summary["duplicates"], summary["records"]) == (0, 2, 3)


def test_a_delivery_failure_inside_a_batch_fails_only_that_message(
    trail_bucket: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "out"
    target.mkdir()  # a folder: the file sink cannot write there
    configure(monkeypatch, tmp_path, target)
    alerting = sqs_message("alerting", json.dumps(s3_event(ADMIN)))
    event = sqs_event(
        sqs_message("test-event", TEST_EVENT),
        alerting,
        sqs_message("digest", json.dumps(s3_event(DIGEST))),
    )
    response, lines = invoke(event, capsys)
    assert response == {"batchItemFailures": [{"itemIdentifier": "alerting"}]}
    [failed] = logged(lines, "trailguard.message_failed")
    assert failed["reason"].startswith("sink 'archive': 2 alert(s) not delivered")
    # SQS redelivers the failed message once the sink works again: its alerts go out once.
    target.rmdir()
    response, _ = invoke(sqs_event(alerting), capsys)
    assert response == {"batchItemFailures": []}
    assert Alerts(target).new() == ADMIN_ALERTS
    response, lines = invoke(sqs_event(alerting), capsys)
    assert logged(lines, "trailguard.summary")[0]["duplicates"] == 2


def test_an_sqs_message_without_an_id_fails_the_whole_batch(
    alerts: Alerts, capsys: pytest.CaptureFixture[str]
) -> None:
    message = sqs_message("x", TEST_EVENT)
    del message["messageId"]
    with pytest.raises(aws_lambda.UnsupportedTriggerError, match="no messageId"):
        aws_lambda.handler(sqs_event(message), None)


# --- boto3 only where S3 is read ---------------------------------------------------------------


def test_a_cloudwatch_logs_invocation_does_not_load_boto3() -> None:
    payload = ENVELOPES / "cloudwatch_logs/stratus_awslogs"
    payload /= "stratus_aws.defense-evasion.cloudtrail-stop.json"
    probe = (
        "import json, sys\n"
        "from trailguard import aws_lambda\n"
        f"summary = aws_lambda.handler(json.load(open({str(payload)!r})), None)\n"
        "assert summary['records'] == 1 and summary['alerts'] > 0, summary\n"
        "print('boto3 loaded:', 'boto3' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != aws_lambda.CONFIG_ENV},
    )
    assert done.stderr.strip() == "boto3 loaded: False"
