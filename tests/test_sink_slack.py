"""The slack sink against a real local HTTP server standing in for Slack's webhook."""

from __future__ import annotations

import base64
import gzip
import json
import re

import pytest

from conftest import STOP_LOGGING_AWSLOGS, Sleeps, boto3_client, instant_policy
from http_server import Reply, ScriptedServer, refused_url
from sink_alerts import alert, alerts
from trailguard import aws_lambda
from trailguard.config import ConfigError, config_from_data
from trailguard.delivery import DeliveryError, SinkError, deliver
from trailguard.model import Severity
from trailguard.sinks import slack
from trailguard.sinks.registry import SinkContext, build_sinks
from trailguard.sinks.slack import SlackSink

REFERENCE = "secretsmanager:trailguard/slack"


def sink(url: str, timeout: float = 2.0) -> SlackSink:
    return SlackSink("slack", lambda: url, REFERENCE, timeout)


def texts(message):
    """Every text object of a message, with the type of the block it sits in."""
    found = []

    def walk(node, block):
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append((block, node["text"]))
            for child in node.values():
                walk(child, block)
        elif isinstance(node, list):
            for child in node:
                walk(child, block)

    for block in message["blocks"]:
        walk(block, block["type"])
    return found


# --- the message ------------------------------------------------------------------------------


def test_one_alert_is_one_message_with_who_what_where_when(server: ScriptedServer):
    one = alert()
    sink(server.url).send([one])
    [message] = server.bodies()
    assert message["text"] == "HIGH: Port 22 of sg-003dc7f1f1c686164 opened to the world"
    assert [block["type"] for block in message["blocks"]] == [
        "header",
        "section",
        "section",
        "section",
        "section",
        "context",
    ]
    header, description, facts, links, runbook, context = message["blocks"]
    assert header["text"]["text"] == (
        ":large_orange_circle: HIGH: Port 22 of sg-003dc7f1f1c686164 opened to the world"
    )
    assert description["text"]["text"] == "A security group now admits SSH from any address."
    assert [field["text"] for field in facts["fields"]] == [
        "*Who*\nIAMUser christophe\narn:aws:iam::032092706103:user/christophe",
        "*What*\n`ec2.amazonaws.com:AuthorizeSecurityGroupIngress`",
        "*Where*\naccount 032092706103, us-east-1",
        "*When*\n2024-08-01T12:23:55Z",
        "*Resource*\nsg-003dc7f1f1c686164",
        "*Source IP*\n253.243.215.253",
    ]
    assert links["text"]["text"] == (
        "<https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/"
        f"{one['event_id']}|CloudTrail event>  ·  "
        "<https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#SecurityGroup:"
        "groupId=sg-003dc7f1f1c686164|security group sg-003dc7f1f1c686164>"
    )
    assert runbook["text"]["text"] == (
        "*Runbook*\nAsk the actor why; remove the rule if it is not expected."
    )
    assert context["elements"][0]["text"] == (
        f"rule `threats.security_group_open_to_world` · alert `{one['alert_id']}` · trailguard"
    )
    assert (message["unfurl_links"], message["unfurl_media"]) == (False, False)
    assert server.requests[0].header("Content-Type") == "application/json"


@pytest.mark.parametrize(
    ("severity", "emoji"),
    [
        (Severity.CRITICAL, ":red_circle: CRITICAL"),
        (Severity.MEDIUM, ":large_yellow_circle: MEDIUM"),
        (Severity.INFO, ":white_circle: INFO"),
    ],
)
def test_the_header_shows_the_severity(severity, emoji):
    header = slack.message([alert(severity=severity, title="t")])["blocks"][0]
    assert header["text"]["text"] == f"{emoji}: t"


def test_a_failed_call_says_so_and_missing_parts_are_left_out():
    one = alert(description="", runbook="", errorCode="Client.UnauthorizedOperation")
    message = slack.message([one])
    assert [block["type"] for block in message["blocks"]] == [
        "header",
        "section",
        "section",
        "context",
    ]
    assert message["blocks"][1]["fields"][1]["text"] == (
        "*What*\n`ec2.amazonaws.com:AuthorizeSecurityGroupIngress` failed: "
        "Client.UnauthorizedOperation"
    )


