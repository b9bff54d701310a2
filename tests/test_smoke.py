"""The Lambda entry point imports and handles a CloudWatch Logs payload."""

import json
from pathlib import Path

from trailguard import aws_lambda

SHARED = Path(__file__).resolve().parent / "fixtures" / "shared_data"


def test_handler_alerts_on_stop_logging(capsys, catalog_only_lambda):
    payload = SHARED / "envelopes/cloudwatch_logs/stratus_awslogs"
    event = json.loads((payload / "stratus_aws.defense-evasion.cloudtrail-stop.json").read_text())
    summary = aws_lambda.handler(event, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    alerts = [line for line in lines if "rule_id" in line]
    assert summary["records"] == 1
    assert [a["event_name"] for a in alerts] == ["StopLogging"]
    assert alerts[0]["severity"] == "high"
