"""The sns sink against moto's server: what subscribers receive, batching, failures."""

from __future__ import annotations

import copy
import json
import re
import socket
from urllib.parse import parse_qs

import orjson
import pytest

from canned_aws import Answer, canned_aws, plain_client
from conftest import REPO, STOP_LOGGING_AWSLOGS, boto3_client, sns_envelopes
from trailguard import aws_lambda
from trailguard.delivery import RetryPolicy, SinkError, deliver
from trailguard.rules.errors import RuleSyntaxError
from trailguard.sinks import sns
from trailguard.sinks.registry import SinkContext, build_sinks
from trailguard.sinks.spec import parse_sinks

ALERT = {
    "schema_version": 1,
    "alert_id": "3083b4360345b9955448cf2a75cdcb11",
    "rule_id": "threats.cloudtrail_stopped",
    "severity": "high",
    "title": "CloudTrail logging stopped: stratus-red-team-ct-stop-trail-buykxbqejv",
    "description": "Someone stopped a trail from recording (StopLogging).",
    "references": ["PCI DSS v4.0/10.2.1.6", "MITRE ATT&CK T1562.008"],
    "tags": ["audit-logging", "cloudtrail", "defense-evasion"],
    "runbook": "Confirm with the actor and the change record whether this was planned.",
    "context": None,
    "event_id": "10163ed2-2253-469d-a5ee-cbc6651f8934",
    "event_time": "2024-07-31T13:06:24Z",
    "event_name": "StopLogging",
    "event_source": "cloudtrail.amazonaws.com",
    "event_type": "AwsApiCall",
    "aws_region": "apiso-centralnorth-2r",
    "account_id": "143434273843",
    "actor": {
        "type": "IAMUser",
        "name": "christophe",
        "arn": "arn:aws:iam::143434273843:user/christophe",
        "account": "143434273843",
        "session": None,
        "role": None,
        "issuer": None,
        "invoked_by": None,
        "access_key_id": "AKIAGGWFBBHBE7D3M9WI",
    },
    "source_ip": "86.245.153.234",
    "user_agent": "stratus-red-team_c97089f1-1ae3-4ecc-b006-f5e8fd0f2571",
    "error_code": None,
    "error_message": None,
    "read_only": False,
    "resources": [
        {
            "type": "AWS::CloudTrail::Trail",
            "arn": None,
            "name": "stratus-red-team-ct-stop-trail-buykxbqejv",
            "account_id": None,
        }
    ],
    "source": {
        "location": "cloudwatch_logs",
        "position": "awslogs.data logEvents[0]",
        "envelope": "cloudwatch_logs",
    },
}


def alert(**changes):
    return {**copy.deepcopy(ALERT), **changes}


def numbered(count, **changes):
    return [alert(alert_id=f"{n:032x}", **changes) for n in range(count)]


def no_wait(attempts=4):
    return RetryPolicy(attempts=attempts, sleep=lambda seconds: None)


def make_sink(topic_arn, client=None):
    spec = parse_sinks([{"type": "sns", "name": "pager", "topic_arn": topic_arn}])[0]
    clients = {"sns": client} if client is not None else {}
    return sns.build(spec, SinkContext(clients=clients))


def subscribed_queue(topic_arn, name, **attributes):
    sqs = boto3_client("sqs")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    boto3_client("sns").subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes=attributes,
    )
    return queue_url


@pytest.fixture
def topic(aws):
    """A topic with a queue subscribed to it: (topic ARN, queue URL)."""
    topic_arn = boto3_client("sns").create_topic(Name="trailguard-alerts")["TopicArn"]
    return topic_arn, subscribed_queue(topic_arn, "inbox")


def count_calls(sink):
    """The number of entries of each PublishBatch call the sink makes (observed, not mocked)."""
    calls = []
    sink.client.meta.events.register(
        "provide-client-params.sns.PublishBatch",
        lambda params, **kwargs: calls.append(len(params["PublishBatchRequestEntries"])),
    )
    return calls


# --- what a subscriber receives ----------------------------------------------------------