def test_every_text_keeps_within_slacks_limits_and_marks_the_cut():
    long = "x" * 10_000
    message = slack.message([alert(title=long, description=long, runbook=long)])
    found = texts(message)
    assert len(message["blocks"]) <= 50
    assert all(len(text) <= 3000 for _, text in found)
    header = [text for block, text in found if block == "header"]
    assert [len(text) for text in header] == [150]
    assert header[0].endswith("x… (truncated)")
    cut = [text for block, text in found if block == "section" and "xxxx" in text]
    assert len(cut) == 2  # the description and the runbook
    assert all(len(text) == 3000 and text.endswith("x… (truncated)") for text in cut)
    assert message["text"].endswith("… (truncated)")
    assert len(message["text"]) == 3000


def test_cuts_count_as_slack_counts_and_never_split_an_escape():
    # an emoji outside the BMP is two UTF-16 units; `&` becomes five characters
    emoji = slack.cut("😀" * 2000, 3000)
    assert len(emoji.encode("utf-16-le")) // 2 <= 3000
    assert emoji.endswith("😀… (truncated)")
    escaped = slack.fit("&" * 1000, 3000)
    assert escaped.endswith("&amp;… (truncated)")
    assert len(escaped) <= 3000


def test_text_from_the_record_cannot_mention_or_link():
    title = "<!channel> see <https://evil.example.com|the fix> & more"
    message = slack.message([alert(title=title, description=title)])
    assert message["blocks"][1]["text"]["text"] == (
        "&lt;!channel&gt; see &lt;https://evil.example.com|the fix&gt; &amp; more"
    )
    assert "<!channel>" not in message["text"]


# --- grouping -----------------------------------------------------------------------------------


def test_ten_alerts_of_one_rule_and_actor_are_one_message(server: ScriptedServer):
    batch = alerts(10)
    sink(server.url).send(batch)
    [message] = server.bodies()
    assert message["text"] == (
        "HIGH: Port 22 of sg-003dc7f1f1c686164 opened to the world (and 9 more like this)"
    )
    listed = [text for _, text in texts(message) if text.startswith("*…and 9 more like this*")]
    [repeats] = listed
    lines = repeats.splitlines()
    assert lines[0] == "*…and 9 more like this* (same rule and actor):"
    assert lines[1] == (
        "• 2024-08-01T12:23:55Z · sg-003dc7f1f1c686164 · <https://us-east-1.console.aws.amazon"
        ".com/cloudtrailv2/home?region=us-east-1#/events/"
        f"{batch[1]['event_id']}|event>"
    )
    assert len(lines) == 10


def test_groups_are_by_rule_severity_and_actor_in_order_of_first_alert(server: ScriptedServer):
    other_actor = {
        "type": "AssumedRole",
        "principalId": "AROAQ5Y2TGCDBEXAMPLE:ci-run-42",
        "arn": "arn:aws:sts::032092706103:assumed-role/deployer/ci-run-42",
        "accountId": "032092706103",
    }
    batch = [
        alert(),
        alert(rule_id="cis.cloudwatch_10_security_group_changes", severity=Severity.MEDIUM),
        alert(),
        alert(userIdentity=other_actor),
        alert(severity=Severity.CRITICAL),
        alert(rule_id="cis.cloudwatch_10_security_group_changes", severity=Severity.MEDIUM),
    ]
    assert [len(group) for group in slack.group_alerts(batch)] == [2, 2, 1, 1]
    sink(server.url).send(batch)
    headers = [body["blocks"][0]["text"]["text"] for body in server.bodies()]
    assert headers == [
        ":large_orange_circle: HIGH: Port 22 of sg-003dc7f1f1c686164 opened to the world "
        "(and 1 more like this)",
        ":large_yellow_circle: MEDIUM: Port 22 of sg-003dc7f1f1c686164 opened to the world "
        "(and 1 more like this)",
        ":large_orange_circle: HIGH: Port 22 of sg-003dc7f1f1c686164 opened to the world",
        ":red_circle: CRITICAL: Port 22 of sg-003dc7f1f1c686164 opened to the world",
    ]
    assert server.bodies()[2]["blocks"][2]["fields"][0]["text"] == (
        "*Who*\nAssumedRole deployer/ci-run-42\n"
        "arn:aws:sts::032092706103:assumed-role/deployer/ci-run-42"
    )


