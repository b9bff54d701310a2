"""Delivery semantics: retries, loud failure, nothing lost, nothing twice."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from conftest import SHARED_DATA, STOP_LOGGING_AWSLOGS, boto3_client
from trailguard import aws_lambda
from trailguard.delivery import RESERVE_SECONDS, DeliveryError, RetryPolicy, SinkError, deliver


def no_wait() -> RetryPolicy:
    return RetryPolicy(attempts=4, sleep=lambda seconds: None)


def test_transient_failures_are_retried_until_they_pass():
    calls: list[int] = []

    def send(alerts):
        calls.append(len(alerts))
        if len(calls) < 3:
            raise SinkError("503", alerts, transient=True)

    result = deliver("flaky", send, [{"alert_id": "a"}, {"alert_id": "b"}], no_wait())
    assert (result.delivered, result.failed, result.attempts) == (2, [], 3)


def test_only_the_failed_alerts_are_retried():
    batches: list[list[str]] = []

    def send(alerts):
        batches.append([a["alert_id"] for a in alerts])
        if len(batches) == 1:
            raise SinkError("1 of 3 failed", [alerts[1]], transient=True)

    alerts = [{"alert_id": i} for i in "abc"]
    result = deliver("partial", send, alerts, no_wait())
    assert batches == [["a", "b", "c"], ["b"]]
    assert result.delivered == 3


def test_permanent_failure_is_not_retried():
    calls: list[int] = []

    def send(alerts):
        calls.append(1)
        raise SinkError("400 bad request", alerts, transient=False)

    result = deliver("broken", send, [{"alert_id": "a"}], no_wait())
    assert len(calls) == 1
    assert [a["alert_id"] for a in result.failed] == ["a"]


def test_retry_after_is_honoured_and_capped():
    policy = RetryPolicy(jitter=lambda limit: limit)
    assert policy.delay(0, 7.0) == 7.0
    assert policy.delay(0, 3600.0) == 30.0
    assert [policy.delay(n, None) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_retries_stop_while_the_invocation_has_time_for_one_more_attempt():
    """40 s left, each attempt taking 1 s: waits go on while a wait leaves the reserve
    (RESERVE_SECONDS) for another attempt, then delivery fails with the reason."""
    left = [40.0]
    sleeps: list[float] = []

    def sleep(seconds):
        sleeps.append(seconds)
        left[0] -= seconds

    def send(alerts):
        left[0] -= 1.0
        raise SinkError("HTTP 503", alerts, transient=True)

    policy = RetryPolicy(
        attempts=10, sleep=sleep, jitter=lambda limit: limit, time_left=lambda: left[0]
    )
    result = deliver("hook", send, [{"alert_id": "a"}], policy)
    assert RESERVE_SECONDS == 15.0
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]  # a 10 s wait at 18.5 s left: no
    assert (result.attempts, [a["alert_id"] for a in result.failed]) == (6, ["a"])
    assert str(DeliveryError([result])) == (
        "sink 'hook': 1 alert(s) not delivered after 6 attempt(s) (a): HTTP 503; not "
        "retried: 18.5 s were left in the invocation, too few for a 10.0 s wait and another "
        "attempt; AWS retries the batch (raise the function's timeout if this recurs)"
    )


def test_the_default_timeout_leaves_room_for_every_attempt_at_a_hanging_receiver():
    """docs/delivery.md: with the module's 60 s timeout, all four attempts are made even when
    each one takes the HTTP sinks' whole 10 s timeout, and the longest waits."""
    left = [60.0]

    def sleep(seconds):
        left[0] -= seconds

    def send(alerts):
        left[0] -= 10.0
        raise SinkError("timed out", alerts, transient=True)

    policy = RetryPolicy(sleep=sleep, jitter=lambda limit: limit, time_left=lambda: left[0])
    result = deliver("hook", send, [{"alert_id": "a"}], policy)
    assert (result.attempts, result.stopped) == (4, "")
    assert left[0] >= RESERVE_SECONDS


def test_no_attempt_is_started_without_the_time_for_it():
    sent = []
    policy = RetryPolicy(sleep=lambda seconds: None, time_left=lambda: 9.25)
    result = deliver("hook", sent.append, [{"alert_id": "a"}], policy)
    assert (sent, result.attempts, [a["alert_id"] for a in result.failed]) == ([], 0, ["a"])
    assert str(DeliveryError([result])) == (
        "sink 'hook': 1 alert(s) not delivered after 0 attempt(s) (a): not attempted: 9.2 s "
        "were left in the invocation, too few for an attempt; AWS retries the batch (raise "
        "the function's timeout if this recurs)"
    )


def test_without_a_time_limit_every_attempt_is_made():
    result = deliver(
        "hook",
        lambda alerts: (_ for _ in ()).throw(SinkError("HTTP 503", alerts, transient=True)),
        [{"alert_id": "a"}],
        RetryPolicy(attempts=6, sleep=lambda seconds: None).within(None),
    )
    assert (result.attempts, result.stopped) == (6, "")


def test_delivery_error_names_the_sink_and_the_alerts():
    result = deliver(
        "hook",
        lambda alerts: (_ for _ in ()).throw(SinkError("HTTP 500", alerts, transient=True)),
        [{"alert_id": "x1"}],
        no_wait(),
    )
    message = str(DeliveryError([result]))
    assert message == "sink 'hook': 1 alert(s) not delivered after 4 attempt(s) (x1): HTTP 500"


def write_config(tmp_path, text):
    path = tmp_path / "trailguard.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def lambda_config(monkeypatch, tmp_path):
    def use(text):
        monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(write_config(tmp_path, text)))
        monkeypatch.setattr(aws_lambda, "_runtime", None)

    return use