def test_a_subscriber_gets_the_subject_the_attributes_and_the_exact_alert(topic):
    topic_arn, queue_url = topic
    make_sink(topic_arn).send([ALERT])
    [envelope] = sns_envelopes(queue_url)
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == topic_arn
    assert envelope["Subject"] == (
        "[HIGH] CloudTrail logging stopped: stratus-red-team-ct-stop-trail-buykxbqejv "
        "(143434273843)"
    )
    assert envelope["MessageAttributes"] == {
        "severity": {"Type": "String", "Value": "high"},
        "rule_id": {"Type": "String", "Value": "threats.cloudtrail_stopped"},
        "account_id": {"Type": "String", "Value": "143434273843"},
    }
    assert envelope["Message"] == orjson.dumps(ALERT).decode()
    assert json.loads(envelope["Message"]) == ALERT


def test_an_alert_without_an_account_has_no_account_attribute(topic):
    topic_arn, queue_url = topic
    make_sink(topic_arn).send([alert(account_id=None)])
    [envelope] = sns_envelopes(queue_url)
    assert envelope["Subject"] == (
        "[HIGH] CloudTrail logging stopped: stratus-red-team-ct-stop-trail-buykxbqejv"
    )
    assert sorted(envelope["MessageAttributes"]) == ["rule_id", "severity"]
    assert json.loads(envelope["Message"])["account_id"] is None


def test_subjects_are_one_line_of_printable_ascii_within_100_characters():
    long_title = "CloudTrail logging stopped: " + "x" * 200
    assert sns.subject(alert(title=long_title)) == (
        "[HIGH] CloudTrail logging stopped: " + "x" * 47 + "... (143434273843)"
    )
    assert len(sns.subject(alert(title=long_title))) == 100
    odd = "Trail\n«café» stopped:\tbücket\u200b\x00 😀 done"
    assert sns.subject(alert(title=odd, severity="critical", account_id=None)) == (
        "[CRITICAL] Trail cafe stopped: bucket done"
    )
    assert sns.subject(alert(title="😀", rule_id="threats.x")) == "[HIGH] threats.x (143434273843)"


def test_more_than_ten_alerts_are_published_ten_at_a_time(topic):
    topic_arn, queue_url = topic
    sink = make_sink(topic_arn)
    calls = count_calls(sink)
    alerts = numbered(23)
    sink.send(alerts)
    assert calls == [10, 10, 3]
    got = sorted(json.loads(e["Message"])["alert_id"] for e in sns_envelopes(queue_url))
    assert got == sorted(a["alert_id"] for a in alerts)


def test_a_batch_stays_within_256_kib_in_all(topic):
    topic_arn, queue_url = topic
    sink = make_sink(topic_arn)
    calls = count_calls(sink)
    alerts = numbered(5, description="d" * 100_000)  # each fits alone, two fit together
    sink.send(alerts)
    assert calls == [2, 2, 1]
    messages = [json.loads(e["Message"]) for e in sns_envelopes(queue_url)]
    assert sorted(m["alert_id"] for m in messages) == sorted(a["alert_id"] for a in alerts)
    assert all(m["description"] == "d" * 100_000 for m in messages)


def test_an_alert_too_large_for_sns_loses_its_context_and_says_so(topic):
    topic_arn, queue_url = topic
    bulky = alert(context={"matched": {"requestParameters.policy": ["p" * 300_000]}})
    make_sink(topic_arn).send([bulky])
    [envelope] = sns_envelopes(queue_url)
    message = json.loads(envelope["Message"])
    assert message == {**bulky, "context": None, "truncated": ["context"]}


def test_an_alert_huge_everywhere_is_still_delivered_within_the_limit(topic):
    topic_arn, queue_url = topic
    huge = alert(
        title="T" * 300_000,
        user_agent="u" * 300_000,
        resources=[{"type": None, "arn": None, "name": "n" * 1000, "account_id": None}] * 500,
    )
    make_sink(topic_arn).send([huge])
    [envelope] = sns_envelopes(queue_url)
    assert len(envelope["Message"].encode()) <= sns.MAX_BYTES
    message = json.loads(envelope["Message"])
    assert message["truncated"] == [
        "resources", "runbook", "description", "user_agent", "references", "tags", "title"
    ]  # fmt: skip
    assert message["title"] == "T" * 509 + "..."
    assert message["user_agent"] is None
    assert message["alert_id"] == ALERT["alert_id"]
    assert envelope["Subject"] == "[HIGH] " + "T" * 75 + "... (143434273843)"