def test_a_group_of_sixty_is_one_message_within_fifty_blocks(server: ScriptedServer):
    batch = alerts(60)
    sink(server.url).send(batch)
    [message] = server.bodies()
    assert len(message["blocks"]) <= 50
    assert all(len(text) <= 3000 for _, text in texts(message))
    [repeats] = [text for _, text in texts(message) if "more like this*" in text]
    lines = repeats.splitlines()
    assert lines[0] == "*…and 59 more like this* (same rule and actor):"
    assert len(lines) == 1 + slack.MAX_LISTED + 1
    assert lines[-1] == "…and 49 more not listed"


# --- console links ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "link"),
    [
        (
            {"type": "AWS::S3::Bucket", "arn": None, "name": "payments-logs", "account_id": None},
            (
                "S3 bucket payments-logs",
                "https://s3.console.aws.amazon.com/s3/buckets/payments-logs",
            ),
        ),
        (
            {
                "type": None,
                "arn": "arn:aws:s3:::payments-logs",
                "name": "arn:aws:s3:::payments-logs",
            },
            (
                "S3 bucket payments-logs",
                "https://s3.console.aws.amazon.com/s3/buckets/payments-logs",
            ),
        ),
        (
            {"type": "AWS::EC2::Instance", "arn": None, "name": "i-0a1b2c3d4e5f60718"},
            (
                "EC2 instance i-0a1b2c3d4e5f60718",
                "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1"
                "#InstanceDetails:instanceId=i-0a1b2c3d4e5f60718",
            ),
        ),
        (
            {
                "type": "AWS::EC2::SecurityGroup",
                "arn": "arn:aws:ec2:eu-west-1:032092706103:security-group/sg-003dc7f1f1c686164",
                "name": "arn:aws:ec2:eu-west-1:032092706103:security-group/sg-003dc7f1f1c686164",
            },
            (
                "security group sg-003dc7f1f1c686164",
                "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1"
                "#SecurityGroup:groupId=sg-003dc7f1f1c686164",
            ),
        ),
        (
            {"type": "AWS::IAM::User", "arn": None, "name": "christophe"},
            (
                "IAM user christophe",
                "https://console.aws.amazon.com/iam/home#/users/details/christophe",
            ),
        ),
        (
            {
                "type": "AWS::IAM::Role",
                "arn": "arn:aws:iam::032092706103:role/service-role/deployer",
                "name": "arn:aws:iam::032092706103:role/service-role/deployer",
            },
            (
                "IAM role deployer",
                "https://console.aws.amazon.com/iam/home#/roles/details/deployer",
            ),
        ),
        (
            {
                "type": "AWS::Lambda::Function",
                "arn": "arn:aws:lambda:eu-west-1:032092706103:function:rotate-keys:PROD",
                "name": "arn:aws:lambda:eu-west-1:032092706103:function:rotate-keys:PROD",
            },
            (
                "Lambda function rotate-keys",
                "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1"
                "#/functions/rotate-keys",
            ),
        ),
        ({"type": "AWS::Lambda::Function", "arn": None, "name": "rotate-keys"}, ...),
        ({"type": "AWS::KMS::Key", "arn": None, "name": "1234abcd-12ab-34cd-56ef"}, None),
        ({"type": "AWS::S3::Bucket", "arn": None, "name": "not a bucket!"}, None),
        ({"type": None, "arn": "arn:aws:s3:::payments-logs/a/key.txt", "name": "x"}, None),
    ],
)
def test_resource_console_links(resource, link):
    if link is ...:
        link = (
            "Lambda function rotate-keys",
            "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1"
            "#/functions/rotate-keys",
        )
    assert slack.resource_link(resource, "eu-west-1") == link


def test_no_links_outside_the_commercial_partition_or_without_a_region():
    bucket = {"type": "AWS::S3::Bucket", "arn": None, "name": "payments-logs"}
    for region in ("cn-north-1", "us-gov-west-1", "apiso-centralnorth-2r", None):
        assert slack.resource_link(bucket, region) is None
        assert slack.event_url(alert(awsRegion=region)) is None
    assert slack.event_url(alert(eventID=None)) is None
    assert slack.event_url(alert(awsRegion="ap-southeast-2", eventID="e1")) == (
        "https://ap-southeast-2.console.aws.amazon.com/cloudtrailv2/home?region=ap-southeast-2"
        "#/events/e1"
    )


# --- answers from Slack -------------------------------------------------------------------------