def test_a_sink_that_stays_down_fails_the_invocation_and_loses_nothing(
    lambda_config, tmp_path, capsys
):
    """The file sink's target is unwritable: the handler raises, naming the sink; once the
    sink works again, the retried batch delivers the alert (it was not remembered)."""
    target = tmp_path / "out"
    target.mkdir()  # a folder: the file sink cannot write there
    lambda_config(
        f"""
packs: {{catalog: false, cis: false}}
sinks:
  - {{type: file, name: archive, path: "{target}"}}
"""
    )
    event = json.loads(STOP_LOGGING_AWSLOGS.read_text())
    with pytest.raises(DeliveryError, match="sink 'archive': 1 alert"):
        aws_lambda.handler(event, None)
    target.rmdir()
    summary = aws_lambda.handler(event, None)  # AWS retries the same batch
    assert summary["alerts"] == 1
    assert summary["delivered"] == {"archive": 1}
    written = [json.loads(line) for line in target.read_text().splitlines()]
    assert [a["rule_id"] for a in written] == ["threats.cloudtrail_stopped"]
    again = aws_lambda.handler(event, None)  # a redelivery of a delivered batch
    assert again["alerts"] == 0
    assert again["duplicates"] == 1
    capsys.readouterr()


def test_sinks_route_by_severity_rules_and_tags(lambda_config, tmp_path, capsys):
    high, cis = tmp_path / "high.jsonl", tmp_path / "cis.jsonl"
    lambda_config(
        f"""
sinks:
  - {{type: file, name: high, path: "{high}", min_severity: high}}
  - {{type: file, name: cis, path: "{cis}", rules: ["cis.*"]}}
"""
    )
    aws_lambda.handler(json.loads(STOP_LOGGING_AWSLOGS.read_text()), None)
    capsys.readouterr()
    to_high = {json.loads(line)["rule_id"] for line in high.read_text().splitlines()}
    to_cis = {json.loads(line)["rule_id"] for line in cis.read_text().splitlines()}
    assert to_high == {
        "catalog.change",
        "cis.cloudwatch_05_cloudtrail_config_changes",
        "threats.cloudtrail_stopped",
    }
    assert to_cis == {"cis.cloudwatch_05_cloudtrail_config_changes"}


def test_config_from_an_ssm_parameter(aws, monkeypatch, tmp_path, capsys):
    out = tmp_path / "alerts.jsonl"
    boto3_client("ssm").put_parameter(
        Name="/trailguard/config",
        Type="String",
        Value=f'packs: {{catalog: false}}\nsinks: [{{type: file, path: "{out}"}}]\n',
    )
    monkeypatch.setenv(aws_lambda.CONFIG_ENV, "ssm:/trailguard/config")
    monkeypatch.setattr(aws_lambda, "_runtime", None)
    document = {
        "messageType": "DATA_MESSAGE",
        "logGroup": "trail",
        "logStream": "s",
        "owner": "1",
        "subscriptionFilters": [],
        "logEvents": [
            {"id": "1", "timestamp": 0, "message": json.dumps(json.loads(line)["event"])}
            for line in (SHARED_DATA / "events/stratus_detonations.jsonl").read_text().splitlines()
            if '"DeleteTrail"' in line
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
    summary = aws_lambda.handler({"awslogs": {"data": data}}, None)
    capsys.readouterr()
    rules = {json.loads(line)["rule_id"] for line in out.read_text().splitlines()}
    assert summary["delivered"] == {"file": summary["alerts"]}
    assert rules == {"threats.cloudtrail_deleted", "cis.cloudwatch_05_cloudtrail_config_changes"}


def test_missing_ssm_config_says_what_to_check(aws, monkeypatch):
    monkeypatch.setenv(aws_lambda.CONFIG_ENV, "ssm:/nope")
    monkeypatch.setattr(aws_lambda, "_runtime", None)
    with pytest.raises(ValueError, match=r"ssm:/nope: \(parameter\): cannot read it: .*ssm:Get"):
        aws_lambda.handler({"awslogs": {"data": ""}}, None)


def emf(lines):
    return [line for line in lines if "_aws" in line]


def test_handler_emits_embedded_metrics(lambda_config, tmp_path, capsys):
    lambda_config(f'sinks: [{{type: file, name: archive, path: "{tmp_path / "a.jsonl"}"}}]\n')
    summary = aws_lambda.handler(json.loads(STOP_LOGGING_AWSLOGS.read_text()), None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    metrics = emf(lines)
    assert metrics, "no EMF lines"
    assert all(
        line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "trailguard" for line in metrics
    )
    function = next(line for line in metrics if set(line) >= {"Records", "Alerts"})
    assert (function["Records"], function["Alerts"]) == (1, summary["alerts"])
    sink = next(line for line in metrics if line.get("Sink") == "archive")
    assert sink["AlertsDelivered"] == summary["alerts"]
    assert summary["by_severity"] == {"high": 3}


def test_a_delivery_failure_emits_failed_metrics_before_raising(lambda_config, tmp_path, capsys):
    target = tmp_path / "dir"
    target.mkdir()
    lambda_config(f'sinks: [{{type: file, name: archive, path: "{target}"}}]\n')
    with pytest.raises(DeliveryError):
        aws_lambda.handler(json.loads(STOP_LOGGING_AWSLOGS.read_text()), None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failed = [line for line in emf(lines) if line.get("Sink") == "archive"]
    assert [line.get("AlertsFailed") for line in failed] == [3]