def test_the_message_fits_the_budget_left_by_the_attributes():
    for budget in (262_000, 100_000, 5_000, 2_000):
        body = sns.message(alert(context={"x": "y" * 400_000}, user_agent="u" * 9_000), budget)
        assert len(body.encode()) <= budget
    assert sns.message(ALERT, sns.MAX_BYTES) == orjson.dumps(ALERT).decode()


# --- filter policies -------------------------------------------------------------------


def test_a_filter_policy_on_severity_keeps_only_what_it_names(topic):
    topic_arn, everything = topic
    urgent = subscribed_queue(
        topic_arn,
        "urgent",
        FilterPolicy=json.dumps({"severity": ["high", "critical"]}),
    )
    levels = ["info", "medium", "high", "critical", "low"]
    make_sink(topic_arn).send(
        [alert(alert_id=f"{n:032x}", severity=s) for n, s in enumerate(levels)]
    )

    def severities(queue):
        return sorted(e["MessageAttributes"]["severity"]["Value"] for e in sns_envelopes(queue))

    assert severities(urgent) == ["critical", "high"]
    assert severities(everything) == sorted(levels)


# --- failures --------------------------------------------------------------------------


def test_a_missing_topic_fails_for_good_and_says_what_to_check(aws):
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    alerts = numbered(12)
    with pytest.raises(SinkError) as failure:
        make_sink(missing).send(alerts)
    assert failure.value.transient is False
    assert failure.value.failed == alerts
    assert str(failure.value) == (
        f"SNS topic {missing}: 12 of 12 alert(s) not published: NotFound: Topic does not "
        "exist; the topic does not exist: check `topic_arn` (name, region and account) "
        "against `aws sns list-topics`"
    )


def test_a_missing_topic_is_tried_once_then_reported(aws):
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    sink = make_sink(missing)
    calls = count_calls(sink)
    result = deliver("pager", sink.send, numbered(3), no_wait())
    assert (result.attempts, len(result.failed), calls) == (1, 3, [3])


def test_the_topic_arn_is_checked_when_the_config_loads():
    with pytest.raises(RuleSyntaxError, match=r"sinks\[0\]\.topic_arn.*required"):
        parse_sinks([{"type": "sns"}])
    with pytest.raises(RuleSyntaxError, match=r"sinks\[0\]\.topic_arn.*not an SNS topic ARN"):
        parse_sinks([{"type": "sns", "topic_arn": "trailguard-alerts"}])
    with pytest.raises(RuleSyntaxError, match=r"sinks\[0\]\.subject: unknown key"):
        parse_sinks([{"type": "sns", "topic_arn": "x", "subject": "hi"}])


def test_the_documented_example_loads(tmp_path):
    import yaml

    from trailguard.config import config_from_data

    text = (REPO / "docs" / "configuration.md").read_text()
    section = text[text.index("\n### Sinks: sns\n") : text.index("\n### Sinks: securityhub\n")]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    [spec] = config_from_data(yaml.safe_load(block), "doc", tmp_path).sinks
    assert (spec.kind, spec.name, spec.min_severity.label) == ("sns", "pager", "high")


