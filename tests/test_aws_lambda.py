"""The Lambda handler in-process: triggers it reads, what it logs, what it refuses."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys

import pytest

from conftest import SHARED_DATA
from trailguard import aws_lambda

CWL = SHARED_DATA / "envelopes/cloudwatch_logs"
EVENTBRIDGE = SHARED_DATA / "envelopes/eventbridge"


def run(event, capsys):
    summary = aws_lambda.handler(event, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return summary, lines


def load(path):
    return json.loads(path.read_text())


def test_control_message_yields_nothing_and_does_not_fail(capsys):
    summary, lines = run(load(CWL / "control_message.json"), capsys)
    assert summary["records"] == summary["alerts"] == summary["invalid"] == 0
    assert summary["skipped_by_reason"] == {"CloudWatch Logs control message": 1}
    assert [line for line in lines if "_aws" not in line][-1] == summary
    assert any("_aws" in line for line in lines)  # EMF metrics follow the summary


@pytest.mark.usefixtures("catalog_only_lambda")
def test_every_record_of_a_payload_alerts_once_and_the_summary_counts_them(capsys):
    payload = CWL / "stratus_awslogs/stratus_aws.persistence.iam-create-admin-user.json"
    summary, lines = run(load(payload), capsys)
    alerts = [line for line in lines if "rule_id" in line]
    assert summary["records"] == 3
    assert summary["alerts"] == len(alerts) == 3
    assert [a["event_name"] for a in alerts] == [
        "AttachUserPolicy",
        "CreateAccessKey",
        "CreateUser",
    ]
    assert [a["source"]["position"] for a in alerts] == [
        f"awslogs.data logEvents[{i}]" for i in range(3)
    ]


def test_truncated_messages_are_logged_with_their_position_and_the_call_succeeds(capsys):
    summary, lines = run(load(CWL / "awsdocs_truncated_messages_example2.json"), capsys)
    problems = [line for line in lines if line.get("log_type") == "trailguard.input"]
    assert summary["invalid"] == 3
    assert [p["position"] for p in problems] == [f"awslogs.data logEvents[{i}]" for i in range(3)]
    assert {p["level"] for p in problems} == {"WARNING"}


def test_eventbridge_cloudtrail_event_alerts(capsys):
    event = load(EVENTBRIDGE / "event-transit-gateway-delete-vpc-attachment.json")
    summary, lines = run(event, capsys)
    alerts = [line for line in lines if "rule_id" in line]
    assert summary["trigger"] == "eventbridge"
    assert [(a["rule_id"], a["severity"]) for a in alerts] == [("catalog.deletion", "high")]
    assert alerts[0]["event_name"] == event["detail"]["eventName"]


def test_eventbridge_event_of_another_kind_is_counted_not_failed(capsys):
    summary, _ = run(load(EVENTBRIDGE / "ec2-duty-event.json"), capsys)
    assert summary["records"] == 0
    assert summary["skipped"] == 1


@pytest.mark.parametrize("event", [{"Records": []}, {"foo": 1}, [], "text"])
def test_unsupported_trigger_raises_so_aws_keeps_the_event(event):
    with pytest.raises(aws_lambda.UnsupportedTriggerError, match="cannot read this event"):
        aws_lambda.handler(event, None)


def test_built_payload_roundtrip(capsys):
    """A payload built here the way CloudWatch Logs builds it decodes to the same record."""
    record = json.loads(
        (SHARED_DATA / "events/parser_edge_cases.jsonl").read_text().splitlines()[0]
    )
    record = json.loads(record["raw_json"])
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "aws-cloudtrail-logs",
        "logStream": "123456789012_CloudTrail_eu-west-1",
        "subscriptionFilters": ["trailguard"],
        "logEvents": [{"id": "1", "timestamp": 0, "message": json.dumps(record)}],
    }
    data = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
    assert record["eventSource"] == "sts.amazonaws.com"  # whitelisted by the catalogue
    summary, _ = run({"awslogs": {"data": data}}, capsys)
    assert summary["records"] == 1
    assert summary["alerts"] == 0


def test_import_does_not_load_boto3():
    probe = "import sys, trailguard.aws_lambda; print('boto3' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