def test_200_ok_delivers_every_group(server: ScriptedServer):
    sleeps = Sleeps()
    batch = [*alerts(3), *alerts(2, rule_id="threats.other")]
    result = deliver("slack", sink(server.url).send, batch, instant_policy(sleeps))
    assert (result.delivered, result.failed, result.attempts) == (5, [], 1)
    assert len(server.requests) == 2


def test_500_is_retried_then_fails_with_a_delivery_error_naming_the_sink(
    server: ScriptedServer,
):
    server.always(Reply(500, b"internal_error"))
    sleeps = Sleeps()
    batch = alerts(4)
    result = deliver("slack", sink(server.url).send, batch, instant_policy(sleeps))
    assert (len(server.requests), sleeps, result.failed) == (3, [0.5, 1.0], batch)
    ids = ", ".join(a["alert_id"] for a in batch)
    assert str(DeliveryError([result])) == (
        f"sink 'slack': 4 alert(s) not delivered after 3 attempt(s) ({ids}): 4 of 4 alert(s) "
        f"not delivered to the Slack webhook ({REFERENCE}): server error (HTTP 500 "
        "'internal_error'); the receiver failed, a retry may pass"
    )


def test_only_the_failed_messages_are_sent_again(server: ScriptedServer):
    server.script(Reply(200), Reply(500, b"internal_error"))
    first, second = alerts(2), alerts(3, rule_id="threats.other")
    result = deliver("slack", sink(server.url).send, [*first, *second], instant_policy(Sleeps()))
    assert (result.delivered, result.attempts) == (5, 2)
    assert [len(texts(body)) > 0 for body in server.bodies()] == [True, True, True]
    assert [body["text"].endswith("(and 2 more like this)") for body in server.bodies()] == [
        False,
        True,
        True,
    ]


def test_429_waits_as_long_as_retry_after_says(server: ScriptedServer):
    server.script(Reply(429, b"rate_limited", {"Retry-After": "3"}))
    sleeps = Sleeps()
    batch = [*alerts(2), *alerts(2, rule_id="threats.other")]
    result = deliver("slack", sink(server.url).send, batch, instant_policy(sleeps))
    assert sleeps == [3.0]
    assert (result.delivered, result.attempts, len(server.requests)) == (4, 2, 3)


def test_a_hanging_webhook_times_out_as_transient(server: ScriptedServer):
    server.script(Reply(hang=True))
    with pytest.raises(SinkError) as caught:
        sink(server.url, timeout=0.2).send(alerts(2))
    assert (caught.value.transient, len(caught.value.failed)) == (True, 2)
    assert str(caught.value) == (
        f"2 of 2 alert(s) not delivered to the Slack webhook ({REFERENCE}): no answer within "
        "0.2 s (timed out)"
    )


def test_a_refused_connection_is_transient():
    with refused_url() as url, pytest.raises(SinkError) as caught:
        sink(url).send(alerts(1))
    assert caught.value.transient is True
    assert "connection refused" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (400, b"invalid_payload", "Slack rejected the message (HTTP 400 'invalid_payload'); this"),
        (400, b"no_text", "Slack rejected the message (HTTP 400 'no_text'); this is a trailguard"),
        (
            403,
            b"invalid_token",
            "Slack does not accept this webhook (HTTP 403 'invalid_token'): the URL stored in "
            f"{REFERENCE} was revoked or is wrong; create an incoming webhook and store its URL",
        ),
        (
            404,
            b"no_service",
            "Slack does not accept this webhook (HTTP 404 'no_service'): the URL stored in",
        ),
        (
            404,
            b"channel_not_found",
            "Slack will not post to the webhook's channel (HTTP 404 'channel_not_found'): it was",
        ),
    ],
)
def test_client_errors_are_not_retried_and_say_what_to_check(
    server: ScriptedServer, status, body, says
):
    server.always(Reply(status, body))
    sleeps = Sleeps()
    result = deliver("slack", sink(server.url).send, alerts(2), instant_policy(sleeps))
    assert (result.attempts, sleeps, len(result.failed), len(server.requests)) == (1, [], 2, 1)
    assert says in result.errors[0]


def test_after_a_revoked_webhook_no_more_messages_are_tried(server: ScriptedServer):
    server.always(Reply(403, b"invalid_token"))
    batch = [*alerts(1), *alerts(1, rule_id="threats.b"), *alerts(1, rule_id="threats.c")]
    with pytest.raises(SinkError) as caught:
        sink(server.url).send(batch)
    assert (len(server.requests), caught.value.failed, caught.value.transient) == (1, batch, False)
    assert str(caught.value).endswith("(2 request(s) not tried after it)")