def publish_batch_answer(fail):
    """A canned SNS: entries whose alert_id is a key of `fail` fail with its
    (code, sender_fault); the others succeed."""

    def respond(path, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        ok, bad = [], []
        n = 1
        while f"PublishBatchRequestEntries.member.{n}.Id" in form:
            entry_id = form[f"PublishBatchRequestEntries.member.{n}.Id"]
            text = form[f"PublishBatchRequestEntries.member.{n}.Message"]
            marker = next((m for m in fail if f'"alert_id":"{m}"' in text), None)
            if marker is None:
                ok.append(f"<member><Id>{entry_id}</Id><MessageId>m{n}</MessageId></member>")
            else:
                code, sender = fail[marker]
                bad.append(
                    f"<member><Id>{entry_id}</Id><Code>{code}</Code><Message>{code} for "
                    f"{marker}</Message><SenderFault>{str(sender).lower()}</SenderFault></member>"
                )
            n += 1
        return Answer(
            200,
            '<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
            f"<PublishBatchResult><Successful>{''.join(ok)}</Successful>"
            f"<Failed>{''.join(bad)}</Failed></PublishBatchResult>"
            "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
            "</PublishBatchResponse>",
        )

    return respond


TOPIC = "arn:aws:sns:us-east-1:123456789012:trailguard-alerts"


def test_failed_entries_are_reported_and_sns_faults_are_retried():
    alerts = [alert(alert_id=f"id-{n}") for n in range(4)]
    respond = publish_batch_answer(
        {"id-1": ("InternalError", False), "id-3": ("KMSThrottling", True)}
    )
    with canned_aws(respond) as server:
        sink = make_sink(TOPIC, plain_client("sns", server.url))
        with pytest.raises(SinkError) as failure:
            sink.send(alerts)
    assert [a["alert_id"] for a in failure.value.failed] == ["id-1", "id-3"]
    assert failure.value.transient is True
    assert str(failure.value) == (
        f"SNS topic {TOPIC}: 2 of 4 alert(s) not published: InternalError: InternalError for "
        "id-1; KMSThrottling: KMSThrottling for id-3"
    )


def test_entries_refused_as_the_senders_fault_are_not_retried():
    alerts = [alert(alert_id=f"id-{n}") for n in range(3)]
    respond = publish_batch_answer({"id-2": ("InvalidParameter", True)})
    with canned_aws(respond) as server:
        sink = make_sink(TOPIC, plain_client("sns", server.url))
        result = deliver("pager", sink.send, alerts, no_wait())
        assert len(server.requests) == 1
    assert [a["alert_id"] for a in result.failed] == ["id-2"]
    assert (result.delivered, result.attempts) == (2, 1)


def test_only_the_failed_entries_are_sent_again():
    alerts = [alert(alert_id=f"id-{n}") for n in range(3)]
    failures = {"id-0": ("InternalError", False)}

    def respond(path, body):
        answer = publish_batch_answer(dict(failures))(path, body)
        failures.clear()  # SNS recovers after the first call
        return answer

    with canned_aws(respond) as server:
        sink = make_sink(TOPIC, plain_client("sns", server.url))
        result = deliver("pager", sink.send, alerts, no_wait())
        sent = [parse_qs(body.decode()) for _, body in server.requests]
    assert (result.delivered, result.failed, result.attempts) == (3, [], 2)
    assert [len([k for k in form if k.endswith(".Id")]) for form in sent] == [3, 1]
    assert "id-0" in sent[1]["PublishBatchRequestEntries.member.1.Message"][0]


def sns_error(status, code, message):
    return Answer(
        status,
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>r</RequestId></ErrorResponse>",
    )


@pytest.mark.parametrize(
    ("status", "code", "transient", "advice"),
    [
        (403, "AuthorizationError", False, "allow sns:Publish on the topic"),
        (400, "KMSAccessDenied", False, "its key policy allows the function's role"),
        (400, "Throttling", True, ""),
        (500, "InternalError", True, ""),
        (400, "InvalidParameter", False, ""),
    ],
)
def test_a_failed_call_says_whether_to_retry_and_what_to_check(status, code, transient, advice):
    alerts = numbered(12)
    with canned_aws(lambda path, body: sns_error(status, code, "refused")) as server:
        sink = make_sink(TOPIC, plain_client("sns", server.url))
        with pytest.raises(SinkError) as failure:
            sink.send(alerts)
        assert len(server.requests) == 1  # the first batch failed: the second is not tried
    assert failure.value.transient is transient
    assert failure.value.failed == alerts
    assert str(failure.value).startswith(
        f"SNS topic {TOPIC}: 12 of 12 alert(s) not published: {code}: refused"
    )
    assert advice in str(failure.value)


def test_kms_and_authorization_errors_name_the_permissions_to_check():
    with canned_aws(lambda path, body: sns_error(403, "AuthorizationError", "no")) as server:
        sink = make_sink(TOPIC, plain_client("sns", server.url))
        with pytest.raises(SinkError) as failure:
            sink.send([ALERT])
    assert str(failure.value) == (
        f"SNS topic {TOPIC}: 1 of 1 alert(s) not published: AuthorizationError: no; the "
        "function's role may not publish there: allow sns:Publish on the topic (in the role's "
        "policy and the topic's access policy), and for an encrypted topic let the role use "
        "the KMS key (kms:GenerateDataKey*, kms:Decrypt in the key policy)"
    )


def test_sns_out_of_reach_is_transient():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = make_sink(TOPIC, plain_client("sns", f"http://127.0.0.1:{port}"))
    with pytest.raises(SinkError) as failure:
        sink.send([ALERT])
    assert failure.value.transient is True
    assert "EndpointConnectionError" in str(failure.value)


def test_failed_entries_do_not_stop_the_batches_after_them():
    alerts = [alert(alert_id=f"id-{n}") for n in range(12)]
    with canned_aws(publish_batch_answer({"id-1": ("InvalidParameter", True)})) as server:
        sink = make_sink(TOPIC, plain_client("sns", server.url))
        with pytest.raises(SinkError) as failure:
            sink.send(alerts)
        assert len(server.requests) == 2
    assert [a["alert_id"] for a in failure.value.failed] == ["id-1"]
    assert failure.value.transient is False


# --- FIFO topics -----------------------------------------------------------------------


def test_a_fifo_topic_gets_a_group_and_a_deduplication_id(aws):
    sns_client = boto3_client("sns")
    topic_arn = sns_client.create_topic(
        Name="trailguard-alerts.fifo", Attributes={"FifoTopic": "true"}
    )["TopicArn"]
    sqs = boto3_client("sqs")
    queue_url = sqs.create_queue(QueueName="inbox.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns_client.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"]
    )
    make_sink(topic_arn).send(numbered(3))
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    assert [json.loads(json.loads(m["Body"])["Message"])["alert_id"] for m in messages] == [
        f"{n:032x}" for n in range(3)
    ]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {ALERT["rule_id"]}
    assert [m["Attributes"]["MessageDeduplicationId"] for m in messages] == [
        f"{n:032x}" for n in range(3)
    ]


# --- through the Lambda handler --------------------------------------------------------


def test_the_lambda_function_publishes_a_stop_logging_alert_once(
    topic, monkeypatch, tmp_path, capsys
):
    """The issue's "done when": a high-severity SNS sink, a StopLogging record through a
    CloudWatch Logs subscription, one alert on the topic; the same payload again, none."""
    topic_arn, queue_url = topic
    config = tmp_path / "trailguard.yaml"
    config.write_text(
        "packs: {catalog: false, cis: false}\n"
        f"sinks:\n  - {{type: sns, topic_arn: '{topic_arn}', min_severity: high}}\n"
    )
    monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(config))
    monkeypatch.setattr(aws_lambda, "_runtime", None)
    event = json.loads(STOP_LOGGING_AWSLOGS.read_text())

    summary = aws_lambda.handler(event, None)
    [envelope] = sns_envelopes(queue_url)
    published = json.loads(envelope["Message"])
    assert (summary["alerts"], summary["delivered"]) == (1, {"sns": 1})
    assert published["rule_id"] == "threats.cloudtrail_stopped"
    assert published["alert_id"] == "3083b4360345b9955448cf2a75cdcb11"
    assert published["event_id"] == "10163ed2-2253-469d-a5ee-cbc6651f8934"
    assert envelope["Subject"] == (
        "[HIGH] CloudTrail logging stopped: stratus-red-team-ct-stop-trail-buykxbqejv "
        "(143434273843)"
    )
    assert envelope["MessageAttributes"]["severity"] == {"Type": "String", "Value": "high"}

    again = aws_lambda.handler(event, None)
    assert (again["alerts"], again["duplicates"], again["delivered"]) == (0, 1, {})
    assert sns_envelopes(queue_url) == []
    capsys.readouterr()


def test_build_sinks_builds_the_sns_sink_by_type(topic):
    topic_arn, queue_url = topic
    [routed] = build_sinks(parse_sinks([{"type": "sns", "topic_arn": topic_arn}]))
    assert isinstance(routed.sink, sns.SnsSink)
    assert routed.deliver([ALERT], no_wait()).delivered == 1
    assert len(sns_envelopes(queue_url)) == 1