# --- configuration and the secret ------------------------------------------------------------


def load(tmp_path, entry):
    return config_from_data({"sinks": [{"type": "slack", **entry}]}, "trailguard.yaml", tmp_path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"webhook_url_secret": "https://hooks.slack.com/services/T0/B0/x"},
            "sinks[0].webhook_url_secret: expected a secret reference (it looks like the URL "
            "itself): store the value in Secrets Manager or as an SSM SecureString and give",
        ),
        ({}, "sinks[0].webhook_url_secret: required for a slack sink"),
        ({"webhook_url": "https://hooks.slack.com/x"}, "sinks[0].webhook_url: unknown key"),
        ({"webhook_url_secret": REFERENCE, "timeout_seconds": 120}, "at most 60"),
    ],
)
def test_bad_options_are_refused_at_load(tmp_path, entry, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, entry)


def test_the_webhook_url_is_read_from_secrets_manager(aws, server: ScriptedServer, tmp_path):
    boto3_client("secretsmanager").create_secret(Name="trailguard/slack", SecretString=server.url)
    config = load(tmp_path, {"webhook_url_secret": REFERENCE, "timeout_seconds": 3})
    [routed] = build_sinks(config.sinks, SinkContext())
    routed.sink.send(alerts(2))
    assert len(server.requests) == 1


def test_a_secret_that_is_not_an_https_url_is_refused(aws, tmp_path):
    boto3_client("secretsmanager").create_secret(
        Name="trailguard/slack", SecretString="http://hooks.slack.com/services/T0/B0/x"
    )
    [routed] = build_sinks(load(tmp_path, {"webhook_url_secret": REFERENCE}).sinks)
    with pytest.raises(SinkError) as caught:
        routed.sink.send(alerts(1))
    assert caught.value.transient is False
    assert str(caught.value).startswith(
        f"the value of {REFERENCE} is not a usable Slack webhook URL (plain http to "
        "hooks.slack.com would send alerts unencrypted"
    )
    assert "/services/T0/B0/x" not in str(caught.value)  # the secret stays out of logs


# --- the Lambda function --------------------------------------------------------------------


def awslogs(records):
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": "143434273843",
        "logGroup": "aws-cloudtrail-logs",
        "logStream": "143434273843_CloudTrail_us-east-1",
        "subscriptionFilters": ["trailguard"],
        "logEvents": [
            {"id": str(i), "timestamp": 1722431184000, "message": json.dumps(record)}
            for i, record in enumerate(records)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
    return {"awslogs": {"data": data}}


def test_the_handler_delivers_grouped_messages(aws, server, monkeypatch, tmp_path, capsys):
    """Three StopLogging events by one user, each matched by three rules: nine alerts, three
    Slack messages (one per rule), each "and 2 more like this"."""
    envelope = json.loads(STOP_LOGGING_AWSLOGS.read_text())
    document = json.loads(gzip.decompress(base64.b64decode(envelope["awslogs"]["data"])))
    record = json.loads(document["logEvents"][0]["message"])
    records = [{**record, "eventID": f"{record['eventID'][:-1]}{n}"} for n in range(3)]
    boto3_client("secretsmanager").create_secret(Name="trailguard/slack", SecretString=server.url)
    path = tmp_path / "trailguard.yaml"
    path.write_text(f'sinks: [{{type: slack, webhook_url_secret: "{REFERENCE}"}}]\n')
    monkeypatch.setenv(aws_lambda.CONFIG_ENV, str(path))
    summary = aws_lambda.handler(awslogs(records), None)
    capsys.readouterr()
    assert (summary["alerts"], summary["delivered"]) == (9, {"slack": 9})
    messages = server.bodies()
    rules = [m["blocks"][-1]["elements"][0]["text"].split("`")[1] for m in messages]
    assert sorted(rules) == [
        "catalog.change",
        "cis.cloudwatch_05_cloudtrail_config_changes",
        "threats.cloudtrail_stopped",
    ]
    assert all(m["text"].endswith("(and 2 more like this)") for m in messages)
    for message in messages:
        [repeats] = [t for _, t in texts(message) if t.startswith("*…and 2 more like this*")]
        assert len(repeats.splitlines()) == 3
